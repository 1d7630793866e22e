// Which long-lived resources (timers, servers, sockets, file watchers) a plugin's own hook calls created, and
// which of them are still alive: async_hooks, scoped by an AsyncLocalStorage entered around each hook call, so
// nothing else in the process (the test runner, other tests, hangar itself outside the hook) is counted.
import { AsyncLocalStorage, createHook } from "node:async_hooks";
import { fileURLToPath } from "node:url";

/** Resource types that keep the event loop alive until the plugin releases them. */
const TRACKED = new Set([
  "Timeout",
  "TCPSERVERWRAP",
  "TCPWRAP",
  "UDPWRAP",
  "PIPESERVERWRAP",
  "PIPEWRAP",
  "FSEVENTWRAP",
  "STATWATCHER",
]);

/** One resource a hook created and has not released. */
export interface HookResource {
  /** Node's async resource type: `Timeout` for setTimeout/setInterval, `TCPSERVERWRAP` for a listening server. */
  type: string;
  /** The hook call it came from, e.g. `onStart`. */
  hook: string;
  /** Where in the plugin it was created: the first stack frame outside hangar and Node. */
  at: string | null;
}

interface Entry extends HookResource {
  resource: object;
}

const ownFile = fileURLToPath(import.meta.url);

/** Tracks what the code run through {@link HookResources.run} creates, until {@link HookResources.close}. */
export class HookResources {
  readonly #scope = new AsyncLocalStorage<string>();
  readonly #live = new Map<number, Entry>();
  readonly #hook = createHook({
    init: (asyncId, type, _trigger, resource) => {
      if (!TRACKED.has(type)) return;
      // The store of the code that created the resource: set only inside (and downstream of) a hook call.
      const hook = this.#scope.getStore();
      if (hook === undefined) return;
      this.#live.set(asyncId, {
        type,
        hook,
        at: creationSite(new Error().stack),
        resource: resource as object,
      });
    },
    destroy: (asyncId) => {
      this.#live.delete(asyncId);
    },
  });

  constructor() {
    this.#hook.enable();
  }

  /** Runs `call` (a hook of the plugin) so that whatever it creates, now or later in its callbacks, is tracked. */
  run<T>(hook: string, call: () => T): T {
    return this.#scope.run(hook, call);
  }

  /** What the hooks created and is still alive, oldest first. */
  live(): HookResource[] {
    return [...this.#live.values()]
      .filter((entry) => isAlive(entry))
      .map(({ type, hook, at }) => ({ type, hook, at }));
  }

  /**
   * Releases every live resource after it was reported: timers are cleared, handles unref'd, so that a plugin's
   * leftover never keeps the test runner's process alive. Returns what was released.
   */
  release(): HookResource[] {
    const released: HookResource[] = [];
    for (const [id, entry] of this.#live) {
      this.#live.delete(id);
      if (!isAlive(entry)) continue;
      released.push({ type: entry.type, hook: entry.hook, at: entry.at });
      if (entry.type === "Timeout") clearTimeout(entry.resource as NodeJS.Timeout);
      else (entry.resource as { unref?: () => void }).unref?.();
    }
    return released;
  }

  /** Stops tracking. What is still alive is left as it is. */
  close(): void {
    this.#hook.disable();
    this.#live.clear();
  }
}

/** A fired one-shot timer may linger until its destroy hook runs: only a pending one counts. */
function isAlive(entry: Entry): boolean {
  if (entry.type !== "Timeout") return true;
  const timer = entry.resource as NodeJS.Timeout & { _destroyed?: boolean };
  return timer._destroyed !== true && timer.hasRef !== undefined;
}

function creationSite(stack: string | undefined): string | null {
  for (const line of (stack ?? "").split("\n").slice(1)) {
    const frame = line.trim().replace(/^at\s+/, "");
    if (frame.includes(ownFile) || frame.includes("node:") || frame.includes("/hangar/src/testing/"))
      continue;
    if (frame.includes("/src/testing/") || frame.includes("/dist/testing/")) continue;
    // A loader's query string (`?tsx-namespace=…`) is not part of the file the author edits.
    return frame.replace(/\?[^:)\s]*(?=:\d+:\d+)/, "");
  }
  return null;
}
