// The messages a plugin's worker and the shell exchange over the worker's port (docs/isolation.md).
// Everything here crosses a structured clone: plain data only, errors as SerialisedError.
import { type ErrorCode, ErrorCodes, HangarError } from "../errors.js";
import type { PluginManifest } from "../manifest/schema.js";

/** What a worker needs to load its plugin; passed as `workerData`. */
export interface WorkerBoot {
  pluginId: string;
  folder: string;
  generation: number;
  manifest: PluginManifest;
  /** A private (0700) directory the worker's HTTP server listens in, on a unix-domain socket. */
  socketDir: string;
  /** The shell's auth token when the worker starts; later changes arrive as `auth` messages. */
  token: string | null;
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

export type HookName = "start" | "stop" | "resume";

/** Shell → worker. */
export type ToWorker =
  | { t: "ping"; seq: number }
  | { t: "hook"; id: number; hook: HookName; contextId: number }
  | { t: "dispose"; contextId: number }
  | { t: "auth"; token: string | null }
  /** The shell is done with the worker: dispose every context (signals abort), close the server, exit. */
  | { t: "close" }
  | { t: "invoke"; id: number; channel: string; payload: unknown }
  | { t: "reply"; id: number; ok: true; value: unknown }
  | { t: "reply"; id: number; ok: false; error: SerialisedError };

export type LogLevel = "debug" | "info" | "warn" | "error";
export type ConfigOp = "get" | "set" | "delete" | "getAll";

/** Worker → shell. */
export type FromWorker =
  | { t: "loaded"; hasOnResume: boolean; entryFile: string; loadMs: number }
  | { t: "load-failed"; error: SerialisedError }
  | { t: "pong"; seq: number; heapUsedBytes: number }
  | { t: "hook-done"; id: number; ok: true }
  | { t: "hook-done"; id: number; ok: false; error: SerialisedError }
  | { t: "log"; level: LogLevel; tag: string; message: string; data: unknown[] }
  | { t: "config"; id: number; contextId: number; op: ConfigOp; args: unknown[] }
  | { t: "ipc-handle"; contextId: number; channel: string }
  | { t: "ipc-send"; contextId: number; channel: string; payload: unknown }
  | { t: "route"; contextId: number; mountId: number; path: string; socketPath: string }
  | { t: "invoke-done"; id: number; ok: true; value: unknown }
  | { t: "invoke-done"; id: number; ok: false; error: SerialisedError };

/** Marks an Error inside logged data, which a structured clone would strip of its class and code. */
export const ERROR_MARK = "__hangarSerialisedError";

/** Response header the worker's HTTP server uses to say "no route answered" or "the route failed". */
export const OUTCOME_HEADER = "x-hangar-outcome";
/** Request headers the shell adds: which mount the request is for, and the base URL the mount strips. */
export const MOUNT_HEADER = "x-hangar-mount";
export const BASE_HEADER = "x-hangar-base";

export function serialiseError(error: unknown): SerialisedError {
  if (error instanceof Error) {
    const extra = error as Error & {
      code?: unknown;
      status?: unknown;
      statusCode?: unknown;
      expose?: unknown;
    };
    const status = typeof extra.status === "number" ? extra.status : extra.statusCode;
    return {
      name: error.name,
      message: error.message,
      ...(error.stack ? { stack: error.stack } : {}),
      ...(typeof extra.code === "string" ? { code: extra.code } : {}),
      ...(typeof status === "number" ? { status } : {}),
      ...(typeof extra.expose === "boolean" ? { expose: extra.expose } : {}),
    };
  }
  let message: string;
  try {
    message = typeof error === "string" ? error : (JSON.stringify(error) ?? String(error));
  } catch {
    message = String(error);
  }
  return { name: "Error", message };
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
