// The inspector's HTTP routes under /_hangar/inspect: the page, its assets, the live feed (Server-Sent
// Events), the session export, the machine diagrams and, when enabled, actions.
import type { ServerResponse } from "node:http";
import express, { type Request, type RequestHandler, type Response } from "express";
import { createRefusalLog } from "../base/refusal-log.js";
import { clearInterval, setInterval } from "../base/timers.js";
import { createTokenMatcher } from "../base/token-match.js";
import { hasHangarCode, messageOf } from "../errors.js";
import type { WorkerStatus } from "../status.js";
import type { AssetStore } from "./assets.js";
import type { EventData, InspectorAction } from "./client/protocol.js";
import type { MachineDiagram } from "./machine-diagrams.js";
import type { FlightRecorder } from "./recorder.js";

/** Where the inspector lives on the shell's server. */
export const INSPECTOR_PATH = "/_hangar/inspect";
/** The header that carries the token on POST requests (never the query: a header forces a CORS preflight). */
export const TOKEN_HEADER = "x-hangar-inspector-token";

/**
 * Sent with every inspector response. The page loads only its own files (`'self'`), cannot be framed
 * (clickjacking), leaks no URL (the token is in it) through Referer, and is never cached.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Cache-Control": "no-store",
};

/** A live feed whose client reads slower than this many unsent bytes is dropped (it reconnects afresh). */
const MAX_FEED_BUFFER = 8 * 1024 * 1024;
/** Comment lines keep idle feeds open through proxies and let a dead client be noticed. */
const FEED_PING_MS = 15_000;
/** EventSource's reconnect delay after a dropped feed. */
const FEED_RETRY_MS = 2_000;

/** What the routes need from the rest of the inspector. */
export interface InspectorRouteOptions {
  token: string;
  recorder: FlightRecorder;
  assets: AssetStore;
  diagrams: () => Promise<MachineDiagram[]>;
  allowActions: boolean;
  /**
   * Applied to every record as it leaves (the feed, the session export): a record kept before a secret was
   * known to the shell (an error quoting an auth token set later) is hidden too. Default: none.
   */
  redact?: (text: string) => string;
  /** Runs an allowed action; rejects with a HangarError when the shell cannot do it now. */
  act: (action: InspectorAction) => Promise<void>;
  logger: { warn(message: string, data?: object): void; error(message: string, data?: object): void };
  /** Each isolated plugin's running worker, by plugin id (`GET …/api/workers`). Default: none. */
  workers?: () => Record<string, WorkerStatus>;
}

/** The router, and a way to end every open feed before the server closes. */
export interface InspectorRoutes {
  router: express.Router;
  /** Sends `bye` to every live feed and ends it, so closing the server does not wait on them. */
  closeFeeds(): void;
}

