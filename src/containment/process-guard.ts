// The process-level half of containment (SPEC §11): uncaughtException and unhandledRejection handlers and a
// guarded process.exit, installed while at least one shell runs (reference-counted) and removed with the last.
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
  if (installed === null) installed = install();
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

function install(): Installed {
  const owners = new Set<ContainmentOwner>();
  const realExit = process.exit;
  const handle = (thrown: unknown, origin: FaultOrigin, listener: (...args: never[]) => void): void => {
    // A listener that throws is fatal to the process: whatever was thrown (a Proxy, a throwing stack getter,
    // a 5 MB message) is read through safeThrown, and a defect of hangar's own is written out, not rethrown.
    try {
      if (wasReported(thrown)) return;
      const error = safeThrown(thrown);
      const scope = attributeError(error);
      if (scope) {
        scope.owner.contain(scope, error, origin);
        return;
      }
      // Not a plugin's: the host's own listeners decide, if it has any.
      if ((process.listeners as (event: string) => unknown[])(origin).some((other) => other !== listener))
        return;
      void failUnattributed(error, origin);
    } catch (defect) {
      process.stderr.write(
        `hangar: failed to handle an ${origin} (${describeThrown(thrown).message}): ${describeThrown(defect).message}\n`,
      );
    }
  };
  const onException = (error: unknown): void => handle(error, "uncaughtException", onException);
  const onRejection = (reason: unknown): void => handle(reason, "unhandledRejection", onRejection);

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
}

/**
 * True when the process guard is installed and will handle `error` itself: hangar already reported it, or it
 * is attributed to a plugin (and so becomes that plugin's failure, crash or warning). Side-effect free, so a
 * host listener that runs before the guard's may ask it: hangar/testing forwards to the test runner only the
 * errors for which this is false.
 */
export function isContainedByGuard(error: unknown): boolean {
  return installed !== null && (wasReported(error) || attributeError(error) !== undefined);
}

/** True for the guard's own uncaughtException/unhandledRejection listeners (a host must leave them in place). */
export function isGuardListener(listener: unknown): boolean {
  return installed !== null && (listener === installed.onException || listener === installed.onRejection);
}
