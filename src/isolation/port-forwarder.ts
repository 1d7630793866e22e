// Forwards HTTP requests from the shell's dispatcher to an isolated plugin as messages on its worker's port:
// the request's head and body go in, status, headers and body come back, each direction
// with a window of unacknowledged bytes so a slow reader holds the writer back (docs/isolation.md, "Requests").
import { performance } from "node:perf_hooks";
import type { NextFunction, Request, Response } from "express";
import type { PluginRouter } from "../sdk/types.js";
import {
  HOP_BY_HOP_HEADERS,
  HTTP_WINDOW_BYTES,
  type HttpFromWorker,
  type HttpToWorker,
  reviveError,
} from "./protocol.js";

/** Sends a message to the isolate; `transfer` lists ArrayBuffers that move instead of being copied. */
export type PostToIsolate = (message: HttpToWorker, transfer?: ArrayBuffer[]) => void;

/** One request in flight. */
interface Exchange {
  /** When it was posted to the isolate (performance.now(), ms). */
  sentAt: number;
  req: Request;
  res: Response;
  next: NextFunction;
  /** Request bytes sent and not yet acknowledged by the plugin. */
  unread: number;
  paused: boolean;
  onData?: (chunk: Buffer) => void;
  onEnd?: () => void;
}

/** A copy of `chunk` in an ArrayBuffer of its own: a Buffer often views a shared pool, which must not move. */
export function ownBuffer(chunk: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(chunk.byteLength);
  copy.set(chunk);
  return copy.buffer;
}

/**
 * The worker ended while the request was in flight: answered like any plugin that is not running (SPEC §6),
 * with the state its status shows (`backoff` while the restart policy waits to start it again).
 */
function answerGone(pluginId: string, res: Response, state = "errored"): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const backoff = state === "backoff";
  res.setHeader("Retry-After", backoff ? "1" : "5");
  res.status(503).json({
    success: false,
    error: backoff
      ? `Plugin '${pluginId}' stopped while answering this request (its worker ended); its restart policy starts it again after a backoff, retry shortly. GET /api/_shell/plugins/${pluginId} shows the cause.`
      : `Plugin '${pluginId}' stopped while answering this request (its worker ended); it is not running. GET /api/_shell/plugins/${pluginId} shows the cause.`,
    state,
  });
}

/** One isolated plugin's request forwarding over its isolate's message port. */
export class PortRequestForwarder {
  readonly #pluginId: string;
  readonly #post: PostToIsolate;
  readonly #alive: () => boolean;
  readonly #exchanges = new Map<number, Exchange>();
  #nextId = 1;

  constructor(pluginId: string, post: PostToIsolate, alive: () => boolean) {
    this.#pluginId = pluginId;
    this.#post = post;
    this.#alive = alive;
  }

