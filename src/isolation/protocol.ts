// The messages a plugin's worker and the shell exchange over the worker's port (docs/isolation.md).
// Everything here crosses a structured clone: plain data only, errors as SerialisedError.
import { type ErrorCode, ErrorCodes, HangarError } from "../errors.js";
import type { PluginManifest } from "../manifest/schema.js";
import { describeThrown } from "../thrown.js";

/** What a worker needs to load its plugin; passed as `workerData`. */
export interface WorkerBoot {
  pluginId: string;
  /** The plugin folder's real path. */
  folder: string;
  /** The entry module's real path, resolved by the shell (resolveEntryModule), so the worker never loads zod. */
  entryFile: string;
  generation: number;
  manifest: PluginManifest;
  /** The shell's auth token when the worker starts; later changes arrive as `auth` messages. */
  token: string | null;
  /** "json" when the shell's IPC transport carries JSON: ctx.ipc.send checks the payload here, as in-process. */
  ipcPayloads?: "json";
  /**
   * The shell's `process.argv` (`[node, script, ...arguments]`): the isolate's `process.argv` is set to it before
   * the plugin is imported, so a plugin reads the same arguments isolated as in-process (docs/isolation.md).
   */
  argv: string[];
}

/** An error after a structured clone: enough to rebuild it with the same class, code and stack. */
export interface SerialisedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  /** HTTP client errors (body-parser, http-errors) carry these; the shell's error answer reads them. */
  status?: number;
  expose?: boolean;
}

/**
 * Connection-level headers (RFC 9110 §7.6.1): they describe one hop, never the request itself, so the shell's own
 * connection to the client decides them and they are not forwarded to the worker.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
]);

/**
 * A request's head, shell → worker (docs/isolation.md, "Requests"). `end` is true when no body follows (no
 * Content-Length, or 0); otherwise `http-body` messages carry it.
 */
export interface HttpRequestHead {
  t: "http-req";
  id: number;
  mountId: number;
  baseUrl: string;
  method: string;
  url: string;
  httpVersion: string;
  headers: Record<string, string | string[] | undefined>;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  end: boolean;
}

/** A response's status line and headers, worker → shell. */
export interface HttpResponseHead {
  status: number;
  message: string | undefined;
  headers: Record<string, number | string | string[] | undefined>;
}

/**
 * The request/response exchange on the worker's port. Bodies travel as ArrayBuffers the sender owns alone
 * (moved, not copied, between threads) or as strings; each side acknowledges the bytes it has passed on, and a
 * sender stops reading (or tells its writer to wait for 'drain') while more than a window is unacknowledged.
 */
export type HttpToWorker =
  | HttpRequestHead
  | { t: "http-body"; id: number; chunk?: ArrayBuffer; end?: boolean }
  /** The shell passed these response bytes on to the client. */
  | { t: "http-ack"; id: number; bytes: number }
  /** The client went away: stop working on it. */
  | { t: "http-abort"; id: number };

export type HttpFromWorker =
  /** Any of head, body and end, together when they are ready together (a `res.json()` is one message). */
  | {
      t: "http-res";
      id: number;
      head?: HttpResponseHead;
      chunk?: ArrayBuffer | string;
      encoding?: BufferEncoding;
      end?: boolean;
    }
  /** No route of the mount answered: the shell's next handler does (its JSON 404). */
  | { t: "http-next"; id: number }
  /** The route failed before sending headers: the shell answers as for an in-process route error. */
  | { t: "http-error"; id: number; error: SerialisedError }
  /** The route destroyed its response, or failed after sending headers: the shell cuts the answer short. */
  | { t: "http-abort"; id: number }
  /** The plugin read these request bytes. */
  | { t: "http-ack"; id: number; bytes: number };

/** Unacknowledged body bytes a sender lets through before it waits (each direction, per request). */
export const HTTP_WINDOW_BYTES = 1024 * 1024;

export type HookName = "start" | "stop" | "resume";

/** Shell → worker. */
export type ToWorker =
  /** The first message to a utility process, which has no `workerData`. */
  | { t: "boot"; boot: WorkerBoot }
  | { t: "ping"; seq: number }
  | { t: "hook"; id: number; hook: HookName; contextId: number }
  | { t: "dispose"; contextId: number }
  | { t: "auth"; token: string | null }
  /** The shell is done with the worker: dispose every context (signals abort), close the server, exit. */
  | { t: "close" }
  | { t: "invoke"; id: number; channel: string; payload: unknown }
  | { t: "reply"; id: number; ok: true; value: unknown }
  | { t: "reply"; id: number; ok: false; error: SerialisedError }
  | HttpToWorker;

export type LogLevel = "debug" | "info" | "warn" | "error";
export type ConfigOp = "get" | "set" | "delete" | "getAll";

