// What an in-process plugin's context left running once it was disposed: the timers, intervals, servers and file
// watchers its code created (in its hooks, routes, IPC handlers and what they scheduled) and did not close. Created
// resources are noted by an async_hooks init hook, keyed by the context of the plugin scope they were created in
// (attribution.ts); liveness is read only when the context is disposed (docs/lifecycle.md, "Leftover timers").
import { createHook } from "node:async_hooks";
import { currentScope } from "./attribution.js";

/** A kind of leftover, as the warning names it (singular). */
export type LeftoverKind = "interval" | "timeout" | "server" | "file watcher";

/** How many of each kind a context left running; only kinds with at least one are present. */
export type LeftoverCounts = Partial<Record<LeftoverKind, number>>;

/** A resource a context's code created: a Node `Timeout`, or a handle wrap (a listening server, a watcher). */
interface Created {
  readonly kind: "timer" | "server" | "file watcher";
  readonly resource: object;
}

/** What one context's code created that may still be alive, pruned of the dead now and then. */
class CreatedBy {
  readonly items: Created[] = [];
  /** The length at which the dead are pruned: twice what was alive at the last pruning, at least 64. */
  pruneAt = 64;
}

const byContext = new WeakMap<object, CreatedBy>();

/** A `Timeout` (setTimeout / setInterval) that will still fire and keeps the process alive. */
function timerAlive(timer: NodeJS.Timeout): boolean {
  // `_destroyed`: set by clearTimeout/clearInterval and when a one-shot timer has fired (Node's timers.js).
  return (timer as NodeJS.Timeout & { _destroyed?: boolean })._destroyed !== true && timer.hasRef();
}

/** A handle wrap that is open and referenced: a closed one answers undefined (a closing one still true). */
function handleAlive(handle: object): boolean {
  return (handle as { hasRef?: () => unknown }).hasRef?.() === true;
}

function alive(created: Created): boolean {
  return created.kind === "timer"
    ? timerAlive(created.resource as NodeJS.Timeout)
    : handleAlive(created.resource);
}

/**
 * Called by Node for every async resource created in the process (promises included, while any hook wants init):
 * so it returns at once for the types it does not track, and does nothing outside a plugin context's scope.
 */
function init(_asyncId: number, type: string, _trigger: number, resource: object): void {
  let kind: Created["kind"];
  switch (type) {
    case "Timeout":
      kind = "timer";
      break;
    case "TCPSERVERWRAP":
    case "PIPESERVERWRAP":
      kind = "server";
      break;
    case "FSEVENTWRAP":
    case "STATWATCHER":
      kind = "file watcher";
      break;
    default:
      return;
  }
  const context = currentScope()?.context;
  // Module evaluation (null) keeps its timers for the module's life; a stack-attributed scope (undefined) has none.
  if (!context) return;
  let created = byContext.get(context);
  if (!created) {
    created = new CreatedBy();
    byContext.set(context, created);
  }
  created.items.push({ kind, resource });
  // A plugin that sets a timeout per request must not grow this list: the dead go, amortised over the pushes.
  if (created.items.length >= created.pruneAt) {
    const live = created.items.filter(alive);
    created.items.length = 0;
    created.items.push(...live);
    created.pruneAt = Math.max(64, live.length * 2);
  }
}

const hook = createHook({ init });
let users = 0;

/**
 * Whether noting what contexts create is cheap in this Node: on Node 20 and 22, AsyncLocalStorage (which hangar's
 * containment uses) already runs an init hook for every promise, and this one adds one call that returns at once.
 * Where AsyncLocalStorage runs on AsyncContextFrame (Node 24 by default, Node 22 with
 * `--experimental-async-context-frame`), an init hook would turn on promise hooks for the whole process, a cost
 * on every request: there, leftovers are not tracked (hangar/testing still reports them).
 */
export function leftoverTrackingIsCheap(
  version: string = process.versions.node,
  options: readonly string[] = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)],
): boolean {
  const major = Number(version.split(".")[0]);
  if (major >= 24) return options.includes("--no-async-context-frame");
  return !options.includes("--experimental-async-context-frame");
}

/**
 * Starts noting what plugin contexts create (reference-counted: each running shell holds one). Returns the
 * release; releasing twice is harmless. Does nothing where {@link leftoverTrackingIsCheap} is false.
 */
export function trackLeftovers(): () => void {
  if (!leftoverTrackingIsCheap()) return () => {};
  if (users++ === 0) hook.enable();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--users === 0) hook.disable();
  };
}

/**
 * What the code of `context` (a PluginContextHandle, as its scope names it) created and is still running, counted
 * by kind; null when nothing is. Forgets the context: a leftover is reported once.
 */
export function takeLeftovers(context: object): LeftoverCounts | null {
  const created = byContext.get(context);
  if (!created) return null;
  byContext.delete(context);
  let counts: LeftoverCounts | null = null;
  for (const item of created.items) {
    if (!alive(item)) continue;
    const kind = leftoverKind(item);
    counts ??= {};
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

function leftoverKind({ kind, resource }: Created): LeftoverKind {
  if (kind !== "timer") return kind;
  // `_repeat`: the interval's period, null for a one-shot timer (Node's timers.js).
  return typeof (resource as { _repeat?: unknown })._repeat === "number" ? "interval" : "timeout";
}

/** `2 intervals and 1 server`: the counts in words, in a fixed order. */
export function describeLeftovers(counts: LeftoverCounts): string {
  const order: LeftoverKind[] = ["interval", "timeout", "server", "file watcher"];
  const parts = order
    .filter((kind) => (counts[kind] ?? 0) > 0)
    .map((kind) => `${counts[kind]} ${kind}${counts[kind] === 1 ? "" : "s"}`);
  return parts.length <= 1 ? parts.join("") : `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`;
}
