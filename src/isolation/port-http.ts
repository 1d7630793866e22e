// The isolate's side of request forwarding: turns the shell's messages into a Node request and
// response that an Express app serves as if they came from a socket, and the response back into messages.
// Express swaps the prototypes of both objects for its own (app.request / app.response), so what this file
// changes is set on each object itself, where the swap leaves it.
import http from "node:http";
import { Duplex } from "node:stream";
import {
  HTTP_WINDOW_BYTES,
  type HttpFromWorker,
  type HttpRequestHead,
  type HttpResponseHead,
  type HttpToWorker,
} from "./protocol.js";

/** Sends a message to the shell; `transfer` lists ArrayBuffers that move instead of being copied. */
export type PostToShell = (message: HttpFromWorker, transfer?: ArrayBuffer[]) => void;

/** Serves one request: in the worker, an Express app dispatching to the plugin's router for `mountId`. */
export type ServeRequest = (req: http.IncomingMessage, res: http.ServerResponse, mount: RequestMount) => void;

/** Which exchange a request is, and which of the plugin's mounts it is for. */
export interface RequestMount {
  id: number;
  mountId: number;
  baseUrl: string;
}

interface Exchange {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  /** Request bytes the plugin has not read yet, acknowledged when it asks for more. */
  unacked: number;
  /** Response bytes sent and not yet acknowledged by the shell. */
  unsent: number;
  needDrain: boolean;
}

/** A stand-in for the client's socket: what Express and its middleware read of it (address, port, events). */
function socketFor(head: HttpRequestHead): Duplex {
  const socket = new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  Object.assign(socket, {
    remoteAddress: head.remoteAddress,
    remotePort: head.remotePort,
    remoteFamily: head.remoteAddress?.includes(":") ? "IPv6" : "IPv4",
    encrypted: false,
    setTimeout: () => socket,
    setNoDelay: () => socket,
    setKeepAlive: () => socket,
    ref: () => socket,
    unref: () => socket,
  });
  return socket;
}

function rawHeadersOf(headers: HttpRequestHead["headers"]): string[] {
  const raw: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (Array.isArray(value)) for (const each of value) raw.push(name, each);
    else if (value !== undefined) raw.push(name, value);
  }
  return raw;
}

/** Body bytes as they go to the shell: strings as they are, bytes in an ArrayBuffer of their own. */
function toWire(
  chunk: unknown,
  encoding: BufferEncoding | undefined,
): { chunk: ArrayBuffer | string; bytes: number; encoding?: BufferEncoding } | null {
  if (chunk === undefined || chunk === null) return null;
  if (typeof chunk === "string") {
    if (chunk.length === 0) return null;
    return { chunk, bytes: Buffer.byteLength(chunk, encoding), ...(encoding ? { encoding } : {}) };
  }
  if (chunk instanceof Uint8Array) {
    if (chunk.byteLength === 0) return null;
    const copy = new Uint8Array(chunk.byteLength);
    copy.set(chunk);
    return { chunk: copy.buffer, bytes: copy.byteLength };
  }
  throw new TypeError(
    `The "chunk" argument must be of type string or an instance of Buffer or Uint8Array. Received ${typeof chunk}`,
  );
}

/** The isolate's request server on its port: feed it the shell's `http-*` messages with {@link receive}. */
export class PortHttpServer {
  readonly #post: PostToShell;
  readonly #serve: ServeRequest;
  readonly #exchanges = new Map<number, Exchange>();

  constructor(post: PostToShell, serve: ServeRequest) {
    this.#post = post;
    this.#serve = serve;
  }

  receive(message: HttpToWorker): void {
    if (message.t === "http-req") {
      this.#open(message);
      return;
    }
    const exchange = this.#exchanges.get(message.id);
    if (!exchange) return;
    switch (message.t) {
      case "http-body": {
        const { req } = exchange;
        if (message.chunk) {
          const bytes = message.chunk.byteLength;
          if (req.push(Buffer.from(message.chunk))) this.#post({ t: "http-ack", id: message.id, bytes });
          else exchange.unacked += bytes;
        }
        if (message.end) {
          req.complete = true;
          req.push(null);
        }
        return;
      }
      case "http-ack":
        exchange.unsent -= message.bytes;
        if (exchange.needDrain && exchange.unsent < HTTP_WINDOW_BYTES) {
          exchange.needDrain = false;
          exchange.res.emit("drain");
        }
        return;
      case "http-abort":
        // The client went away: the route sees its request aborted and its response closed, as on a socket.
        this.#exchanges.delete(message.id);
        exchange.req.destroy();
        exchange.res.destroyed = true;
        process.nextTick(() => exchange.res.emit("close"));
        return;
    }
  }

  /** What a route sees: a request with the client's method, URL and headers, and a response that posts back. */
  #open(head: HttpRequestHead): void {
    const id = head.id;
    const socket = socketFor(head);
    const req = new http.IncomingMessage(socket as never);
    req.method = head.method;
    req.url = head.url;
    req.httpVersion = head.httpVersion;
    const [major, minor] = head.httpVersion.split(".").map(Number);
    req.httpVersionMajor = major ?? 1;
    req.httpVersionMinor = minor ?? 1;
    req.headers = head.headers as http.IncomingHttpHeaders;
    req.rawHeaders = rawHeadersOf(head.headers);
    const res = new http.ServerResponse(req);
    const exchange: Exchange = { req, res, unacked: 0, unsent: 0, needDrain: false };
    this.#exchanges.set(id, exchange);

