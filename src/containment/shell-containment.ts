// One shell's containment (SPEC §11): turns a fault attributed to one of its plugins into that plugin's failure
// (the hook or request in flight fails, else a CRASH event), a leftover of an earlier context into a warning,
// and a process.exit() from plugin code into HANGAR_PROCESS_EXIT.

import { type PluginActor, settled, stateOf } from "../actors/plugin-supervisor.js";
import { setImmediate } from "../base/timers.js";
import { createError, type ErrorCode, errorMessage, hasHangarCode, messageOf } from "../errors.js";
import type { PluginLogger } from "../sdk/types.js";
import {
  type ContainmentOwner,
  type FaultOrigin,
  markReported,
  type PluginFlow,
  type PluginScope,
  runOutsideScope,
} from "./attribution.js";
import { describeLeftovers, takeLeftovers, trackLeftovers } from "./leftover-handles.js";
import { installProcessGuard } from "./process-guard.js";

/** What the containment needs from its shell. */
export interface ShellContainmentDeps {
  pluginLogger(pluginId: string): PluginLogger;
  shellLogger: { error(message: string, data?: Record<string, unknown>): void };
  actor(pluginId: string): PluginActor | undefined;
  /** The plugin's live context handle (null when it has none) and the hook it is running, if any. */
  current(pluginId: string): { context: object | null; hook: PluginFlow | null } | undefined;
  /** Shuts the shell down (an error no plugin owns reached the process). */
  stop(): Promise<void>;
  /** Records what the plugin's code threw in a crash, so the errored line that may follow carries its stack. */
  noteFailure?(pluginId: string, error: unknown): void;
}

/** States in which a fault of the plugin's live code makes it crash (at once, or once it settles into running). */
const LIVE_STATES = new Set(["loading", "loaded", "starting", "resuming", "running"]);
/** States a crash waits out before it is delivered. */
const SETTLING_STATES = new Set(["loading", "loaded", "starting", "resuming"]);

/** Disposal reasons (contexts.ts, disposalReason) that come after onStop ran: a stop, an update, a restart, a crash. */
const AFTER_ON_STOP = /^(a stop|an update|a crash|a stop timeout)/;

/** How many distinct leftover warnings one plugin may log; later ones are counted, not shown. */
const WARNINGS_PER_PLUGIN = 20;

/** A hook's (or load's) flow: `failed` rejects with the first escaped error while it is open. */
export interface OpenFlow extends PluginFlow {
  readonly failed: Promise<never>;
  close(): void;
}

/** A flow that turns the first escaped error into a rejection of `failed`, until closed. */
/**
 * What `failed` rejects with when the flow closes without a failure. Settling it releases what was waiting on
 * it: a scope outlives its flow (a module's evaluation promise keeps the scope it was created in for the life of
 * the process), and a forever-pending `failed` would keep every race ever run against it (issue 13: heap).
 */
export const FLOW_CLOSED: unique symbol = Symbol("hangar.flowClosed");

export function openFlow(): OpenFlow {
  return new Flow();
}

/**
 * {@link openFlow}'s flow, as a class: its methods are shared, and once settled it drops its promise's reject
 * function. A module's evaluation keeps the load's scope, and so this flow, for the life of the process: a
 * closed flow is then an object of two fields (issue 13: heap per idle plugin; three closures and their scope
 * before).
 */
class Flow implements OpenFlow {
  #failed: Promise<never>;
  #reject: ((error: unknown) => void) | null = null;

  constructor() {
    this.#failed = new Promise<never>((_, reject) => {
      this.#reject = reject;
    });
    // Nobody may be racing it any more when it rejects; never let that become an unhandled rejection.
    this.#failed.catch(() => {});
  }

  get failed(): Promise<never> {
    return this.#failed;
  }

  fail(error: unknown): boolean {
    const reject = this.#reject;
    if (reject === null) return false;
    this.#reject = null;
    reject(error);
    return true;
  }

  close(): void {
    this.fail(FLOW_CLOSED);
    // Every race against it has settled: the closed flow keeps no promise of its own (nor the error it failed
    // with), only the one settled promise every closed flow shares (issue 13: heap per idle plugin).
    this.#failed = CLOSED;
  }
}

