// Where an isolated plugin runs: a Node worker thread (the default), or whatever an embedder provides through
// the IsolationHost interface (in Electron, a utilityProcess: hangar/electron's utilityProcessHost). The shell's
// side (plugin-worker.ts) and the isolate's side (worker-main.ts) speak the same messages over either.
import { Worker } from "node:worker_threads";
import type { FromWorker, ToWorker, WorkerBoot } from "./protocol.js";

/** What a host needs to start one isolate, and where it reports back. */
export interface IsolateSpawn {
  /** What the isolate's entry needs to load its plugin (worker-main.ts). */
  boot: WorkerBoot;
  /** A name for the thread or process, `hangar:<plugin id>`. */
  name: string;
  /** The isolate's heap limit (`background.memoryLimitMb`), in MB. */
  memoryLimitMb: number;
  /** Every message the isolate sends. */
  onMessage(message: FromWorker): void;
  /**
   * The isolate ended, with its exit code and, when it died of one, the error (an uncaught exception, or
   * `code: "ERR_WORKER_OUT_OF_MEMORY"` when it ran out of heap, or `code:` {@link ISOLATE_SIGNAL} with `signal` when
   * a process was ended by a signal hangar did not send). Called once.
   */
  onExit(exitCode: number, error: Error | null): void;
}

/** The `code` of the error a host reports for a process ended by a signal it did not send (e.g. SIGSEGV). */
export const ISOLATE_SIGNAL = "ERR_ISOLATE_SIGNAL";

/** One running isolate, as the shell drives it. */
export interface Isolate {
  /** The worker's `threadId`; 0 for a process (its main thread). */
  readonly threadId: number;
  /** The process id when the isolate is a process; null for a worker thread. */
  readonly pid: number | null;
  /** Sends a message; `transfer` lists ArrayBuffers that may move instead of being copied (a hint). */
  postMessage(message: ToWorker, transfer?: ArrayBuffer[]): void;
  /** Ends the isolate at once, a busy loop included; settles once it has exited (after `onExit`). */
  terminate(): Promise<void>;
}

/**
 * Starts isolates for isolated plugins (SPEC §12). The default runs each in a Node worker thread; hangar/electron's
 * `utilityProcessHost(utilityProcess)` runs each in an Electron utility process instead. Pass one to
 * `createShell({ isolationHost })`.
 */
export interface IsolationHost {
  /** Shown in logs and docs: `"worker thread"`, `"utility process"`. */
  readonly kind: string;
  /** Starts one isolate running hangar's isolate entry (worker-main) with `spawn.boot`. */
  spawn(spawn: IsolateSpawn): Isolate;
}

/**
 * The isolate entry module beside this file: `.js` in dist/; from source (under tsx or vitest) the `.ts` file,
 * which a new thread or process can only run after registering tsx: `tsx` then holds the URLs of its API (for a
 * thread) and of its `--import` loader (for a process). hangar's own tests run from source but boot isolates from
 * the built dist/ entry when `HANGAR_ISOLATE_FROM_DIST=1` (set by test/global-setup.ts once dist/ is current):
 * booting tsx costs each worker about a second and 5 MB.
 */
export function isolateEntry(): { file: URL; tsx: { api: string; loader: string } | null } {
  const here = new URL(import.meta.url);
  if (here.pathname.endsWith(".ts")) {
    if (process.env.HANGAR_ISOLATE_FROM_DIST === "1") {
      return { file: new URL("../../dist/isolation/worker-main.js", here), tsx: null };
    }
    return {
      file: new URL("./worker-main.ts", here),
      tsx: { api: import.meta.resolve("tsx/esm/api"), loader: import.meta.resolve("tsx") },
    };
  }
  return { file: new URL("./worker-main.js", here), tsx: null };
}

/** Node options that load code before the entry: `--import x`, `--require=x`, `-r x`, `--loader x`, … */
const PRELOAD_OPTIONS = new Set(["--import", "--require", "-r", "--loader", "--experimental-loader"]);

/**
 * The process's Node options for a plugin's worker, without its preloads. A worker inherits `process.execArgv`
 * by default, preloads included: a shell started with `node --import tsx` (or `tsx app.ts`) would boot tsx in
 * every worker, about 5 MB and a second each, though the worker needs no loader (hangar builds a TypeScript entry
 * itself, docs/loader.md). Other options (`--conditions`, `--enable-source-maps`, …) are kept.
 */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i += 1) {
    const option = execArgv[i]!;
    const name = option.startsWith("--") ? option.split("=", 1)[0]! : option;
    if (!PRELOAD_OPTIONS.has(name)) kept.push(option);
    // `--import x`: the value is the next argument; `--import=x` carries it.
    else if (!option.includes("=")) i += 1;
  }
  return kept;
}

/** A worker for `entry`, with `execArgv` when given (else the process's, as Node's default). */
function createWorker(
  entry: ReturnType<typeof isolateEntry>,
  options: { workerData: WorkerBoot; name: string; resourceLimits: { maxOldGenerationSizeMb: number } },
  execArgv: string[] | null,
): Worker {
  const argv = execArgv ? { execArgv } : {};
  // A worker does not inherit the parent's TypeScript loader: from source, it registers tsx first.
  if (entry.tsx) {
    return new Worker(
      `import(${JSON.stringify(entry.tsx.api)}).then((api) => { api.register(); return import(${JSON.stringify(entry.file.href)}); });`,
      { ...options, ...argv, eval: true },
    );
  }
  // The plugin's own console output goes to the shell's stdout/stderr as it would in-process.
  return new Worker(entry.file, { ...options, ...argv, stdout: false, stderr: false });
}

/** The default host: one Node worker thread per isolated plugin, its heap limited by `resourceLimits`. */
export const workerThreadHost: IsolationHost = {
  kind: "worker thread",
  spawn({ boot, name, memoryLimitMb, onMessage, onExit }) {
    const entry = isolateEntry();
    const options = { workerData: boot, name, resourceLimits: { maxOldGenerationSizeMb: memoryLimitMb } };
    const execArgv = workerExecArgv();
    let worker: Worker;
    if (execArgv.length === process.execArgv.length) {
      worker = createWorker(entry, options, null);
    } else {
      try {
        worker = createWorker(entry, options, execArgv);
      } catch (error) {
        // Node refuses some options in a worker's explicit execArgv (V8's, like --expose-gc, and per-process ones)
        // though it lets a worker inherit them: then the worker inherits everything, preloads included.
        if ((error as { code?: unknown }).code !== "ERR_WORKER_INVALID_EXEC_ARGV") throw error;
        worker = createWorker(entry, options, null);
      }
    }
    let exitError: Error | null = null;
    worker.on("message", onMessage);
    worker.on("error", (error) => {
      exitError = error;
    });
    const exited = new Promise<void>((resolve) => {
      worker.on("exit", (exitCode) => {
        onExit(exitCode, exitError);
        resolve();
      });
    });
    return {
      threadId: worker.threadId,
      pid: null,
      postMessage: (message, transfer) => worker.postMessage(message, transfer),
      terminate: async () => {
        await worker.terminate();
        await exited;
      },
    };
  },
};