/** Builds the routes. They sit behind the server's Host and CORS checks. */
export function createInspectorRoutes(options: InspectorRouteOptions): InspectorRoutes {
  const { recorder, assets } = options;
  const redact = options.redact ?? ((text: string) => text);
  const tokenMatches = createTokenMatcher(options.token);
  const feeds = new Set<ServerResponse>();
  const refusals = createRefusalLog((message, data) => options.logger.warn(message, data));

  const refuse = (req: Request, res: Response, asJson: boolean): void => {
    refusals("inspector-token", "Refused an inspector request without the session token", {
      method: req.method,
      path: req.path,
    });
    const message =
      "The hangar inspector needs this session's token. Open the URL the shell printed " +
      "(`hangar run --inspect` prints it; in code, shell.status().inspector.url).";
    if (asJson) res.status(401).json({ success: false, error: message });
    else res.status(401).type("text/plain").send(`${message}\n`);
  };

  /** GET requests carry the token in the URL (an EventSource cannot send headers); POSTs in a header. */
  const requireToken =
    (from: "query-or-header" | "header", asJson: boolean): RequestHandler =>
    (req, res, next) => {
      const header = req.headers[TOKEN_HEADER];
      const query = from === "query-or-header" ? tokenFromQuery(req) : null;
      if (tokenMatches(header, query)) next();
      else refuse(req, res, asJson);
    };

  const router = express.Router({ caseSensitive: true });

  router.use(INSPECTOR_PATH, (_req, res, next) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    next();
  });

  const page: RequestHandler = async (_req, res, next) => {
    try {
      const asset = await assets.get("index.html");
      if (!asset)
        throw new Error("the inspector page (index.html) is missing from the installed hangar package");
      res.type(asset.contentType).send(asset.body);
    } catch (error) {
      next(error);
    }
  };
  router.get(INSPECTOR_PATH, requireToken("query-or-header", false), page);
  router.get(`${INSPECTOR_PATH}/`, requireToken("query-or-header", false), page);

  // The page's code and styles hold nothing secret: they load without the token (module imports cannot carry it).
  router.get(`${INSPECTOR_PATH}/assets/*file`, async (req, res, next) => {
    try {
      const file = (req.params as { file?: string[] }).file ?? [];
      const asset = await assets.get(file.join("/"));
      if (!asset) {
        res.status(404).json({ success: false, error: `No inspector asset '${file.join("/")}'.` });
        return;
      }
      res.type(asset.contentType).send(asset.body);
    } catch (error) {
      next(error);
    }
  });

  router.get(`${INSPECTOR_PATH}/api/feed`, requireToken("query-or-header", true), (_req, res) => {
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
    });
    const raw = res as ServerResponse;
    const send = (text: string): void => {
      if (raw.writableEnded || raw.destroyed) return;
      raw.write(text);
      // A page that stopped reading must not make the shell buffer without bound.
      if (raw.writableLength > MAX_FEED_BUFFER) end(": dropped, the client reads too slowly\n\n");
    };
    const end = (last: string): void => {
      cleanup();
      if (!raw.writableEnded) raw.end(last);
    };
    const { header, lines } = recorder.window();
    // Window and subscription are taken in the same tick, so no record falls between them.
    const unsubscribe = recorder.subscribe((json) => send(`event: record\ndata: ${redact(json)}\n\n`));
    const ping = setInterval(() => send(": ping\n\n"), FEED_PING_MS);
    ping.unref();
    const cleanup = (): void => {
      clearInterval(ping);
      unsubscribe();
      feeds.delete(raw);
    };
    feeds.add(raw);
    // The response closes when the page goes away (or the feed is ended here): stop writing to it.
    raw.on("close", cleanup);
    send(`retry: ${FEED_RETRY_MS}\nevent: session\ndata: ${JSON.stringify(header)}\n\n`);
    for (const line of lines) send(`event: record\ndata: ${redact(line)}\n\n`);
    send("event: ready\ndata: {}\n\n");
  });

  router.get(`${INSPECTOR_PATH}/api/session.jsonl`, requireToken("query-or-header", true), (_req, res) => {
    const name = `hangar-session-${new Date().toISOString().replace(/[:.]/g, "-")}.jsonl`;
    res.setHeader("Content-Disposition", `attachment; filename="${name}"`);
    res.type("application/x-ndjson; charset=utf-8").send(redact(recorder.exportSession()));
  });

  router.get(
    `${INSPECTOR_PATH}/api/machines`,
    requireToken("query-or-header", true),
    async (_req, res, next) => {
      try {
        res.json({ machines: await options.diagrams() });
      } catch (error) {
        next(error);
      }
    },
  );

  // Live facts that are not actor state: the page polls them while it follows the shell.
  router.get(`${INSPECTOR_PATH}/api/workers`, requireToken("query-or-header", true), (_req, res) => {
    res.json({ workers: options.workers?.() ?? {} });
  });

  router.post(
    `${INSPECTOR_PATH}/api/actions`,
    requireToken("header", true),
    (req, res, next) => {
      if (!options.allowActions) {
        res.status(403).json({
          success: false,
          error:
            "Inspector actions are off: the page may only watch. To let it send events and restart plugins, " +
            "create the shell with { inspector: { allowActions: true } }.",
        });
        return;
      }
      if (!req.is("application/json")) {
        res
          .status(415)
          .json({ success: false, error: "Send the action as JSON (Content-Type: application/json)." });
        return;
      }
      next();
    },
    express.json({ limit: "16kb" }),
    async (req, res) => {
      const action = parseAction(req.body);
      if (typeof action === "string") {
        res.status(400).json({ success: false, error: action });
        return;
      }
      try {
        await options.act(action);
        res.json({ success: true });
      } catch (error) {
        if (!hasHangarCode(error))
          options.logger.error("An inspector action failed", { error: messageOf(error) });
        res.status(409).json({ success: false, error: messageOf(error) });
      }
    },
  );

  return {
    router,
    closeFeeds() {
      for (const feed of [...feeds]) {
        feeds.delete(feed);
        if (!feed.writableEnded) feed.end("event: bye\ndata: {}\n\n");
      }
    },
  };
}

function tokenFromQuery(req: Request): string | null {
  return new URL(req.originalUrl, "http://localhost").searchParams.get("token");
}

/** The action in a request body, or a message saying what is wrong with it. */
function parseAction(body: unknown): InspectorAction | string {
  const action = body as { type?: unknown; actor?: unknown; event?: unknown } | null;
  const usage =
    'Send { "type": "update" }, { "type": "restart", "actor": "plugin:<id>" } or ' +
    '{ "type": "send", "actor": "<actor id>", "event": { "type": "<EVENT>" } }.';
  if (action === null || typeof action !== "object") return `The action must be a JSON object. ${usage}`;
  if (action.type === "update") return { type: "update" };
  if (action.type === "restart") {
    if (typeof action.actor !== "string") return `A restart names its plugin actor. ${usage}`;
    return { type: "restart", actor: action.actor };
  }
  if (action.type === "send") {
    const event = action.event as { type?: unknown } | null;
    if (typeof action.actor !== "string" || event === null || typeof event !== "object") {
      return `A send names its actor and an event object. ${usage}`;
    }
    if (typeof event.type !== "string" || event.type === "" || event.type.startsWith("xstate.")) {
      return "The event needs a type of its own; xstate.* events are XState's internal bookkeeping.";
    }
    return { type: "send", actor: action.actor, event: event as EventData };
  }
  return `Unknown action type ${JSON.stringify(action.type)}. ${usage}`;
}
