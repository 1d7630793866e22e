// The Node HTTP server under the shell's Express app: listen with clear errors, close gracefully, force-close.

import { createServer, type RequestListener, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { clearTimeout, setImmediate, setTimeout } from "../base/timers.js";
import { createError, type HangarError } from "../errors.js";

/** Where to listen. `port: 0` picks a free port; `port()` and `url()` then report the real one. */
export interface HttpServerOptions {
  host: string;
  port: number;
}

/** A started-or-not HTTP server around one request listener (the shell's Express app). */
export interface ShellHttpServer {
  /**
   * Starts listening; resolves with the real URL and port. Calling it while listening returns the same result.
   * @throws HangarError `HANGAR_PORT_IN_USE` when the port is taken, `HANGAR_SERVER_LISTEN` for other failures.
   */
  listen(): Promise<{ url: string; port: number }>;
  /**
   * Stops accepting connections, drops idle keep-alive sockets, lets in-flight requests finish for up to
   * `graceMs`, then drops every remaining connection. Always resolves; calling it again returns the same promise.
   */
  close(graceMs: number): Promise<void>;
  /** Drops every connection now, in-flight or not, and stops listening. */
  forceClose(): void;
  /** `http://127.0.0.1:{port}` style URL of the bound server, or null when it is not listening. */
  url(): string | null;
  /** The bound port while listening (the configured port before that). */
  port(): number;
  /** The underlying Node server, for protocols that take over a connection (WebSocket upgrades). */
  nodeServer(): Server;
}

/** The host part of a URL a local client can use: wildcard binds are reached through loopback. */
function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

function listenError(error: NodeJS.ErrnoException, options: HttpServerOptions): HangarError {
  if (error.code === "EADDRINUSE") {
    return createError("HANGAR_PORT_IN_USE", { port: options.port, host: options.host }, { cause: error });
  }
  const sentence =
    error.code === "EACCES"
      ? "denied"
      : error.code === "EADDRNOTAVAIL" || error.code === "ENOTFOUND"
        ? "notLocal"
        : "other";
  const where = `${options.host}:${options.port}`;
  return createError("HANGAR_SERVER_LISTEN", sentence, { where, reason: error.message }, { cause: error });
}

function noop(): void {}

/** The response a connection is serving or served last: set once per request, read only when closing. */
const currentResponse = Symbol("hangar.currentResponse");
type TrackedSocket = Socket & { [currentResponse]?: ServerResponse };

/** Wraps `app` in a Node HTTP server that is not listening yet. */
export function createHttpServer(app: RequestListener, options: HttpServerOptions): ShellHttpServer {
  let listening: Promise<{ url: string; port: number }> | null = null;
  let closing: Promise<void> | null = null;
  let boundPort: number | null = null;
  let graceTimer: NodeJS.Timeout | null = null;

  // Node closes only the sockets idle at the moment of close(); a keep-alive socket whose request finishes
  // later would linger until its keep-alive timeout. So while closing, every response says
  // `Connection: close`, and each in-flight one triggers another sweep of idle sockets when it ends.
  // What this costs a request is one property write, in the one request listener: connections (not
  // requests) are tracked, and a request's response is looked at only when the server closes (issue 13:
  // a Set entry and a listener per request, or a second `request` listener, cost every request).
  // Without a Host header the app's DNS-rebinding check answers (403 JSON) instead of Node's bare 400.
  const server = createServer({ requireHostHeader: false }, (req, res) => {
    (req.socket as TrackedSocket)[currentResponse] = res;
    if (closing) res.shouldKeepAlive = false;
    app(req, res);
  });
  const sockets = new Set<TrackedSocket>();
  server.on("connection", (socket: TrackedSocket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const sweepIdle = () => server.closeIdleConnections();
  const onResponseClose = () => setImmediate(sweepIdle);

  const url = (): string | null =>
    boundPort === null ? null : `http://${urlHost(options.host)}:${boundPort}`;

  function close(graceMs: number): Promise<void> {
    if (closing) return closing;
    // A listen still in progress would bind after a close called now: let it settle first.
    closing =
      listening && boundPort === null
        ? listening.then(noop, noop).then(() => closeNow(graceMs))
        : closeNow(graceMs);
    return closing;
  }

  function closeNow(graceMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      for (const socket of sockets) {
        const res = socket[currentResponse];
        if (res === undefined || res.writableFinished) continue;
        if (!res.headersSent) res.shouldKeepAlive = false;
        res.once("close", onResponseClose);
      }
      server.close(() => {
        if (graceTimer) clearTimeout(graceTimer);
        graceTimer = null;
        boundPort = null;
        resolve();
      });
      server.closeIdleConnections();
      graceTimer = setTimeout(() => server.closeAllConnections(), Math.max(0, graceMs));
    });
  }

  return {
    listen() {
      if (closing) {
        return Promise.reject(createError("HANGAR_SHELL_STATE", "serverClosed"));
      }
      if (listening) return listening;
      listening = new Promise((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException): void => {
          listening = null;
          reject(listenError(error, options));
        };
        server.once("error", onError);
        server.listen(options.port, options.host, () => {
          server.off("error", onError);
          boundPort = (server.address() as AddressInfo).port;
          resolve({ url: url() as string, port: boundPort });
        });
      });
      return listening;
    },

    close,

    forceClose() {
      server.closeAllConnections();
      if (!closing) void close(0);
    },

    url,

    port() {
      return boundPort ?? options.port;
    },

    nodeServer() {
      return server;
    },
  };
}
