// The loading thread's side of the builder thread (build-worker.ts): starts it on the first build, sends it each
// generation to build and turns its answers back into results or errors. Starting a worker does not wait for
// it (unlike module.register's hooks thread on Node 20), so the loading thread is never blocked by esbuild.

import { Worker } from "node:worker_threads";
import { clearTimeout, setTimeout } from "../base/timers.js";
import type { BuildReply, BuildRequest } from "./build-worker.js";
import type { BuiltGeneration, GenerationBuild } from "./bundle.js";

/** How long the builder thread (and esbuild's process) stays up with nothing to build. */
const IDLE_MS = 60_000;

let worker: Worker | null = null;
let idleTimer: NodeJS.Timeout | null = null;
let nextId = 1;
const pending = new Map<number, { resolve(built: BuiltGeneration): void; reject(error: Error): void }>();
// Requests with a cache file: told what became of the cache entry (null: written), after the build's answer.
const cacheListeners = new Map<number, (note: string | null) => void>();

function workerEntry(): { filename: string | URL; options: { eval?: boolean } } {
  const here = new URL(import.meta.url);
  if (here.pathname.endsWith(".ts")) {
    // Running from source (tests): a worker does not inherit the parent's TypeScript loader, so it registers tsx.
    const tsx = import.meta.resolve("tsx/esm/api");
    const entry = new URL("./build-worker.ts", here).href;
    return {
      filename: `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`,
      options: { eval: true },
    };
  }
  return { filename: new URL("./build-worker.js", here), options: {} };
}

function startWorker(): Worker {
  const entry = workerEntry();
  const started = new Worker(entry.filename, {
    ...entry.options,
    name: "hangar module builder",
    // A worker inherits the parent's flags, but refuses --input-type (a `node --input-type=module -e` host);
    // passing a filtered list instead would refuse per-process flags such as --expose-gc.
    ...(process.execArgv.some((flag) => flag.startsWith("--input-type")) ? { execArgv: [] } : {}),
  });
  started.on("message", (reply: BuildReply) => settle(reply));
  const fail = (error: Error) => {
    if (worker === started) worker = null;
    for (const [id, waiting] of pending) {
      pending.delete(id);
      waiting.reject(error);
    }
    cacheListeners.clear();
  };
  started.on("error", fail);
  started.on("exit", (code) => fail(new Error(`hangar's module builder thread exited (code ${code})`)));
  return started;
}

function settle(reply: BuildReply): void {
  if ("cached" in reply) {
    cacheListeners.get(reply.id)?.(reply.cached);
    cacheListeners.delete(reply.id);
    return;
  }
  if ("error" in reply) cacheListeners.delete(reply.id);
  const waiting = pending.get(reply.id);
  if (waiting === undefined) return;
  pending.delete(reply.id);
  if ("built" in reply) waiting.resolve(reply.built);
  else {
    const { name, message, code, stack } = reply.error;
    const error = name === "SyntaxError" ? new SyntaxError(message) : new Error(message);
    if (code !== undefined) Object.assign(error, { code });
    if (stack !== undefined) error.stack = stack;
    waiting.reject(error);
  }
  if (pending.size === 0) {
    // An idle builder never keeps the process alive; a pending build does, as any awaited I/O would.
    worker?.unref();
    idleTimer = setTimeout(stopBuilder, IDLE_MS);
    idleTimer.unref();
  }
}

/** Ends the builder thread (and with it esbuild's process); the next build starts it again. */
function stopBuilder(): void {
  const ending = worker;
  worker = null;
  void ending?.terminate();
}

/**
 * Starts the builder thread (and esbuild's process under it) ahead of the first build, without keeping the
 * process alive: the loader calls it as soon as a TypeScript plugin misses the build cache, so that the thread
 * boots while that plugin's neighbours are still being looked up and imported. Unused, the thread ends after the
 * usual idle time. Does nothing when it is already running.
 */
export function warmBuilder(): void {
  if (worker !== null) return;
  worker = startWorker();
  worker.unref();
  idleTimer = setTimeout(stopBuilder, IDLE_MS);
  idleTimer.unref();
}

/**
 * Builds one generation of a plugin in the builder thread; resolves with the CommonJS code or the ES module file.
 *
 * With `build.cacheFile`, the builder thread then keeps a CommonJS generation there (build-cache.ts) and
 * `onCached` is told how that went: null when written, else why not (a read-only folder, a file that changed
 * while it was built), for a debug line.
 *
 * @throws what bundle.ts's buildGeneration throws (message, name and `code` kept), or an Error when the
 *   builder thread itself fails.
 */
export function buildInBuilder(
  build: GenerationBuild,
  onCached?: (note: string | null) => void,
): Promise<BuiltGeneration> {
  if (idleTimer !== null) clearTimeout(idleTimer);
  idleTimer = null;
  worker ??= startWorker();
  worker.ref();
  const id = nextId++;
  const request: BuildRequest = { id, ...build };
  return new Promise<BuiltGeneration>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    if (onCached !== undefined && build.cacheFile !== undefined) cacheListeners.set(id, onCached);
    worker!.postMessage(request);
  });
}
