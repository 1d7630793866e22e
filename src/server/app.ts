// The shell's request pipeline (SPEC §6): Host check, CORS, session token, body limit, then a plugin's request straight
// to the per-request plugin dispatcher and anything else to an Express app with the shell routes, JSON 404 and the
// error handler, in exactly that order.
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { createRefusalLog } from "../base/refusal-log.js";
import { errorMessage, hasHangarCode, messageOf } from "../errors.js";
import type { PluginLogger } from "../sdk/types.js";
import type { PluginState, PluginStatus } from "../status.js";
import { createBodyLimit, DEFAULT_BODY_LIMIT, refuse, shellJsonBody } from "./body-policy.js";
import { createOriginPolicy, type OriginPolicy } from "./origin-policy.js";
import type { PluginView } from "./plugin-view.js";
import { RouteRequestFlow } from "./request-flow.js";
import type { RouteTable } from "./route-table.js";
import { createSessionTokenCheck } from "./session-token.js";

/** A check on the way in: true lets the request go on; false means the check has answered it already. */
export type Guard = (req: Request, res: Response) => boolean;

/** What the shell's own code logs through. */
export interface ShellLogger {
  warn(msg: string, data?: object): void;
  error(msg: string, data?: object): void;
}

/** Everything `createShellApp` needs; the shell owns each part. */
export interface ShellAppOptions {
  /** The port actually bound. Read on every request, because port 0 only becomes real after listen. */
  port: () => number;
  /** Extra browser origins allowed to call the server, e.g. `http://localhost:5173` for a dev UI. */
  allowedOrigins: string[];
  /**
   * The Host/Origin rules, when the caller shares them with something else on the same server (the WebSocket
   * IPC bridge). Default: built from `port` and `allowedOrigins`.
   */
  originPolicy?: OriginPolicy;
  plugins: PluginView;
  routes: RouteTable;
  /**
   * A plugin's own logger: where errors its route code raises after the response was sent go. A route failure
   * itself is a failure record on `shellLogger` (`HANGAR_ROUTE_FAILED`, phase `request`).
   */
  pluginLogger: (pluginId: string) => PluginLogger;
  shellLogger: ShellLogger;
  /**
   * The per-session token (`server.token`). When set, every `/api/*` request must send
   * `Authorization: Bearer <token>` or gets 401. Default: none, any local client may call.
   */
  token?: string | null;
  /** Largest request body accepted, in bytes (`server.bodyLimit`). Default {@link DEFAULT_BODY_LIMIT}. */
  bodyLimit?: number;
  /**
   * More shell routes under paths of their own (the inspector's `/_hangar/inspect`): mounted after the shell
   * routes and before the plugin dispatcher, so the Host and CORS checks run first. They see only requests
   * outside `/api/` (which belongs to the shell routes and the plugins). Default: none.
   */
  extraRoutes?: RequestHandler[];
  /**
   * Runs a plugin's request as that plugin's code (SPEC §11): calls `request.run()` in the plugin's scope;
   * `flow.fail` is what an error escaping the request's continuations (a throw in a timer the route set, a
   * promise it forgot) calls. Default: runs the request outside any scope.
   */
  enterPlugin?: (pluginId: string, flow: { fail(error: unknown): boolean }, request: { run(): void }) => void;
  /**
   * Runs an OTA update (`shell.update({ changed })`) for `POST /api/_shell/update` and resolves once it has
   * settled. Default: none, and that route answers 405 like any other state-changing shell request.
   */
  update?: (changed: string[]) => Promise<void>;
}

/** How long a request to a plugin that is starting or resuming waits for it to run (SPEC §6). */
const SETTLE_WAIT_MS = 5_000;
const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);
const ALL_STATES: readonly PluginState[] = [
  "loading",
  "loaded",
  "starting",
  "running",
  "resuming",
  "stopping",
  "backoff",
  "stopped",
  "errored",
  "inactive",
];

