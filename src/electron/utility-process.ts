// hangar/electron's host for isolated plugins: each runs in its own Electron utility process (a Node process
// Electron starts and supervises) instead of a worker thread, speaking the same messages (docs/isolation.md).

import { fileURLToPath } from "node:url";
import { clearTimeout, setTimeout } from "../base/timers.js";
import { createError } from "../errors.js";
import { type Isolate, type IsolationHost, isolateEntry } from "../isolation/isolate.js";
import type { FromWorker, ToWorker } from "../isolation/protocol.js";
import type { ElectronUtilityProcessModule } from "./electron-types.js";

/** How long a process asked to end (SIGTERM, via kill()) has before it is killed outright. */
const KILL_GRACE_MS = 1_000;

/**
 * An isolation host that runs each isolated plugin in its own `utilityProcess` (SPEC §12), for
 * `createShell({ isolation: "worker", isolationHost: utilityProcessHost(utilityProcess) })`. Pass Electron's
 * `utilityProcess` module (hangar never imports electron); fork only after `app` is ready, as Electron requires.
 *
 * The plugin's heap is limited by `--max-old-space-size` (`background.memoryLimitMb`); a process that ends is that
 * plugin's crash (`HANGAR_PLUGIN_CRASHED`, with its exit code, or its uncaught error when it had one); a process
 * that stops answering is ended (`HANGAR_PLUGIN_UNRESPONSIVE`) with `kill()`, then SIGKILL after 1 s.
 */
export function utilityProcessHost(utilityProcess: ElectronUtilityProcessModule): IsolationHost {
  if (typeof utilityProcess?.fork !== "function") {
    throw createError("HANGAR_SHELL_OPTIONS", "utilityProcess");
  }
  return {
    kind: "utility process",
    spawn({ boot, name, memoryLimitMb, onMessage, onExit }): Isolate {
      const entry = isolateEntry();
      const execArgv = [`--max-old-space-size=${memoryLimitMb}`];
      // From source (hangar's own tests), the process registers tsx to run the TypeScript entry.
      if (entry.tsx) execArgv.push("--import", entry.tsx.loader);
      const child = utilityProcess.fork(fileURLToPath(entry.file), [], {
        serviceName: name,
        execArgv,
        stdio: "inherit",
      });
      let fatalError: Error | null = null;
      child.on("message", (message) => onMessage(message as FromWorker));
      child.on("error", (type, location) => {
        // Electron reports V8's fatal errors this way; running out of heap is the one a plugin causes.
        fatalError = Object.assign(new Error(`${type} in the plugin's process at ${location}`), {
          code: "ERR_WORKER_OUT_OF_MEMORY",
        });
      });
      let pid: number | null = child.pid ?? null;
      child.on("spawn", () => {
        pid = child.pid ?? null;
      });
      const exited = new Promise<void>((resolve) => {
        child.on("exit", (code) => {
          onExit(code, fatalError);
          resolve();
        });
      });
      let ended = false;
      exited.then(() => {
        ended = true;
      });
      // Messages posted before 'spawn' are queued by Electron; boot comes first.
      child.postMessage({ t: "boot", boot } satisfies ToWorker);
      return {
        threadId: 0,
        get pid() {
          return pid;
        },
        postMessage: (message) => {
          if (!ended) child.postMessage(message);
        },
        terminate: async () => {
          if (ended) return;
          child.kill();
          const timer = setTimeout(() => {
            // A plugin that ignores SIGTERM (its own handler, a native hang) is killed outright.
            if (!ended && pid !== null) {
              try {
                process.kill(pid, "SIGKILL");
              } catch {
                // Already gone.
              }
            }
          }, KILL_GRACE_MS);
          await exited;
          clearTimeout(timer);
        },
      };
    },
  };
}
