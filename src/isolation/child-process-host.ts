// A headless host for isolated plugins: each runs in its own Node process (child_process.fork) instead of a worker
// thread, speaking the same messages over the process's IPC channel (docs/isolation.md, "Headless: a Node process
// per plugin").
// A process contains what a thread cannot: a heap exhaustion V8 cannot recover from aborts only that process
// (nodejs/node#47224), and so does a native addon's crash.
import { type ChildProcess, fork } from "node:child_process";
import { accessSync, constants } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { clearTimeout, setTimeout } from "../base/timers.js";
import { ISOLATE_SIGNAL, type Isolate, type IsolationHost, isolateEntry, workerExecArgv } from "./isolate.js";
import type { FromWorker, ToWorker } from "./protocol.js";

/** How long a process asked to end (SIGTERM) has before it is killed outright (SIGKILL), in ms. */
export const CHILD_KILL_GRACE_MS = 500;

/** How long after a child's exit the shell waits for its stdio and IPC channel to drain, in ms. */
const CLOSE_WAIT_MS = 1_000;

/** How much of a child's stderr the shell keeps, to read why it died (V8 prints its fatal error there). */
const STDERR_TAIL_BYTES = 8 * 1024;

/**
 * What V8 prints when a heap limit ends a process: `FATAL ERROR: Reached heap limit Allocation failed - JavaScript
 * heap out of memory`, `FATAL ERROR: CALL_AND_RETRY_LAST Allocation failed - …`, `… invalid table size …`.
 */
const OUT_OF_MEMORY =
  /FATAL ERROR:[^\n]*(heap out of memory|Reached heap limit|CALL_AND_RETRY_LAST|invalid (table|array) (size|length))/;

/** Node options the child must not inherit: preloads (as for a worker) and a debugger on the parent's port. */
function childExecArgv(): string[] {
  const kept: string[] = [];
  const options = workerExecArgv();
  for (let i = 0; i < options.length; i += 1) {
    const option = options[i]!;
    if (!/^--inspect(-brk|-port|-wait)?(=|$)/.test(option)) kept.push(option);
    // `--inspect-port 9230`: the port is the next argument.
    else if (option === "--inspect-port") i += 1;
  }
  return kept;
}

/**
 * util-linux's `setpriv`, found once on Linux: forking through `setpriv --pdeathsig KILL` makes the kernel kill the
 * child when the shell dies (PR_SET_PDEATHSIG, kept across the exec of node), even when the child's event loop is
 * blocked and it cannot notice its IPC channel closing. null elsewhere (macOS, Windows) or when it is missing.
 */
let setprivPath: string | null | undefined;
function setpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  if (process.platform !== "linux") return setprivPath;
  for (const dir of ["/usr/bin", "/bin", ...(process.env.PATH ?? "").split(path.delimiter)]) {
    if (!dir) continue;
    const candidate = path.join(dir, "setpriv");
    try {
      accessSync(candidate, constants.X_OK);
      setprivPath = candidate;
      break;
    } catch {
      // Not here.
    }
  }
  return setprivPath;
}

/** The exit code a process ended by `signal` reports in a shell: 128 + the signal's number. */
function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0);
}

/**
 * An isolation host that runs each isolated plugin in its own Node process, forked with `child_process.fork`
 * from the running Node (`process.execPath`), for headless shells (`hangar run --isolation-host process`, a plain
 * Node server): `createShell({ isolation: "worker", isolationHost: childProcessHost() })`.
 *
 * - The heap is limited by `--max-old-space-size=<background.memoryLimitMb>`; the process gets the shell's Node
 *   options without its preloads (`--import`, `--require`, …) and without `--inspect*`.
 * - Messages are structured clones (`serialization: "advanced"`): request and response bodies are copied (a
 *   transfer list is a hint, and a process can move nothing).
 * - Out of heap, V8 aborts the process: the plugin crashed, `HANGAR_PLUGIN_CRASHED` "ran out of memory" (read from
 *   the fatal error V8 prints on the child's stderr, which the shell passes on to its own). Any other end
 *   (`process.exit(n)`; a signal hangar did not send, as a native addon's SIGSEGV) is the plugin's crash, naming
 *   the exit code or the signal.
 * - `terminate()` sends SIGTERM, then SIGKILL after {@link CHILD_KILL_GRACE_MS}: a busy loop ends too.
 * - The child ignores SIGINT, so a Ctrl+C in the terminal (sent to the whole process group) is the shell's to
 *   handle: it stops its plugins in order. It does not outlive a shell that was killed (SIGKILL): it exits when its
 *   IPC channel closes, and on Linux, forked through util-linux's `setpriv --pdeathsig KILL` when that is
 *   installed, the kernel kills it with the shell even while its event loop is blocked (a busy loop).
 * - stdout is the shell's; console output is bounded by the same budget as a worker's (console-budget.ts).
 *
 * Costs a whole Node runtime per plugin (RSS and start-up: BENCHMARKS.md, "Isolation"). Not a security sandbox:
 * the process runs as the same OS user.
 */