/** `failed` of every closed flow: rejected with {@link FLOW_CLOSED}, handled. */
const CLOSED: Promise<never> = Promise.reject(FLOW_CLOSED);
CLOSED.catch(() => {});

export class ShellContainment implements ContainmentOwner {
  readonly #deps: ShellContainmentDeps;
  /** Why each disposed context was disposed ("an update", "a start timeout", ...), for leftover warnings. */
  readonly #disposedBy = new WeakMap<object, string>();
  readonly #warned = new Map<string, { keys: Set<string>; suppressed: number }>();
  #release: (() => void) | null = null;
  #releaseTracking: (() => void) | null = null;
  #stopped = false;
  #unattributed: string | null = null;

  constructor(deps: ShellContainmentDeps) {
    this.#deps = deps;
  }

  /** Installs the process-level handlers for this shell (until {@link markStopped}). */
  install(): void {
    this.#release ??= installProcessGuard(this);
    this.#releaseTracking ??= trackLeftovers();
  }

  /**
   * The shell has stopped: the handlers go (when no other shell runs), and from now on a leftover calling
   * its disposed context is ignored with one warning instead of throwing (nobody would catch it).
   */
  markStopped(): void {
    this.#stopped = true;
    const release = this.#release;
    this.#release = null;
    this.#releaseTracking?.();
    this.#releaseTracking = null;
    // A rejection left by the last onStop may still wait to be reported: Node reports pending rejections when
    // a callback (this first immediate) ends, so the handlers go one immediate later.
    if (release) setImmediate(() => setImmediate(release));
  }

  /** Set when the shell shut down because of an error no plugin owns. */
  get unattributedFailure(): string | null {
    return this.#unattributed;
  }

  /** The scope of code run under `context` (null: module evaluation) of `generation`. */
  scope(
    pluginId: string,
    generation: number,
    context: object | null,
    flow: PluginFlow | null = null,
  ): PluginScope {
    return { owner: this, pluginId, generation, context, flow };
  }

  /** Records why `context` was disposed; later leftover warnings name it. */
  noteDisposed(context: object, reason: string): void {
    if (!this.#disposedBy.has(context)) this.#disposedBy.set(context, reason);
  }

  /**
   * `context` (an in-process plugin's PluginContextHandle) was just disposed by `reason`: two turns of the event loop
   * later (a server or watcher closed in onStop has then finished closing), the timers, intervals, servers and file
   * watchers its code created and left running are warned about, once, on the plugin's log and status
   * (leftover-handles.ts; docs/lifecycle.md, "Leftover timers").
   */
  reportLeftovers(pluginId: string, context: object, reason: string): void {
    setImmediate(() =>
      setImmediate(() =>
        runOutsideScope(() => {
          try {
            const counts = takeLeftovers(context);
            if (!counts) return;
            const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
            const when = AFTER_ON_STOP.test(reason)
              ? `after onStop (its context was disposed by ${reason})`
              : `after its context was disposed by ${reason}`;
            const message =
              `Plugin '${pluginId}' left ${describeLeftovers(counts)} running ${when}: clear ` +
              `${total === 1 ? "it" : "them"} in onStop, or when ctx.signal aborts.`;
            this.#deps.pluginLogger(pluginId).warn("hangar", message);
            const actor = this.#deps.actor(pluginId);
            if (actor && actor.getSnapshot().status === "active") actor.send({ type: "WARN", message });
          } catch (defect) {
            this.#deps.shellLogger.error(
              `hangar failed to report a plugin's leftovers: ${messageOf(defect)}`,
              {
                code: "HANGAR_INTERNAL",
                pluginId,
              },
            );
          }
        }),
      ),
    );
  }