function sendJson(res: Response, status: number, body: object): void {
  res.status(status).json(body);
}

function pathOf(req: Request): string {
  const url = req.originalUrl || req.url;
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

/** The plugin id a path like `/api/{id}` or `/api/{id}/...` addresses, or null. */
function pluginIdOf(path: string): string | null {
  if (!path.startsWith("/api/")) return null;
  const rest = path.slice("/api/".length);
  const slash = rest.indexOf("/");
  const id = slash === -1 ? rest : rest.slice(0, slash);
  return id === "" || id === "_shell" ? null : id;
}

/** An HTTP client error carried by an error object (body-parser, http-errors), e.g. a malformed JSON body. */
function clientErrorOf(err: unknown): { status: number; message: string } | null {
  if (typeof err !== "object" || err === null) return null;
  const { status, statusCode, expose } = err as { status?: unknown; statusCode?: unknown; expose?: unknown };
  const code = typeof status === "number" ? status : statusCode;
  if (typeof code !== "number" || code < 400 || code > 499) return null;
  const message = expose === true ? messageOf(err) : (STATUS_CODES[code] ?? "Bad request");
  return { status: code, message };
}

/** Ends a response whose headers are already out: a truncated body must not look complete to the client. */
function abandon(res: Response): void {
  if (res.writableEnded) return;
  res.destroy();
}

function unknownPlugin(id: string): string {
  return errorMessage("HANGAR_PLUGIN_UNKNOWN", "http", { pluginId: id });
}

function notRunningMessage(status: PluginStatus, waited: boolean): string {
  const id = status.id;
  switch (status.state) {
    case "errored":
      if (status.error?.code === "HANGAR_MANIFEST_DUPLICATE_ID") {
        return (
          `Plugin '${id}' is errored: another folder declares the same id. Give one of them another id and ` +
          "restart the shell (an update does not retry a duplicate id)."
        );
      }
      return (
        `Plugin '${id}' is errored (it failed in phase '${status.error?.phase ?? "unknown"}'), so its routes are ` +
        `unavailable. GET /api/_shell/plugins/${id} shows the cause; the shell retries it on the next update.`
      );
    case "stopped":
      return `Plugin '${id}' is stopped, so its routes are unavailable until it starts again.`;
    case "inactive":
      return `Plugin '${id}' is inactive: it has no background module, so it serves no routes.`;
    case "backoff":
      return (
        `Plugin '${id}' failed while running (${status.error?.code ?? "a crash"}) and its restart policy starts it ` +
        `again after a backoff; retry shortly. GET /api/_shell/plugins/${id} shows the cause.`
      );
    default:
      return waited
        ? `Plugin '${id}' is still ${status.state} after ${SETTLE_WAIT_MS} ms; retry shortly.`
        : `Plugin '${id}' is ${status.state}; retry shortly.`;
  }
}

/** The shell's request listener, for `http.createServer` (or {@link createHttpServer}). */
export type ShellRequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Builds the shell's request listener: the guards and the plugin dispatcher in front of an Express app holding
 * the shell's own routes. It holds no plugin routers itself: the dispatcher asks `routes` on every request, so
 * unmounting is instant and needs no app rebuild.
 * @throws HangarError `HANGAR_SHELL_OPTIONS` when `allowedOrigins` contains `*`, `null` or an empty entry.
 */
export function createShellApp(options: ShellAppOptions): ShellRequestListener {
  const { plugins, routes, pluginLogger, shellLogger } = options;
  const policy =
    options.originPolicy ??
    createOriginPolicy({ port: options.port, allowedOrigins: options.allowedOrigins });
  const app = express();
  app.disable("x-powered-by");

  // Refusals are logged through the one limiter: a flood of them costs a few lines and a few bytes.
  const refusals = createRefusalLog((message, data) => shellLogger.warn(message, data));
  const hostCheck: Guard = (req, res) => {
    const host = req.headers.host?.toLowerCase();
    if (policy.isAllowedHost(host)) return true;
    const port = options.port();
    const shown = host === undefined ? "(none)" : host;
    refusals(`host:${shown}`, "Refused a request with a foreign Host header (DNS-rebinding protection)", {
      host: shown,
      method: req.method,
      path: pathOf(req),
    });
    sendJson(res, 403, {
      success: false,
      error:
        `Host '${shown}' is not allowed: this server answers only 127.0.0.1:${port}, localhost:${port} ` +
        `or [::1]:${port} (DNS-rebinding protection). Use one of those addresses.`,
    });
    return false;
  };

  // Written by hand rather than with the `cors` package: the rules are few, security-critical, and include
  // refusals (403 for a bad preflight or a state-changing request) that `cors` does not make.
  const corsCheck: Guard = (req, res) => {
    // The first guard that answers with headers: no Vary exists yet to extend (res.vary() would parse one).
    res.setHeader("Vary", "Origin");
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    const allowed = policy.isAllowedOrigin(origin);
    const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;

    if (!allowed) {
      if (preflight || !SAFE_METHODS.has(req.method)) {
        refusals(`origin:${origin}`, "Refused a cross-origin request from an Origin not allowed", {
          origin,
          method: req.method,
          path: pathOf(req),
        });
        sendJson(res, 403, {
          success: false,
          error:
            `Origin '${origin}' may not send ${preflight ? "cross-origin" : req.method} requests to this shell. ` +
            "If that page is yours, add its origin to server.allowedOrigins.",
        });
        return false;
      }
      // A safe request still runs, but without CORS headers the browser keeps the answer from the page.
      return true;
    }

    res.setHeader("Access-Control-Allow-Origin", origin);
    if (!preflight) return true;
    res.setHeader("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    const requested = req.headers["access-control-request-headers"];
    if (requested !== undefined) {
      res.setHeader("Access-Control-Allow-Headers", requested);
      res.vary("Access-Control-Request-Headers");
    }
    // Chrome's Private Network Access asks before a public page may reach a loopback server.
    if (req.headers["access-control-request-private-network"] === "true") {
      res.setHeader("Access-Control-Allow-Private-Network", "true");
    }
    res.setHeader("Access-Control-Max-Age", "600");
    res.status(204).end();
    return false;
  };

  const shellRoutes = express.Router({ caseSensitive: true });
  // Every shell route but POST …/restart (which reads no body) and POST /api/_shell/update only reads. Anything
  // else is refused here, before a body is read; a state-changing route that reads a body goes behind
  // shellJsonBody() (body-policy.ts), above this guard.
  const shellMethods: RequestHandler = (req, res, next) => {
    const path = req.path;
    if ((path === "/api/_shell" || path.startsWith("/api/_shell/")) && !SAFE_METHODS.has(req.method)) {
      res.setHeader("Allow", "GET, HEAD");
      refuse(req, res, 405, {
        success: false,
        error: `${req.method} is not allowed on ${path}: the shell's own routes only answer GET and HEAD.`,
      });
      return;
    }
    next();
  };
  shellRoutes.get("/api/_shell/health", (_req, res) => {
    const counts = Object.fromEntries(ALL_STATES.map((state) => [state, 0])) as Record<PluginState, number>;
    for (const status of plugins.list()) counts[status.state] += 1;
    const state = plugins.shellState();
    sendJson(res, state === "running" ? 200 : 503, { state, plugins: counts });
  });
  shellRoutes.get("/api/_shell/plugins", (_req, res) => {
    sendJson(res, 200, plugins.list());
  });
  // The one state-changing shell route. It reads no body; the guards above already applied the Host and
  // Origin rules of every state-changing request and, when server.token is set, the bearer token.
  shellRoutes.post("/api/_shell/plugins/:id/restart", async (req, res) => {
    const id = String(req.params.id);
    try {
      const status = await plugins.restart(id);
      if (status) sendJson(res, 200, status);
      else sendJson(res, 404, { success: false, code: "HANGAR_PLUGIN_UNKNOWN", error: unknownPlugin(id) });
    } catch (error) {
      const code = hasHangarCode(error) ? error.code : "HANGAR_INTERNAL";
      sendJson(res, code === "HANGAR_SHELL_STATE" ? 409 : 500, {
        success: false,
        code,
        error: messageOf(error),
      });
    }
  });
  shellRoutes.get("/api/_shell/plugins/:id", (req, res) => {
    const id = String(req.params.id);
    const status = plugins.get(id);
    if (status) {
      sendJson(res, 200, status);
      return;
    }
    sendJson(res, 404, { success: false, error: unknownPlugin(id) });
  });

  const update = options.update;
  if (update) {
    // State-changing: the CORS guard has refused a foreign Origin and the token guard a missing token already.
    shellRoutes.post("/api/_shell/update", ...shellJsonBody(), async (req, res, next) => {
      const changed = changedOf(req.body);
      if (typeof changed === "string") {
        sendJson(res, 400, { success: false, error: changed });
        return;
      }
      try {
        await update(changed);
      } catch (error) {
        // The shell is not in a state to update (shutting down, not started): the caller's timing, not a defect.
        if (hasHangarCode(error)) sendJson(res, 409, { success: false, error: messageOf(error) });
        else next(error);
        return;
      }
      sendJson(res, 200, plugins.list());
    });
  }

  const failInPlugin = (pluginId: string, err: unknown, req: Request, res: Response): void => {
    const route = `${req.method} ${pathOf(req)}`;
    const clientError = clientErrorOf(err);
    // A client error (say, a malformed JSON body refused by the plugin's own parser) is the caller's fault.
    if (clientError) {
      // The caller's doing, repeatable at will: logged through the limiter, not once per request.
      refusals(
        `client-error:${pluginId}`,
        `Plugin '${pluginId}' route ${route} refused the request: ${clientError.message}`,
        {
          pluginId,
          status: clientError.status,
        },
      );
      if (res.headersSent) abandon(res);
      else sendJson(res, clientError.status, { success: false, error: clientError.message });
      return;
    }
    // One failure record with the fields of every other (docs/cli.md): phase `request`; the plugin runs on.
    shellLogger.error(errorMessage("HANGAR_ROUTE_FAILED", { pluginId, route, reason: messageOf(err) }), {
      pluginId,
      state: plugins.stateOf?.(pluginId) ?? plugins.get(pluginId)?.state,
      phase: "request",
      code: "HANGAR_ROUTE_FAILED",
      err,
    });
    if (res.headersSent) {
      abandon(res);
      return;
    }
    sendJson(res, 500, { success: false, error: `Internal error in plugin '${pluginId}' route` });
  };

  const dispatch = (pluginId: string, req: Request, res: Response, next: NextFunction): void => {
    routes.dispatch(pluginId, req, res, (err?: unknown) => {
      if (err !== undefined && err !== null) failInPlugin(pluginId, err, req, res);
      else next();
    });
  };
  const { enterPlugin } = options;
  /** One request in a plugin's scope (SPEC §11), with the rule and words of request-flow.ts. */
  class PluginRequestFlow extends RouteRequestFlow<Response> {
    constructor(
      readonly pluginId: string,
      readonly req: Request,
      res: Response,
      readonly next: NextFunction,
    ) {
      super(res);
    }

    protected route(): string {
      return `${this.req.method} ${pathOf(this.req)}`;
    }

    protected failRequest(error: unknown): void {
      failInPlugin(this.pluginId, error, this.req, this.res);
    }

    protected logLate(message: string, error: unknown): void {
      pluginLogger(this.pluginId).error("http", message, error);
    }

    /** Runs the request through the plugin's routers; called inside the plugin's scope. */
    run(): void {
      dispatch(this.pluginId, this.req, this.res, this.next);
    }
  }
  const dispatchToPlugin = enterPlugin
    ? (pluginId: string, req: Request, res: Response, next: NextFunction): void => {
        const flow = new PluginRequestFlow(pluginId, req, res, next);
        enterPlugin(pluginId, flow, flow);
      }
    : dispatch;

  /** Answers for a plugin that is not running, or hands the request to its routers. */
  const answer = (
    pluginId: string,
    status: PluginStatus,
    waited: boolean,
    req: Request,
    res: Response,
    next: NextFunction,
  ): void => {
    if (status.state !== "running") {
      // An errored plugin comes back only through an update or a restart: no retry time would be true.
      if (status.state !== "errored") res.setHeader("Retry-After", plugins.isBusy(pluginId) ? "1" : "5");
      sendJson(res, 503, { success: false, error: notRunningMessage(status, waited), state: status.state });
      return;
    }
    dispatchToPlugin(pluginId, req, res, next);
  };

  const waitThenAnswer = async (pluginId: string, req: Request, res: Response, next: NextFunction) => {
    let status: PluginStatus | undefined;
    try {
      status = (await plugins.waitUntilSettled(pluginId, SETTLE_WAIT_MS)) ?? plugins.get(pluginId);
    } catch (error) {
      shellLogger.error("PluginView.waitUntilSettled failed; answering with the current state", {
        pluginId,
        error: messageOf(error),
      });
      status = plugins.get(pluginId);
    }
    // The client gave up while we waited: nothing left to answer.
    if (res.destroyed || res.writableEnded) return;
    if (!status) next();
    else answer(pluginId, status, true, req, res, next);
  };

  // Synchronous unless the plugin is on its way to running: a running plugin's request costs no promise.
  const dispatcher = (
    path: string,
    req: Request,
    res: Response,
    next: NextFunction,
  ): Promise<void> | undefined => {
    const pluginId = pluginIdOf(path);
    // The common case reads the state alone; a whole PluginStatus is built only to explain a refusal or wait.
    if (pluginId !== null && plugins.stateOf?.(pluginId) === "running") {
      dispatchToPlugin(pluginId, req, res, next);
      return;
    }
    const status = pluginId === null ? undefined : plugins.get(pluginId);
    if (pluginId === null || !status) {
      next();
      return;
    }
    // Whether to wait is the plugin machine's `busy` tag, never a list of state names kept here.
    if (plugins.isBusy(pluginId)) return waitThenAnswer(pluginId, req, res, next);
    answer(pluginId, status, false, req, res, next);
  };

  const notFound: RequestHandler = (req, res) => {
    sendJson(res, 404, { success: false, error: `No route for ${req.method} ${pathOf(req)}` });
  };

  const errorHandler = (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const clientError = clientErrorOf(err);
    if (!clientError) {
      shellLogger.error("The shell's HTTP server failed to answer a request", {
        method: req.method,
        path: pathOf(req),
        error: err instanceof Error ? { message: err.message, stack: err.stack } : messageOf(err),
      });
    }
    if (res.headersSent) {
      abandon(res);
      return;
    }
    if (clientError) sendJson(res, clientError.status, { success: false, error: clientError.message });
    else sendJson(res, 500, { success: false, error: "Internal error in the shell's HTTP server" });
  };

  const shell = inSequence([shellRoutes, shellMethods]);
  const outsideApi = inSequence(options.extraRoutes ?? []);
  /** Sends each request that is not a plugin's down its branch: the shell's own routes or the extra routes. */
  const route: RequestHandler = (req, res, next) => {
    const path = req.path;
    if (path === "/api/_shell" || path.startsWith("/api/_shell/")) return shell(req, res, next);
    // A plugin's path is dispatched by the front below and never gets here; kept so the app alone routes alike.
    if (path.startsWith("/api/")) return dispatcher(path, req, res, next);
    return outsideApi(req, res, next);
  };
  app.use(route);
  app.use(notFound);
  app.use(errorHandler);

  const guards: Guard[] = [
    hostCheck,
    // Preflights are answered here, before the token check: a browser never sends credentials with them.
    corsCheck,
    ...(options.token !== undefined && options.token !== null
      ? [createSessionTokenCheck(options.token, shellLogger)]
      : []),
    createBodyLimit(options.bodyLimit ?? DEFAULT_BODY_LIMIT),
  ];
  const { request: requestProto, response: responseProto } = app;
  /** Where a plugin's request ends when its routers do not answer it: the app's 404, or its error answer. */
  const afterPlugin = (req: Request, res: Response, err?: unknown): void => {
    if (err !== undefined && err !== null && err !== "route" && err !== "router")
      errorHandler(err, req, res, noop);
    else notFound(req, res, noop);
  };
  /**
   * The front of the pipeline, in front of Express's own router: Express's per-request set-up, the guards in
   * SPEC §6's order, then a plugin's request goes straight to its routers and everything else to the app. Each
   * router level costs every request a few µs (closures, layer matching, parameter processing), and a plugin
   * route must stay within 0.95× of bare Express, whose app router does the work of this one function
   * (BENCHMARKS.md, "Route throughput").
   */
  return (rawReq, rawRes) => {
    const req = rawReq as Request;
    const res = rawRes as Response;
    // What Express's app.handle does before its router runs (express/lib/application.js): the guards answer
    // through res.status().json(), and a plugin's router expects Express's request and response.
    req.res = res;
    res.req = req;
    Object.setPrototypeOf(req, requestProto);
    Object.setPrototypeOf(res, responseProto);
    if (!res.locals) res.locals = Object.create(null);
    for (let i = 0; i < guards.length; i += 1) if (!guards[i]!(req, res)) return;
    const path = req.path;
    if (!path.startsWith("/api/") || path === "/api/_shell" || path.startsWith("/api/_shell/")) {
      app(req, res);
      return;
    }
    // What the app router sets before its first layer; a plugin's router restores them when it falls through.
    req.originalUrl = req.url;
    req.baseUrl = "";
    let returned: Promise<void> | undefined;
    try {
      returned = dispatcher(path, req, res, (err?: unknown) => afterPlugin(req, res, err));
    } catch (error) {
      afterPlugin(req, res, error ?? new Error("Thrown undefined"));
      return;
    }
    returned?.then(undefined, (error: unknown) =>
      afterPlugin(req, res, error ?? new Error("Rejected promise")),
    );
  };
}

function noop(): void {}

/** The `changed` ids of an update request's body, or a message saying what is wrong with it. */
function changedOf(body: unknown): string[] | string {
  const usage = 'Send { "changed": ["plugin-id", ...] } (or {} to update without re-importing any plugin).';
  if (body === null || typeof body !== "object" || Array.isArray(body))
    return `The body must be a JSON object. ${usage}`;
  const changed = (body as { changed?: unknown }).changed;
  if (changed === undefined) return [];
  if (!Array.isArray(changed) || !changed.every((id) => typeof id === "string")) {
    return `'changed' must be an array of plugin ids. ${usage}`;
  }
  return changed;
}

/**
 * Runs `handlers` one after another as a single middleware, as Express would run them as separate layers: each
 * continues with `next()`, `next(err)` skips to the error handler, and a synchronous throw or a rejected promise
 * counts as `next(err)`.
 */
function inSequence(handlers: readonly RequestHandler[]): RequestHandler {
  return (req, res, next) => {
    let index = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null && err !== "route") {
        next(err);
        return;
      }
      const handler = handlers[index++];
      if (handler === undefined) {
        next();
        return;
      }
      try {
        const returned: unknown = handler(req, res, step);
        if (returned instanceof Promise) {
          returned.then(undefined, (error: unknown) => step(error ?? new Error("Rejected promise")));
        }
      } catch (error) {
        step(error);
      }
    };
    step();
  };
}