export function childProcessHost(): IsolationHost {
  return {
    kind: "child process",
    spawn({ boot, memoryLimitMb, onMessage, onExit }): Isolate {
      const entry = isolateEntry();
      const execArgv = [...childExecArgv(), `--max-old-space-size=${memoryLimitMb}`];
      // From source (hangar's own tests), the process registers tsx to run the TypeScript entry.
      if (entry.tsx) execArgv.push("--import", entry.tsx.loader);
      // Through setpriv where there is one: the kernel then ends the child with the shell, busy or not.
      const guard = setpriv();
      const child: ChildProcess = fork(fileURLToPath(entry.file), [], {
        ...(guard
          ? { execPath: guard, execArgv: ["--pdeathsig", "KILL", "--", process.execPath, ...execArgv] }
          : { execArgv }),
        stdio: ["ignore", "inherit", "pipe", "ipc"],
        serialization: "advanced",
      });
      let ended = false;
      /** hangar sent the signal that ends it (terminate): not the plugin's crash. */
      let killed = false;
      let stderrTail = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        process.stderr.write(chunk);
        stderrTail = (stderrTail + chunk.toString("utf8")).slice(-STDERR_TAIL_BYTES);
      });
      child.on("message", (message) => onMessage(message as FromWorker));
      // A failed send (the channel closed under it) or spawn: the exit, when it comes, is what is reported.
      child.on("error", () => {});
      // 'close' comes after stdio and the IPC channel are drained: every message and the last stderr line are in.
      // A grandchild the plugin started may hold the stderr pipe open, though: then the exit is reported shortly
      // after 'exit' without waiting for 'close'.
      const exited = new Promise<void>((resolve) => {
        let reported = false;
        const report = (code: number | null, signal: NodeJS.Signals | null): void => {
          if (reported) return;
          reported = true;
          ended = true;
          const oom = OUT_OF_MEMORY.exec(stderrTail);
          const error = oom
            ? Object.assign(new Error(`V8 ended the plugin's process: ${oom[0]}`), {
                code: "ERR_WORKER_OUT_OF_MEMORY",
              })
            : signal && !killed
              ? Object.assign(new Error(`The plugin's process was ended by ${signal}`), {
                  code: ISOLATE_SIGNAL,
                  signal,
                })
              : null;
          onExit(exitCodeOf(code, signal), error);
          resolve();
        };
        child.on("close", report);
        child.on("exit", (code, signal) => {
          ended = true;
          setTimeout(() => report(code, signal), CLOSE_WAIT_MS).unref();
        });
      });
      const send = (message: ToWorker): void => {
        if (ended || !child.connected) return;
        child.send(message, (error) => {
          // The channel closed between the check and the write: the process is ending, its exit reports it.
          void error;
        });
      };
      send({ t: "boot", boot });
      return {
        threadId: 0,
        get pid() {
          return child.pid ?? null;
        },
        postMessage: (message) => send(message),
        terminate: async () => {
          if (ended) return exited;
          killed = true;
          child.kill("SIGTERM");
          const timer = setTimeout(() => {
            // A plugin that handles SIGTERM itself, or a process stuck in native code, is killed outright.
            if (!ended) child.kill("SIGKILL");
          }, CHILD_KILL_GRACE_MS);
          await exited;
          clearTimeout(timer);
        },
      };
    },
  };
}