    // The plugin read what was pushed and asks for more: let the shell send it.
    req._read = () => {
      if (exchange.unacked > 0 && this.#exchanges.has(id)) {
        this.#post({ t: "http-ack", id, bytes: exchange.unacked });
        exchange.unacked = 0;
      }
    };
    req._destroy = (error, callback) => {
      if (!req.complete) {
        req.aborted = true;
        req.emit("aborted");
      }
      socket.destroy();
      callback(error);
    };
    if (head.end) {
      req.complete = true;
      req.push(null);
    }

    let pendingHead: HttpResponseHead | undefined;
    const markSent = (): void => {
      // OutgoingMessage reads `_header` for headersSent, and refuses setHeader once it is set (as on a socket).
      (res as unknown as { _header: string })._header = "(sent to the shell)";
    };
    const takeHead = (): HttpResponseHead | undefined => {
      if (!res.headersSent) res.writeHead(res.statusCode);
      const taken = pendingHead;
      pendingHead = undefined;
      return taken;
    };
    const finished = (): boolean => res.writableEnded || res.destroyed || !this.#exchanges.has(id);

    res.writeHead = ((
      status: number,
      reason?: string | http.OutgoingHttpHeaders | http.OutgoingHttpHeader[],
      headers?: http.OutgoingHttpHeaders | http.OutgoingHttpHeader[],
    ) => {
      if (res.headersSent) return res;
      let extra = headers;
      if (typeof reason === "string") res.statusMessage = reason;
      else extra = reason;
      res.statusCode = status;
      if (Array.isArray(extra)) {
        // [name, value, name, value, …] or [[name, value], …], as Node accepts.
        const flat = extra.flat() as string[];
        for (let i = 0; i + 1 < flat.length; i += 2) res.setHeader(flat[i]!, flat[i + 1]!);
      } else if (extra) {
        for (const [name, value] of Object.entries(extra))
          if (value !== undefined) res.setHeader(name, value);
      }
      pendingHead = {
        status: res.statusCode,
        message: res.statusMessage || undefined,
        headers: res.getHeaders() as HttpResponseHead["headers"],
      };
      markSent();
      return res;
    }) as typeof res.writeHead;
    (res as unknown as { _implicitHeader(): void })._implicitHeader = () => {
      res.writeHead(res.statusCode);
    };

    /** One part of the response to the shell: the head once, then body chunks (an ArrayBuffer moves, not copied). */
    const postPart = (head: HttpResponseHead | undefined, wire: ReturnType<typeof toWire>, end: boolean) =>
      this.#post(
        {
          t: "http-res",
          id,
          ...(head ? { head } : {}),
          ...(wire ? { chunk: wire.chunk } : {}),
          ...(wire?.encoding ? { encoding: wire.encoding } : {}),
          ...(end ? { end: true } : {}),
        },
        wire && typeof wire.chunk !== "string" ? [wire.chunk] : undefined,
      );

    res.flushHeaders = () => {
      const sentHead = takeHead();
      if (sentHead && !finished()) postPart(sentHead, null, false);
    };

    res.write = ((
      chunk: unknown,
      encoding?: BufferEncoding | ((error?: Error | null) => void),
      callback?,
    ) => {
      if (typeof encoding === "function") {
        callback = encoding;
        encoding = undefined;
      }
      if (res.writableEnded) {
        const error = Object.assign(new Error("write after end"), { code: "ERR_STREAM_WRITE_AFTER_END" });
        process.nextTick(() => {
          (callback as ((error?: Error | null) => void) | undefined)?.(error);
          res.emit("error", error);
        });
        return false;
      }
      const wire = toWire(chunk, encoding);
      const sentHead = takeHead();
      if (!finished() && (wire || sentHead)) {
        postPart(sentHead, wire, false);
        exchange.unsent += wire?.bytes ?? 0;
      }
      if (callback) process.nextTick(callback as () => void);
      if (exchange.unsent >= HTTP_WINDOW_BYTES) {
        exchange.needDrain = true;
        return false;
      }
      return true;
    }) as typeof res.write;

    res.end = ((chunk?: unknown, encoding?: BufferEncoding | (() => void), callback?: () => void) => {
      if (typeof chunk === "function") {
        callback = chunk as () => void;
        chunk = undefined;
      } else if (typeof encoding === "function") {
        callback = encoding;
        encoding = undefined;
      }
      if (res.writableEnded) {
        if (callback) process.nextTick(callback);
        return res;
      }
      const wire = toWire(chunk, encoding as BufferEncoding | undefined);
      const sentHead = takeHead();
      if (!finished()) {
        postPart(sentHead, wire, true);
      }
      this.#exchanges.delete(id);
      res.finished = true;
      if (callback) res.once("finish", callback);
      process.nextTick(() => {
        res.emit("prefinish");
        res.emit("finish");
        res.emit("close");
      });
      return res;
    }) as typeof res.end;

    res.destroy = ((error?: Error) => {
      if (res.destroyed) return res;
      res.destroyed = true;
      if (this.#exchanges.delete(id)) this.#post({ t: "http-abort", id });
      if (!req.destroyed) req.destroy();
      process.nextTick(() => {
        if (error) res.emit("error", error);
        res.emit("close");
      });
      return res;
    }) as typeof res.destroy;

    this.#serve(req, res, { id, mountId: head.mountId, baseUrl: head.baseUrl });
  }

  /**
   * Ends an exchange without a response (the route passed it on, or failed before answering); the caller tells
   * the shell which. False when it had already ended (the client went away).
   */
  drop(id: number): boolean {
    const exchange = this.#exchanges.get(id);
    if (!exchange) return false;
    this.#exchanges.delete(id);
    exchange.res.destroyed = true;
    return true;
  }
}
