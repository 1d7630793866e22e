// While testPluginLifecycle runs, the test runner's own uncaughtException/unhandledRejection listeners (node:test,
// mocha, ...) are set aside: Node calls every listener, so the runner would also see a plugin's crash that the
// shell's containment turns into a reported problem, and fail the test with it. Errors the containment does not
// handle (not attributed to a plugin) are forwarded to the runner's listeners, which see them as before.
import { isContainedByGuard, isGuardListener } from "../containment/process-guard.js";

type Origin = "uncaughtException" | "unhandledRejection";
type Listener = (...args: unknown[]) => void;

const ORIGINS: readonly Origin[] = ["uncaughtException", "unhandledRejection"];

interface Aside {
  /** Runs of testPluginLifecycle in progress (concurrent tests share one aside). */
  users: number;
  readonly saved: Record<Origin, Listener[]>;
  readonly forwarders: Record<Origin, Listener>;
}

let aside: Aside | null = null;

/**
 * Sets the runner's listeners aside until the returned function is called (reference-counted; the last call
 * puts them back exactly, in their order, before any listener added meanwhile). Nothing is set aside when the
 * process has no such listeners: the shell's guard then behaves as Node would.
 */
export function setRunnerListenersAside(): () => void {
  if (aside === null) aside = takeAside();
  const current = aside;
  if (current === null) return () => {};
  current.users += 1;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    current.users -= 1;
    if (current.users === 0 && aside === current) {
      aside = null;
      restore(current);
    }
  };
}

function takeAside(): Aside | null {
  const saved = { uncaughtException: [], unhandledRejection: [] } as Record<Origin, Listener[]>;
  for (const origin of ORIGINS) {
    // Raw listeners keep `once` wrappers, so putting them back keeps their meaning.
    saved[origin] = (process.rawListeners(origin) as Listener[]).filter((l) => !isGuardListener(l));
  }
  if (saved.uncaughtException.length === 0 && saved.unhandledRejection.length === 0) return null;
  const forward =
    (origin: Origin): Listener =>
    (...args) => {
      if (isContainedByGuard(args[0])) return;
      for (const listener of [...saved[origin]]) {
        // A `once` wrapper removes itself when called: it must not come back on restore either.
        if ((listener as { listener?: unknown }).listener !== undefined)
          saved[origin] = saved[origin].filter((l) => l !== listener);
        listener.apply(process, args);
      }
    };
  const forwarders = {
    uncaughtException: forward("uncaughtException"),
    unhandledRejection: forward("unhandledRejection"),
  };
  for (const origin of ORIGINS) {
    for (const listener of saved[origin]) process.removeListener(origin, listener);
    if (saved[origin].length > 0) process.on(origin, forwarders[origin]);
  }
  return { users: 0, saved, forwarders };
}

function restore(current: Aside): void {
  for (const origin of ORIGINS) {
    process.removeListener(origin, current.forwarders[origin]);
    const added = process.rawListeners(origin) as Listener[];
    for (const listener of added) process.removeListener(origin, listener);
    for (const listener of [...current.saved[origin], ...added]) process.on(origin, listener);
  }
}
