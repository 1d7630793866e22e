// The process-level half of containment (SPEC §11): uncaughtException and unhandledRejection handlers and a
// guarded process.exit, installed while at least one shell runs (reference-counted) and removed with the last.
// After the last stop, a smaller guard stays: it contains only errors of plugin code left behind by a stopped
// shell and otherwise does what Node does with no listener (docs/lifecycle.md, "After shell.stop()").
import { inspect } from "node:util";
import { describeThrown, safeThrown } from "../thrown.js";
import {
  attributeError,
  type ContainmentOwner,
  currentScope,
  type FaultOrigin,
  wasReported,
} from "./attribution.js";

interface Installed {
  readonly owners: Set<ContainmentOwner>;
  readonly onException: (error: unknown) => void;
  readonly onRejection: (reason: unknown) => void;
  readonly guardedExit: (code?: number | string | null) => never;
  readonly realExit: typeof process.exit;
}

let installed: Installed | null = null;
let shuttingDown = false;
/** process.exit as it was before hangar first guarded it. */
let originalExit: typeof process.exit | null = null;

/** The after-stop guard's listeners, present from the first release of the guard while no shell runs. */
interface AfterStop {
  readonly onException: (error: unknown) => void;
  readonly onRejection: (reason: unknown) => void;
}
let afterStop: AfterStop | null = null;

/**
 * Installs the handlers for `owner` (the first owner installs them, the last release removes them and
 * restores process.exit). Returns the release function; calling it twice is harmless.
 *
 * - An error attributed to a plugin goes to its owner (`contain`), whatever other listeners exist.
 * - An error no plugin owns keeps Node's meaning when hangar's are the only listeners: every owner logs it and
 *   shuts down, then the process exits 1. When the host has listeners of its own (Electron main, a test
 *   runner), hangar leaves those errors to them.
 * - process.exit() called by plugin code throws the owner's `HANGAR_PROCESS_EXIT` at the call; any other
 *   caller gets the real process.exit.
 */
export function installProcessGuard(owner: ContainmentOwner): () => void {
  if (installed === null) {
    removeAfterStop();
    installed = install();
  }
  const current = installed;
  current.owners.add(owner);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    current.owners.delete(owner);
    if (current.owners.size === 0 && installed === current) uninstall(current);
  };
}

/**
 * The guard's two listeners: an error attributed to a plugin goes to its owner's `contain`; one no plugin owns is
 * left to the host's own listeners when it has some, else to `unattributed`. A listener that throws is fatal to
 * the process: whatever was thrown (a Proxy, a throwing stack getter, a 5 MB message) is read through
 * safeThrown, and a defect of hangar's own is written out, not rethrown.
 */
function listeners(unattributed: (error: unknown, origin: FaultOrigin) => void): {
  onException: (error: unknown) => void;
  onRejection: (reason: unknown) => void;
} {
  const handle = (thrown: unknown, origin: FaultOrigin, listener: (...args: never[]) => void): void => {
    try {
      if (wasReported(thrown)) return;
      const error = safeThrown(thrown);
      const scope = attributeError(error);
      if (scope) {
        scope.owner.contain(scope, error, origin);
        return;
      }
      if ((process.listeners as (event: string) => unknown[])(origin).some((other) => other !== listener))
        return;
      unattributed(error, origin);
    } catch (defect) {
      process.stderr.write(
        `hangar: failed to handle an ${origin} (${describeThrown(thrown).message}): ${describeThrown(defect).message}\n`,
      );
    }
  };
  const onException = (error: unknown): void => handle(error, "uncaughtException", onException);
  const onRejection = (reason: unknown): void => handle(reason, "unhandledRejection", onRejection);
  return { onException, onRejection };
}

function install(): Installed {
  const owners = new Set<ContainmentOwner>();
  const realExit = process.exit;
  originalExit ??= realExit;
  const { onException, onRejection } = listeners((error, origin) => void failUnattributed(error, origin));

  const failUnattributed = async (error: unknown, origin: FaultOrigin): Promise<void> => {
    if (shuttingDown) {
      process.stderr.write(
        `hangar: another ${origin} while shutting down: ${describeThrown(error).message}\n`,
      );
      return;
    }
    shuttingDown = true;
    await Promise.allSettled([...owners].map((owner) => owner.failUnattributed(error, origin)));
    realExit.call(process, 1);
  };

  const guardedExit = function exit(code?: number | string | null): never {
    const scope = currentScope() ?? attributeError(new Error("process.exit() called"));
    if (scope) {
      const refusal = scope.owner.refuseExit(scope, code);
      // The stack starts at the plugin's call, not inside hangar's guard.
      Error.captureStackTrace(refusal, guardedExit);
      throw refusal;
    }
    return realExit.call(process, code as number | undefined);
  } as typeof process.exit;

  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);
  process.exit = guardedExit;
  return { owners, onException, onRejection, guardedExit, realExit };
}

