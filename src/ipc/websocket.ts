// The WebSocket IPC bridge: plugin IPC for headless renderers (a browser page, any client) on the shell's own
// server at ws://127.0.0.1:<port>/_hangar/ipc, guarded by the same Host and Origin rules as HTTP.

import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { RawData, WebSocket, WebSocketServer } from "ws";
import { createRefusalLog } from "../base/refusal-log.js";
import { setTimeout } from "../base/timers.js";
import { bearerTokenOf, createTokenMatcher } from "../base/token-match.js";
import { createError } from "../errors.js";
import { createHandlerRegistry } from "./handler-registry.js";
import { jsonFailureReason, jsonPayloadError } from "./json-payload.js";
import type { IpcTransport } from "./transport.js";
import {
  decodeClientFrame,
  encodeErrorResult,
  encodeEvent,
  encodeValueResult,
  IPC_PATH,
} from "./ws-protocol.js";

export { IPC_PATH } from "./ws-protocol.js";

/** Where the bridge reports refusals, slow clients and protocol trouble. The shell's own logger fits. */
export interface WebSocketIpcLogger {
  debug?(message: string, data?: Record<string, unknown>): void;
  info?(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

export interface WebSocketIpcOptions {
  /**
   * Largest frame a client may send, in bytes. A larger one closes that client's connection with code 1009.
   * Default 1 MiB.
   */
  maxPayloadBytes?: number;
  /**
   * A client's unsent backlog, in bytes, above which events for it are dropped until it catches up. At twice
   * this the client is disconnected (results of its own invokes are never dropped, so only that bounds them).
   * Default 1 MiB.
   */
  maxBufferedBytes?: number;
  /**
   * Connections the bridge serves at once. One more is accepted and closed at once with code 1013 (Try Again
   * Later) and a reason saying the bridge is full, so neither the shell's memory nor its log grows with the
   * number of clients. Default 64.
   */
  maxConnections?: number;
  /** Default: the logger the shell passes to `attach`, else the console. */
  logger?: WebSocketIpcLogger;
}

/** What the shell hands the bridge: the rules its Express app applies, so both answer alike. */
export interface IpcAttachOptions {
  /** The shell server's Host check (DNS-rebinding protection). */
  isAllowedHost(host: string | undefined): boolean;
  /** True for the server's own origins and `server.allowedOrigins`. */
  isAllowedOrigin(origin: string): boolean;
  /**
   * The session token (`server.token`). When set, an upgrade must carry it, as `Authorization: Bearer <token>`
   * or, since browsers cannot set headers on a WebSocket, as `?token=<token>` in the URL; otherwise 401.
   */
  token?: string | null;
  /** Used when createWebSocketIpc was given no logger. */
  logger?: WebSocketIpcLogger;
}

/** An IpcTransport served over WebSocket on the shell's HTTP server. */
export interface WebSocketIpc extends IpcTransport {
  /**
   * Serves the bridge on `server` (call after it listens). Upgrades to other paths are answered 404, unless
   * another 'upgrade' listener on the server is there to take them.
   * @throws HangarError `HANGAR_SHELL_STATE` when already attached or closed.
   */
  attach(server: Server, security: IpcAttachOptions): void;
  /** Closes every client connection (code 1001) and refuses new ones. Idempotent. */
  close(): void;
}

const MiB = 1024 * 1024;
/** Default for `maxConnections`: far more than the pages of one desktop shell, few enough to bound memory. */
const DEFAULT_MAX_CONNECTIONS = 64;
/** RFC 6455 §7.4.1 close code 1013: the server is overloaded, try again later. */
const CLOSE_TRY_AGAIN_LATER = 1013;
/** How long a closing client may take to answer the close frame before its socket is dropped. */
const CLOSE_GRACE_MS = 1_000;
/** Invokes one connection may have waiting on handlers at once; more are answered with an error at once. */
const MAX_PENDING_INVOKES = 256;

interface Client {
  readonly socket: WebSocket;
  readonly number: number;
  readonly remote: string;
  /** Events dropped in the current slow episode, and in total. */
  dropping: number;
  droppedTotal: number;
  /** Invokes whose handler has not settled yet. */
  pending: number;
}

const consoleLogger: WebSocketIpcLogger = {
  warn: (message, data) => console.warn(`hangar ipc: ${message}`, data ?? ""),
  error: (message, data) => console.error(`hangar ipc: ${message}`, data ?? ""),
};

/**
 * Creates the WebSocket IPC bridge. Pass it as `createShell({ ipc })`: the shell attaches it to its server
 * after listening and closes it on shutdown. Payloads cross as JSON (see docs/ipc.md).
 */
export function createWebSocketIpc(options: WebSocketIpcOptions = {}): WebSocketIpc {
  const maxPayload = positive(options.maxPayloadBytes, "maxPayloadBytes", "bytes") ?? MiB;
  const softLimit = positive(options.maxBufferedBytes, "maxBufferedBytes", "bytes") ?? MiB;
  const maxConnections =
    positive(options.maxConnections, "maxConnections", "connections") ?? DEFAULT_MAX_CONNECTIONS;
  const hardLimit = softLimit * 2;
  const handlers = createHandlerRegistry();
  const clients = new Set<Client>();
  // Through the one limiter: each kind of refusal is logged on its 1st, 10th, 100th, ... occurrence.
  const logRefusal = createRefusalLog((message, data) => log.warn(message, data));
  let log: WebSocketIpcLogger = options.logger ?? consoleLogger;
  let attached = false;
  let closed = false;
  let clientCount = 0;
  // Servers of ours never track clients themselves; `clients` does, with the per-client backlog state.
  // `ws` is imported on the first upgrade that passes the checks: `hangar run` serves the bridge, and most runs
  // never open it (the import is a sixth of the CLI's start-up code).
  let wss: Promise<WebSocketServer> | null = null;
  const webSocketServer = (): Promise<WebSocketServer> =>
    (wss ??= import("ws").then(
      ({ WebSocketServer }) =>
        new WebSocketServer({
          noServer: true,
          maxPayload,
          clientTracking: false,
          perMessageDeflate: false,
        }),
    ));

  function refuse(socket: Duplex, status: 401 | 403 | 404 | 503, error: string): void {
    const body = JSON.stringify({ success: false, error });
    const reason = { 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 503: "Service Unavailable" }[
      status
    ];
    socket.on("error", () => {}); // the peer may reset while we answer; nothing more to tell it
    socket.once("finish", () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  function onUpgrade(security: IpcAttachOptions, server: Server) {
    const tokenMatches = security.token ? createTokenMatcher(security.token) : null;
    return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      const url = req.url ?? "/";
      const query = url.indexOf("?");
      const path = query === -1 ? url : url.slice(0, query);
      if (path !== IPC_PATH) {
        // Another protocol on this server may own that path; only when none does is it ours to refuse.
        if (server.listenerCount("upgrade") > 1) return;
        refuse(socket, 404, `No WebSocket endpoint at ${path}; hangar's IPC bridge is at ${IPC_PATH}.`);
        return;
      }
      if (closed) {
        refuse(socket, 503, "The hangar shell is shutting down; its IPC bridge accepts no new connections.");
        return;
      }
      const host = req.headers.host;
      if (!security.isAllowedHost(host)) {
        const shown = host ?? "(none)";
        logRefusal(
          `host:${shown}`,
          "Refused an IPC WebSocket with a foreign Host header (DNS-rebinding protection)",
          {
            host: shown,
          },
        );
        refuse(
          socket,
          403,
          `Host '${shown}' is not allowed: connect to the IPC bridge through 127.0.0.1, localhost or [::1] ` +
            "on the shell's port (DNS-rebinding protection).",
        );
        return;
      }
      const origin = req.headers.origin;
      if (origin !== undefined && !security.isAllowedOrigin(origin)) {
        logRefusal(
          `origin:${origin}`,
          "Refused an IPC WebSocket from a foreign Origin (cross-site WebSocket hijacking protection)",
          { origin },
        );
        refuse(
          socket,
          403,
          `Origin '${origin}' may not open the IPC bridge. If that page is yours, add its origin to ` +
            "server.allowedOrigins.",
        );
        return;
      }
      if (tokenMatches && !carriesToken(req, url, tokenMatches)) {
        logRefusal("token", "Refused an IPC WebSocket without the session token (server.token)", {
          hasAuthorization: req.headers.authorization !== undefined,
        });
        refuse(
          socket,
          401,
          "This shell requires its session token (server.token): connect with 'Authorization: Bearer <token>' " +
            `or ${IPC_PATH}?token=<token>.`,
        );
        return;
      }
      webSocketServer().then(
        (server) => {
          if (socket.destroyed) return;
          if (closed) {
            refuse(
              socket,
              503,
              "The hangar shell is shutting down; its IPC bridge accepts no new connections.",
            );
            return;
          }
          server.handleUpgrade(req, socket, head, (ws) => connect(ws, req));
        },
        (error: unknown) => {
          log.error("The IPC bridge could not load its WebSocket server (the ws package)", {
            error: error instanceof Error ? error.message : String(error),
          });
          refuse(socket, 503, "The IPC bridge is unavailable: its WebSocket server could not be loaded.");
        },
      );
    };
  }

  function connect(socket: WebSocket, req: IncomingMessage): void {
    if (closed) {
      socket.terminate();
      return;
    }
    if (clients.size >= maxConnections) {
      // Completing the handshake first lets a browser page read the close code and reason (a refused upgrade
      // reaches it only as a bare 1006); the socket holds nothing of ours and is gone after the close frame.
      logRefusal(
        "connections",
        `Refused an IPC WebSocket: the bridge already serves ${maxConnections} connections (maxConnections)`,
        { remote: `${req.socket.remoteAddress}:${req.socket.remotePort}`, maxConnections },
      );
      socket.on("error", () => {}); // a peer that resets while we close has nothing more to hear
      socket.close(
        CLOSE_TRY_AGAIN_LATER,
        `hangar IPC bridge is full (${maxConnections} connections); close one or try again later`,
      );
      setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
      return;
    }
    clientCount += 1;
    const client: Client = {
      socket,
      number: clientCount,
      remote: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
      dropping: 0,
      droppedTotal: 0,
      pending: 0,
    };
    clients.add(client);
    const origin = req.headers.origin ?? null;
    log.debug?.(`IPC client #${client.number} connected`, { remote: client.remote, origin });

    socket.on("message", (data, isBinary) => {
      if (isBinary) {
        reply(client, encodeErrorResult(null, "Binary frames are not supported: send JSON text frames."));
        return;
      }
      const decoded = decodeClientFrame(textOf(data));
      if (!decoded.ok) {
        reply(client, encodeErrorResult(decoded.id, decoded.error));
        return;
      }
      void invoke(client, decoded.frame.id, decoded.frame.channel, decoded.frame.payload);
    });
    socket.on("error", (error: Error & { code?: string }) => {
      // A client can reconnect and misbehave at will: these go through the limiter, not one line per connection.
      if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") {
        logRefusal(
          "frame-too-large",
          `IPC client #${client.number} sent a frame larger than ${maxPayload} bytes; its connection was closed ` +
            "with code 1009. Send smaller messages, or raise maxPayloadBytes in createWebSocketIpc.",
          { remote: client.remote },
        );
        return;
      }
      logRefusal("protocol", `IPC client #${client.number} broke the WebSocket protocol: ${error.message}`, {
        remote: client.remote,
        code: error.code,
      });
    });
    socket.on("close", (code) => {
      clients.delete(client);
      if (client.dropping > 0) {
        log.warn(
          `IPC client #${client.number} disconnected (code ${code}) while events were being dropped for it; ` +
            `${client.dropping} were dropped since it fell behind.`,
          { remote: client.remote, droppedEvents: client.dropping },
        );
        return;
      }
      log.debug?.(`IPC client #${client.number} disconnected (code ${code})`, { remote: client.remote });
    });
  }

  async function invoke(client: Client, id: number, channel: string, payload: unknown): Promise<void> {
    const handler = handlers.get(channel);
    if (!handler) {
      reply(client, encodeErrorResult(id, `No handler registered for '${channel}'`));
      return;
    }
    // Each pending invoke holds its payload until the handler settles: a client may not pile them up.
    if (client.pending >= MAX_PENDING_INVOKES) {
      reply(
        client,
        encodeErrorResult(
          id,
          `Too many invokes in flight on this connection (at most ${MAX_PENDING_INVOKES}); wait for answers first.`,
        ),
      );
      return;
    }
    client.pending += 1;
    let value: unknown;
    try {
      value = await handler(payload);
    } catch (error) {
      // Only the text crosses, as in Electron (main sends `error.toString()`); the plugin's logger has the rest.
      reply(client, encodeErrorResult(id, describe(error)));
      return;
    } finally {
      client.pending -= 1;
    }
    let text: string;
    try {
      text = encodeValueResult(id, value);
    } catch (error) {
      const message =
        `The handler for '${channel}' returned a value that cannot be sent as JSON (${jsonFailureReason(value, error)}). ` +
        "Return plain JSON data from handlers that WebSocket clients call.";
      // A plugin's channel ('plugin:<id>:<name>'): the warning carries its id, as the plugin's own lines do.
      const pluginId = /^plugin:([^:]+):/.exec(channel)?.[1];
      // A client can repeat the payload that makes a handler answer this at will (an echo of a value nested too
      // deep): through the one limiter, per channel, on the 1st, 10th, 100th... time, with the count so far.
      logRefusal(`result:${channel}`, message, pluginId ? { pluginId, channel } : { channel });
      text = encodeErrorResult(id, message);
    }
    reply(client, text);
  }

  /** Results are never dropped: the client asked for them. Only the hard limit stops them. */
  function reply(client: Client, text: string): void {
    if (!isOpen(client) || overHardLimit(client)) return;
    client.socket.send(text);
  }

  function deliverEvent(client: Client, text: string, channel: string): void {
    if (!isOpen(client) || overHardLimit(client)) return;
    const backlog = client.socket.bufferedAmount;
    if (backlog > softLimit) {
      if (client.dropping === 0) {
        log.warn(
          `IPC client #${client.number} reads too slowly: ${backlog} bytes wait to be sent to it (limit ` +
            `${softLimit}). Dropping events for it until it catches up.`,
          { remote: client.remote, channel },
        );
      }
      client.dropping += 1;
      client.droppedTotal += 1;
      return;
    }
    if (client.dropping > 0) {
      log.warn(`IPC client #${client.number} caught up; ${client.dropping} events were dropped for it.`, {
        remote: client.remote,
        droppedEvents: client.dropping,
      });
      client.dropping = 0;
    }
    client.socket.send(text);
  }

  function isOpen(client: Client): boolean {
    return client.socket.readyState === client.socket.OPEN;
  }

  function overHardLimit(client: Client): boolean {
    const backlog = client.socket.bufferedAmount;
    if (backlog <= hardLimit) return false;
    log.warn(
      `IPC client #${client.number} disconnected: ${backlog} bytes wait to be sent to it (limit ${hardLimit}); ` +
        `it is not reading. ${client.droppedTotal} events had been dropped for it.`,
      { remote: client.remote, droppedEvents: client.droppedTotal },
    );
    // A close frame would queue behind the backlog; the socket goes now.
    clients.delete(client);
    client.dropping = 0; // reported here; the close handler need not repeat it
    client.socket.terminate();
    return true;
  }

  return Object.freeze({
    handle: handlers.handle,
    removeHandler: handlers.removeHandler,

    payloads: "json",

    send(channel: string, payload: unknown): void {
      let text: string;
      try {
        text = encodeEvent(channel, payload);
      } catch (error) {
        // Checked even with no client connected, so the mistake shows up before the first page connects.
        throw jsonPayloadError(channel, payload, error);
      }
      for (const client of [...clients]) deliverEvent(client, text, channel);
    },

    attach(server: Server, security: IpcAttachOptions): void {
      if (closed || attached) {
        throw createError("HANGAR_SHELL_STATE", "webSocketBridge", {
          how: closed ? "closed" : "attached to a server",
        });
      }
      if (!options.logger && security.logger) log = security.logger;
      attached = true;
      server.on("upgrade", onUpgrade(security, server));
    },

    close(): void {
      if (closed) return;
      closed = true;
      // The upgrade listener stays: new connections get a clear 503 rather than a bare reset.
      for (const client of clients) {
        client.socket.close(1001, "The hangar shell is shutting down");
        // The server's close waits for upgraded sockets too: a client that never answers must not hold it.
        setTimeout(() => client.socket.terminate(), CLOSE_GRACE_MS).unref();
      }
      void wss?.then((server) => server.close());
    },
  });
}

function positive(value: number | undefined, name: string, unit: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw createError("HANGAR_SHELL_OPTIONS", "webSocketLimit", { option: name, value: String(value), unit });
  }
  return value;
}

/** The token may come as a Bearer header or, since browsers cannot set headers on a WebSocket, in the query. */
function carriesToken(
  req: IncomingMessage,
  url: string,
  matches: (...presented: unknown[]) => boolean,
): boolean {
  const query = new URL(url, "http://localhost").searchParams.get("token");
  return matches(bearerTokenOf(req.headers.authorization), query);
}

function textOf(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  return Buffer.from(data).toString("utf8");
}

function describe(error: unknown): string {
  try {
    return String(error);
  } catch {
    return "an error that has no string form";
  }
}