  /**
   * A call on a disposed context (`ipc.send('tick')`, ...): warns once per plugin and call, and says whether
   * to throw HANGAR_CONTEXT_DISPOSED (while the shell runs: the caller may be inside a hook, and a throw in a
   * leftover timer reaches the handlers, which know it is reported) or to ignore the call (after the shell
   * stopped, a throw from a timer would crash the host).
   */
  lateCall(pluginId: string, context: object, call: string, error: Error): "throw" | "ignore" {
    const reason = this.#disposedBy.get(context) ?? "its plugin stopping";
    this.#warnOnce(
      pluginId,
      // Once more after the shell stopped: the call is then ignored rather than thrown, which is worth saying.
      `call ${call} by ${reason}${this.#stopped ? " after stop" : ""}`,
      `Plugin '${pluginId}' called ctx.${call} after the context was disposed by ${reason}` +
        `${this.#stopped ? " (the shell has stopped; the call was ignored)" : ""}. A timer, listener or ` +
        "promise of an earlier context is still running: clear it in onStop or when ctx.signal aborts.",
    );
    markReported(error);
    return this.#stopped ? "ignore" : "throw";
  }

  contain(scope: PluginScope, error: unknown, origin: FaultOrigin): void {
    try {
      this.#contain(scope, error, origin);
    } catch (defect) {
      this.#deps.shellLogger.error(`hangar failed to contain a plugin fault: ${messageOf(defect)}`, {
        code: "HANGAR_INTERNAL",
        pluginId: scope.pluginId,
      });
    }
  }

  #contain(scope: PluginScope, error: unknown, origin: FaultOrigin): void {
    if (scope.flow?.fail(error)) return;
    const { pluginId } = scope;
    const cause = origin === "unhandledRejection" ? "a promise it did not handle rejected" : "its code threw";
    const actor = this.#deps.actor(pluginId);
    const current = this.#deps.current(pluginId);
    if (this.#stopped || !actor || !current || actor.getSnapshot().status !== "active") {
      this.#warnOnce(
        pluginId,
        `after stop ${messageOf(error)}`,
        `Plugin '${pluginId}': after the shell stopped, ${cause}: ${messageOf(error)}. Clear timers and listeners in onStop.`,
        error,
      );
      return;
    }
    if (!this.#isCurrent(scope, current.context, actor)) {
      this.#warnStale(pluginId, scope.context, error, cause);
      return;
    }
    // A hook of the plugin is in flight (say, a module-level timer threw during onStart): that hook fails.
    if (current.hook?.fail(error)) return;
    const state = stateOf(actor.getSnapshot());
    if (!LIVE_STATES.has(state)) {
      this.#warnOnce(
        pluginId,
        `while ${state} ${messageOf(error)}`,
        `Plugin '${pluginId}' is ${state}, but code it left behind still runs: ${cause}: ${messageOf(error)}. ` +
          "Clear timers and listeners in onStop or when ctx.signal aborts.",
        error,
      );
      return;
    }
    const code: ErrorCode =
      hasHangarCode(error) && error.code !== "HANGAR_CONTEXT_DISPOSED" ? error.code : "HANGAR_PLUGIN_CRASHED";
    const aftermath = "hangar ran its onStop and disposed its context; the other plugins carry on.";
    // hangar's own errors (a refused process.exit()) already say what happened and what to do.
    const message =
      code === "HANGAR_PLUGIN_CRASHED"
        ? errorMessage("HANGAR_PLUGIN_CRASHED", "outsideHook", {
            pluginId,
            cause,
            reason: messageOf(error).replace(/\.$/, ""),
          })
        : `${messageOf(error)} ${aftermath}`;
    // The one record of this crash: the fields of every failure record (docs/cli.md, "--json") and the stack.
    this.#deps.shellLogger.error(message, { pluginId, state, phase: "run", code, err: error });
    this.#deps.noteFailure?.(pluginId, error);
    this.#crash(actor, scope, code, message, error instanceof Error ? error.stack : undefined);
  }

  /**
   * Sends CRASH once the plugin is at rest (a hook may be settling, or it is loaded and about to start), if it
   * is then `running` and the faulty code still belongs to its live context or module.
   */
  #crash(
    actor: PluginActor,
    scope: PluginScope,
    code: ErrorCode,
    message: string,
    stack: string | undefined,
  ): void {
    const deliver = () =>
      runOutsideScope(() => {
        const snapshot = actor.getSnapshot();
        const current = this.#deps.current(scope.pluginId);
        if (snapshot.status !== "active" || !current || !this.#isCurrent(scope, current.context, actor))
          return;
        if (stateOf(snapshot) === "running")
          actor.send({ type: "CRASH", code, message, ...(stack ? { stack } : {}) });
      });
    if (stateOf(actor.getSnapshot()) === "running") deliver();
    else void settled(actor, (s) => !SETTLING_STATES.has(stateOf(s))).then(deliver);
  }

  /**
   * An error escaped a leftover of `context`, which an isolated plugin's worker found disposed (the worker carries
   * on): the same warning as for an in-process leftover, and the running generation is not affected.
   */
  leftoverError(pluginId: string, context: object, error: unknown, origin: FaultOrigin): void {
    const cause = origin === "unhandledRejection" ? "a promise it did not handle rejected" : "its code threw";
    try {
      if (this.#stopped) {
        this.#warnOnce(
          pluginId,
          `after stop ${messageOf(error)}`,
          `Plugin '${pluginId}': after the shell stopped, ${cause}: ${messageOf(error)}. Clear timers and listeners in onStop.`,
          error,
        );
      } else this.#warnStale(pluginId, context, error, cause);
    } catch (defect) {
      this.#deps.shellLogger.error(`hangar failed to report a plugin's leftover: ${messageOf(defect)}`, {
        code: "HANGAR_INTERNAL",
        pluginId,
      });
    }
  }

  #warnStale(pluginId: string, context: object | null | undefined, error: unknown, cause: string): void {
    const reason = (context && this.#disposedBy.get(context)) ?? "an earlier stop";
    this.#warnOnce(
      pluginId,
      `stale ${messageOf(error)}`,
      `Plugin '${pluginId}': code left over from a context disposed by ${reason} threw (${cause}): ` +
        `${messageOf(error)}. The running plugin is not affected; clear the timer or listener in onStop or when ctx.signal aborts.`,
      error,
    );
  }

  #isCurrent(scope: PluginScope, live: object | null, actor: PluginActor): boolean {
    const generation = actor.getSnapshot().context.generation;
    if (scope.context === undefined) return scope.generation === -1 || scope.generation === generation;
    if (scope.context === null) return scope.generation === generation;
    return scope.context === live;
  }

  refuseExit(scope: PluginScope, code: unknown): Error {
    const { pluginId } = scope;
    const error = createError("HANGAR_PROCESS_EXIT", {
      pluginId,
      exitCode: code === undefined ? "" : String(code),
    });
    // Not logged here: the error is thrown at the call, and logged once where it ends (the crash it causes
    // outside a hook, the hook or request it fails), with the plugin's stack.
    return error;
  }

  async failUnattributed(error: unknown, origin: FaultOrigin): Promise<void> {
    this.#unattributed = `an ${origin} that no plugin raised: ${messageOf(error)}`;
    this.#deps.shellLogger.error(
      `${origin} from no plugin: ${messageOf(error)}. hangar shuts the shell down and exits 1, as Node would.`,
      { code: "HANGAR_INTERNAL", error: error instanceof Error ? error.stack : messageOf(error) },
    );
    await this.#deps.stop();
  }

  /** One log line (and status warning while the actor runs) per plugin and key; bounded per plugin. */
  #warnOnce(pluginId: string, key: string, message: string, error?: unknown): void {
    let seen = this.#warned.get(pluginId);
    if (!seen) {
      seen = { keys: new Set(), suppressed: 0 };
      this.#warned.set(pluginId, seen);
    }
    if (seen.keys.has(key)) return;
    const logger = this.#deps.pluginLogger(pluginId);
    if (seen.keys.size >= WARNINGS_PER_PLUGIN) {
      seen.suppressed += 1;
      if (seen.suppressed === 1) {
        logger.warn(
          "hangar",
          `More leftover warnings from plugin '${pluginId}' are not shown (limit ${WARNINGS_PER_PLUGIN}).`,
        );
      }
      return;
    }
    seen.keys.add(key);
    if (error === undefined) logger.warn("hangar", message);
    else logger.warn("hangar", message, error);
    const actor = this.#deps.actor(pluginId);
    if (actor && actor.getSnapshot().status === "active") {
      runOutsideScope(() => actor.send({ type: "WARN", message }));
    }
  }
}