/** Worker → shell. */
export type FromWorker =
  | { t: "loaded"; hasOnResume: boolean; entryFile: string; loadMs: number }
  | { t: "load-failed"; error: SerialisedError }
  | { t: "pong"; seq: number; heapUsedBytes: number }
  /** The worker read a hook's message and runs it (the watchdog blames a hook only once it has begun). */
  | { t: "hook-begun"; id: number }
  | { t: "hook-done"; id: number; ok: true }
  | { t: "hook-done"; id: number; ok: false; error: SerialisedError }
  | { t: "log"; level: LogLevel; tag: string; message: string; data: unknown[] }
  | { t: "config"; id: number; contextId: number; op: ConfigOp; args: unknown[] }
  | { t: "ipc-handle"; contextId: number; channel: string }
  | { t: "ipc-send"; contextId: number; channel: string; payload: unknown }
  /** A router is mounted in the worker. */
  | { t: "route"; contextId: number; mountId: number; path: string }
  | { t: "invoke-done"; id: number; ok: true; value: unknown }
  | { t: "invoke-done"; id: number; ok: false; error: SerialisedError }
  /** The worker is importing a part of hangar it needs (Express, at the first route): not judged by the watchdog. */
  | { t: "importing"; done: boolean }
  /** The worker has booted (hangar's side of it is evaluated): the plugin's import begins now. */
  | { t: "booted" }
  /** A utility process's uncaught exception or unhandled rejection, sent just before it exits. */
  /** `origin`: whether a throw or a rejected promise nobody handled ended the worker (its crash message says which). */
  | { t: "fatal"; error: SerialisedError; origin?: "uncaughtException" | "unhandledRejection" }
  /** A leftover called a disposed context (`call` is e.g. `ipc.send('tick')`): ignored in the worker, warned about. */
  | { t: "late-call"; contextId: number; call: string }
  /** An error escaped a leftover of a disposed context (the worker carries on): warned about, as in-process. */
  | {
      t: "leftover-error";
      contextId: number;
      origin: "uncaughtException" | "unhandledRejection";
      error: SerialisedError;
    }
  | HttpFromWorker;

/** Marks an Error inside logged data, which a structured clone would strip of its class and code. */
export const ERROR_MARK = "__hangarSerialisedError";

/**
 * An error as plain data for the other side, read through {@link describeThrown} (src/thrown.ts), as every thrown
 * value hangar reads: never throws, and an odd value (a throwing `stack` or `message` getter, a Proxy whose traps
 * throw, a revoked Proxy) is described, never read, in the same words as in-process: `an object was thrown (reading
 * its name, message, stack threw: proxy trap)`. An Error keeps its class name, `code`, and an HTTP client error's
 * `status` and `expose`; anything else is an `Error` whose message is its JSON or String().
 */
export function serialiseError(error: unknown): SerialisedError {
  const { name, message, stack, unreadable } = describeThrown(error);
  let isError = false;
  let extra: Pick<SerialisedError, "code" | "status" | "expose"> = {};
  try {
    isError = error instanceof Error;
    if (isError) {
      const { code, status, statusCode, expose } = error as Error & Record<string, unknown>;
      const httpStatus = typeof status === "number" ? status : statusCode;
      extra = {
        ...(typeof code === "string" ? { code } : {}),
        ...(typeof httpStatus === "number" ? { status: httpStatus } : {}),
        ...(typeof expose === "boolean" ? { expose } : {}),
      };
    }
  } catch {
    // A getter or trap threw: the name, message and stack above still say what was thrown.
  }
  // Only a stack that could not be read leaves the message as it is; an unreadable name or message is said.
  const said =
    unreadable && !/^reading its stack threw/.test(unreadable) ? `${message} (${unreadable})` : message;
  return { name: isError ? name : "Error", message: said, ...(stack ? { stack } : {}), ...extra };
}

/** Rebuilds an error on the other side: a TypeError stays a TypeError, a code and a stack are kept. */
export function reviveError(serialised: SerialisedError): Error {
  if (serialised.name === "HangarError" && serialised.code && Object.hasOwn(ErrorCodes, serialised.code)) {
    const error = new HangarError(serialised.code as ErrorCode, serialised.message);
    if (serialised.stack) error.stack = serialised.stack;
    return error;
  }
  const error =
    serialised.name === "TypeError" ? new TypeError(serialised.message) : new Error(serialised.message);
  if (serialised.name !== "TypeError" && serialised.name !== "Error") error.name = serialised.name;
  if (serialised.stack) error.stack = serialised.stack;
  const extra = error as Error & { code?: string; status?: number; statusCode?: number; expose?: boolean };
  if (serialised.code !== undefined) extra.code = serialised.code;
  if (serialised.status !== undefined) {
    extra.status = serialised.status;
    extra.statusCode = serialised.status;
  }
  if (serialised.expose !== undefined) extra.expose = serialised.expose;
  return error;
}