function uninstall(current: Installed): void {
  installed = null;
  process.removeListener("uncaughtException", current.onException);
  process.removeListener("unhandledRejection", current.onRejection);
  // Someone patched process.exit after us: leave theirs in place rather than undo it.
  if (process.exit === current.guardedExit) process.exit = current.realExit;
  // A host with listeners of its own (Electron main, a test runner) already keeps a leftover's throw from ending
  // the process: it decides, as it does for errors from no plugin while shells run.
  const hostListens = (["uncaughtException", "unhandledRejection"] as const).every(
    (origin) => process.listenerCount(origin) > 0,
  );
  if (!hostListens) installAfterStop();
}

/**
 * After the last shell stopped, plugin code it left behind (a forgotten interval) may still throw, and the host
 * (a script that creates a new shell later, a server that embeds hangar) lives on. Installed unless the host
 * listens to both uncaughtException and unhandledRejection itself (then no throw ends the process anyway). An
 * error attributed to a stopped shell's plugin by its scope or stack is one warning in that plugin's log (its
 * owner's `contain`). Any other
 * error is left to the host's own listeners when it has some, and otherwise ends the process as Node would with
 * no listener: the error printed to stderr, exit code 1 (an unhandled rejection honours --unhandled-rejections).
 * Why it stays: nothing tells when the last leftover timer, socket or promise is gone.
 */
function installAfterStop(): void {
  if (afterStop !== null) return;
  const { onException, onRejection } = listeners(asNodeWould);
  afterStop = { onException, onRejection };
  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);
}

function removeAfterStop(): void {
  if (afterStop === null) return;
  process.removeListener("uncaughtException", afterStop.onException);
  process.removeListener("unhandledRejection", afterStop.onRejection);
  afterStop = null;
}

/** Node's mode for unhandled rejections (`--unhandled-rejections`, also through NODE_OPTIONS); "throw" by default. */
function rejectionMode(): string {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  const flag = flags.findLast((arg) => arg.startsWith("--unhandled-rejections="));
  return flag?.slice("--unhandled-rejections=".length) ?? "throw";
}

/** What Node does with an error that reaches no listener: print it and exit 1 (or warn, for a rejection so configured). */
function asNodeWould(thrown: unknown, origin: FaultOrigin): void {
  const text = describeFatal(thrown, origin);
  if (origin === "unhandledRejection") {
    const mode = rejectionMode();
    if (mode === "none") return;
    if (mode === "warn" || mode === "warn-with-error-code") {
      process.stderr.write(`(node:${process.pid}) UnhandledPromiseRejectionWarning: ${text}\n`);
      if (mode === "warn-with-error-code") process.exitCode = 1;
      return;
    }
  }
  process.stderr.write(`${text}\n\nNode.js ${process.version}\n`);
  (originalExit ?? process.exit).call(process, 1);
}

function describeFatal(thrown: unknown, origin: FaultOrigin): string {
  const isError = (() => {
    try {
      return thrown instanceof Error;
    } catch {
      return false;
    }
  })();
  if (origin === "unhandledRejection" && !isError)
    return (
      "[UnhandledPromiseRejection: This error originated either by throwing inside of an async function without a " +
      "catch block, or by rejecting a promise which was not handled with .catch(). The promise rejected with the " +
      `reason "${describeThrown(thrown).message}".] { code: 'ERR_UNHANDLED_REJECTION' }`
    );
  try {
    return `${isError ? "" : "Uncaught "}${inspect(thrown)}`;
  } catch {
    const { name, message, stack } = describeThrown(thrown);
    return stack ?? `${name}: ${message}`;
  }
}

/**
 * True when the process guard is installed and will handle `error` itself: hangar already reported it, or it
 * is attributed to a plugin (and so becomes that plugin's failure, crash or warning). Side-effect free, so a
 * host listener that runs before the guard's may ask it: hangar/testing forwards to the test runner only the
 * errors for which this is false.
 */
export function isContainedByGuard(error: unknown): boolean {
  return (
    (installed !== null || afterStop !== null) && (wasReported(error) || attributeError(error) !== undefined)
  );
}

/** True for the guard's own uncaughtException/unhandledRejection listeners (a host must leave them in place). */
export function isGuardListener(listener: unknown): boolean {
  if (afterStop !== null && (listener === afterStop.onException || listener === afterStop.onRejection))
    return true;
  return installed !== null && (listener === installed.onException || listener === installed.onRejection);
}