  /**
   * The isolate ended: requests in flight answer 503 with the plugin's `state` (or are cut short once their
   * headers went out).
   */
  close(state: string | Promise<string> = "errored"): void {
    const exchanges = [...this.#exchanges.values()];
    this.#exchanges.clear();
    for (const exchange of exchanges) this.#release(exchange);
    if (exchanges.length === 0) return;
    const answer = (settled: string) => {
      for (const exchange of exchanges) answerGone(this.#pluginId, exchange.res, settled);
    };
    if (typeof state === "string") answer(state);
    else void state.then(answer, () => answer("errored"));
  }

  /**
   * The requests posted to the isolate before `time` (performance.now(), ms) and not answered since, oldest first,
   * as `METHOD /path` with the time each was sent: what a worker that went silent at `time` was most likely serving.
   */
  unansweredSince(time: number): { label: string; sentAt: number }[] {
    const labels: { label: string; sentAt: number }[] = [];
    for (const { sentAt, req } of this.#exchanges.values()) {
      if (sentAt > time) continue;
      // The path without its query string, which may carry secrets.
      const url = req.originalUrl || req.url;
      const query = url.indexOf("?");
      labels.push({ label: `${req.method} ${query === -1 ? url : url.slice(0, query)}`, sentAt });
    }
    return labels;
  }

  /** The handler the shell's route table mounts in place of the plugin's router at one mount path. */
  forwarderFor(mountId: number): PluginRouter {
    const handler = (req: Request, res: Response, next: NextFunction): void => {
      if (!this.#alive()) {
        answerGone(this.#pluginId, res);
        return;
      }
      const id = this.#nextId++;
      const exchange: Exchange = {
        sentAt: performance.now(),
        req,
        res,
        next,
        unread: 0,
        paused: false,
      };
      this.#exchanges.set(id, exchange);
      // Bodies always declare their length here: the shell's body limit refuses chunked ones (body-policy.ts).
      const length = req.headers["content-length"];
      const hasBody = length !== undefined && length !== "0";
      const socket = req.socket;
      this.#post({
        t: "http-req",
        id,
        mountId,
        baseUrl: req.baseUrl,
        method: req.method,
        url: req.url,
        httpVersion: req.httpVersion,
        headers: req.headers,
        remoteAddress: socket?.remoteAddress,
        remotePort: socket?.remotePort,
        end: !hasBody,
      });
      if (hasBody) {
        exchange.onData = (chunk: Buffer) => {
          const buffer = ownBuffer(chunk);
          this.#post({ t: "http-body", id, chunk: buffer }, [buffer]);
          exchange.unread += chunk.byteLength;
          if (exchange.unread > HTTP_WINDOW_BYTES && !exchange.paused) {
            exchange.paused = true;
            req.pause();
          }
        };
        exchange.onEnd = () => this.#post({ t: "http-body", id, end: true });
        req.on("data", exchange.onData);
        req.on("end", exchange.onEnd);
      }
      // The client went away before the answer was complete: stop the plugin's work on it too.
      res.on("close", () => {
        if (!this.#exchanges.has(id)) return;
        this.#exchanges.delete(id);
        this.#release(exchange);
        if (this.#alive()) this.#post({ t: "http-abort", id });
      });
    };
    return handler as unknown as PluginRouter;
  }

  /** A message of the exchange from the isolate. */
  receive(message: HttpFromWorker): void {
    const exchange = this.#exchanges.get(message.id);
    if (!exchange) return;
    const { res } = exchange;
    switch (message.t) {
      case "http-res": {
        if (message.head) {
          res.statusCode = message.head.status;
          if (message.head.message) res.statusMessage = message.head.message;
          for (const [name, value] of Object.entries(message.head.headers)) {
            if (value !== undefined && !HOP_BY_HOP_HEADERS.has(name)) res.setHeader(name, value);
          }
        }
        const chunk =
          message.chunk === undefined
            ? undefined
            : typeof message.chunk === "string"
              ? Buffer.from(message.chunk, message.encoding ?? "utf8")
              : Buffer.from(message.chunk);
        if (message.end) {
          this.#finish(message.id, exchange);
          if (chunk) res.end(chunk);
          else res.end();
          return;
        }
        if (!chunk) {
          // Headers only (flushHeaders, or a write of nothing): send them now, as Node would.
          if (!res.headersSent) res.flushHeaders();
          return;
        }
        const bytes = chunk.byteLength;
        const ack = () => {
          if (this.#exchanges.has(message.id)) this.#post({ t: "http-ack", id: message.id, bytes });
        };
        if (res.write(chunk)) ack();
        else res.once("drain", ack);
        return;
      }
      case "http-next":
        this.#finish(message.id, exchange);
        exchange.next();
        return;
      case "http-error":
        this.#finish(message.id, exchange);
        exchange.next(reviveError(message.error));
        return;
      case "http-abort":
        this.#finish(message.id, exchange);
        res.destroy();
        return;
      case "http-ack":
        exchange.unread -= message.bytes;
        if (exchange.paused && exchange.unread <= HTTP_WINDOW_BYTES / 2) {
          exchange.paused = false;
          exchange.req.resume();
        }
        return;
    }
  }

  /** The plugin is done with the exchange: nothing more is forwarded for it. */
  #finish(id: number, exchange: Exchange): void {
    this.#exchanges.delete(id);
    this.#release(exchange);
  }

  /**
   * Stops forwarding the request body. What the plugin did not read is read and dropped here, as Node does for
   * an unread body, so the client's keep-alive connection can carry its next request.
   */
  #release(exchange: Exchange): void {
    const { req } = exchange;
    if (exchange.onData) req.off("data", exchange.onData);
    if (exchange.onEnd) req.off("end", exchange.onEnd);
    exchange.onData = undefined;
    exchange.onEnd = undefined;
    if (!req.complete) req.resume();
  }
}
