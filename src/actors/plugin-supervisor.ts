// The shell's one registry of plugins (each plugin's actor and the runtime the shell keeps beside it) and
// their supervisor, in OTP's sense: it starts the plugins in dependency order (each as soon as it and what it
// depends on have loaded), stops them in reverse order, updates them and restarts one on request. The restart
// *policy* after a crash is the plugin machine's own. Each plugin is its own root actor (not a child of the
// shell) so that start-up and shutdown stay linear in the number of plugins (statelyai/xstate#4990).
import { type Actor, type AnyActorRef, type SnapshotFrom, waitFor } from "xstate";
import { runInSlice } from "../base/time-slice.js";
import { createError, errorMessage } from "../errors.js";
import { backoffDelay, PLUGIN_TAGS, type pluginMachine, pluginStateOf } from "../machines/plugin.machine.js";
import { analyseDependencies, type DependencyNode } from "../manifest/dependency-graph.js";
import type { PluginState, PluginStatus } from "../status.js";

export type PluginActor = Actor<typeof pluginMachine>;
type PluginSnapshot = SnapshotFrom<typeof pluginMachine>;

/** A plugin is at rest when no import or hook is in flight: nothing happens without a new event. */
const atRest = (snapshot: PluginSnapshot) => !snapshot.hasTag(PLUGIN_TAGS.step);

/** Where the supervisor reports each plugin's progress (the shell's logger). */
export interface SupervisorLogger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

export function stateOf(snapshot: PluginSnapshot): PluginState {
  return pluginStateOf(snapshot.value);
}

/** `: <its error>` for a plugin that failed (its sentence's final full stop dropped: ours follows), else "". */
function becauseOf(snapshot: PluginSnapshot): string {
  const error = snapshot.context.error;
  return error ? `: ${error.message.replace(/\.$/, "")}` : "";
}

/**
 * XState's `waitFor`, settling instead of rejecting: resolves with the first snapshot (the current one
 * included) that satisfies `predicate`, or with the last one when the actor ends (done, error, stopped), the
 * timeout passes or `signal` aborts. Callers read the state they got; none of them has a use for a rejection.
 */
export function settled<TActor extends AnyActorRef>(
  actor: TActor,
  predicate: (snapshot: SnapshotFrom<TActor>) => boolean,
  options: { timeout?: number; signal?: AbortSignal } = {},
): Promise<SnapshotFrom<TActor>> {
  const ended = (snapshot: SnapshotFrom<TActor>) => (snapshot as { status: string }).status !== "active";
  // Already there (most waits of a start or stop of many plugins): no promise chain, no subscription.
  const current = actor.getSnapshot() as SnapshotFrom<TActor>;
  if (!options.signal?.aborted && (predicate(current) || ended(current))) return Promise.resolve(current);
  return waitFor(actor, (snapshot) => predicate(snapshot) || ended(snapshot), options).catch(
    () => actor.getSnapshot() as SnapshotFrom<TActor>,
  );
}

/** The status a user sees, derived from the actor's snapshot only. */
export function statusOf(snapshot: PluginSnapshot): PluginStatus {
  const { context } = snapshot;
  const status: PluginStatus = {
    id: context.pluginId,
    version: context.version,
    name: context.name,
    background: context.background,
    state: stateOf(snapshot),
    timings: { loadMs: context.timings.loadMs, startMs: context.timings.startMs },
  };
  if (context.error) status.error = context.error;
  if (context.warnings.length > 0) status.warnings = [...context.warnings];
  if (context.startedAt && status.state === "running") status.startedAt = context.startedAt;
  if (context.restarts > 0) status.restarts = context.restarts;
  return status;
}

/** True while a request to the plugin should wait: it is on its way to running by itself (tag `busy`). */
export function isBusy(snapshot: PluginSnapshot): boolean {
  return snapshot.status === "active" && snapshot.hasTag(PLUGIN_TAGS.busy);
}

function errorField(cause: unknown): { err?: Error } {
  return cause instanceof Error ? { err: cause } : {};
}

/** What the supervisor needs of a plugin's runtime: the error its own code raised for its latest failure. */
export interface SupervisedRuntime {
  /** Logged with its stack in the line that reports the failure; undefined when there is none. */
  lastFailure: unknown;
}

/** What the supervisor's one observer per plugin also tells its owner (issue 13: one observer per actor). */
export interface SupervisorHooks<Runtime> {
  /**
   * Plugin `runtime` has just reached `stopped` (called once per arrival, after its progress is logged).
   * Must not throw; an error is logged, not raised.
   */
  stopped?(runtime: Runtime): void;
}

/** The supervisor's observer of one plugin's actor: its state, and where its progress goes. */
interface ProgressObserver<Runtime extends SupervisedRuntime> {
  readonly supervisor: PluginSupervisor<Runtime>;
  readonly actor: PluginActor;
  readonly id: string;
  readonly runtime: Runtime;
  /** The state last reported. */
  last: PluginState;
  /** Callers waiting for a snapshot of this plugin ({@link PluginSupervisor}'s `#until`); null when none. */
  waiters: Waiter[] | null;
  next(this: ProgressObserver<Runtime>, snapshot: PluginSnapshot): void;
  error(this: ProgressObserver<Runtime>, error: unknown): void;
}

/** One wait for a plugin's snapshot that satisfies `predicate`. */
interface Waiter {
  predicate: (snapshot: PluginSnapshot) => boolean;
  resolve: (snapshot: PluginSnapshot) => void;
}

/** Settles the waiters `snapshot` satisfies (every one when `all`: the actor ended); keeps the others. */
function settleWaiters(observer: { waiters: Waiter[] | null }, snapshot: PluginSnapshot, all: boolean): void {
  const waiters = observer.waiters;
  if (waiters === null) return;
  const waiting = all ? [] : waiters.filter((waiter) => !waiter.predicate(snapshot));
  observer.waiters = waiting.length > 0 ? waiting : null;
  for (const waiter of waiters) if (all || !waiting.includes(waiter)) waiter.resolve(snapshot);
}

/**
 * The one registry of plugins: each plugin's actor and `Runtime`, what the shell keeps about it outside the
 * machine (its module, context, worker: functions and handles never go in snapshots). Also drives them.
 */
export class PluginSupervisor<Runtime extends SupervisedRuntime> {
  readonly #entries = new Map<
    string,
    { actor: PluginActor; runtime: Runtime; observer: ProgressObserver<Runtime> }
  >();
  readonly #log: SupervisorLogger;
  readonly #hooks: SupervisorHooks<Runtime>;
  /** Errors of crashes already logged when they happened. */
  readonly #crashes = new WeakSet<object>();
  #closing = false;

  constructor(log: SupervisorLogger, hooks: SupervisorHooks<Runtime> = {}) {
    this.#log = log;
    this.#hooks = hooks;
  }

  /** Registers a plugin (its actor not started yet, so that its first load finds the runtime); logs its progress from here on. */
  add(actor: PluginActor, runtime: Runtime): void {
    const id = actor.getSnapshot().context.pluginId;
    this.#logProgress(actor.getSnapshot(), null);
    // The one observer of the plugin's actor: progress lines, and the `stopped` hook. An object of data whose
    // next/error are shared by every plugin (issue 13: two closures and their scope per plugin before).
    const observer: ProgressObserver<Runtime> = {
      supervisor: this,
      actor,
      id,
      runtime,
      last: stateOf(actor.getSnapshot()),
      waiters: null,
      next: PluginSupervisor.#observe.next as ProgressObserver<Runtime>["next"],
      error: PluginSupervisor.#observe.error as ProgressObserver<Runtime>["error"],
    };
    this.#entries.set(id, { actor, runtime, observer });
    actor.subscribe(observer);
  }

  /** The methods of every plugin's {@link ProgressObserver} (XState binds them to the observer). */
  static readonly #observe = {
    next(this: ProgressObserver<SupervisedRuntime>, snapshot: PluginSnapshot): void {
      settleWaiters(this, snapshot, false);
      const state = stateOf(snapshot);
      if (state === this.last) return;
      const previous = this.last;
      this.last = state;
      const supervisor = this.supervisor;
      supervisor.#logProgress(snapshot, previous);
      if (state === "stopped" && supervisor.#hooks.stopped) supervisor.#onStopped(this.id, this.runtime);
    },
    error(this: ProgressObserver<SupervisedRuntime>, error: unknown): void {
      this.supervisor.#log.error(`plugin actor failed: ${String(error)}`, { pluginId: this.id });
      settleWaiters(this, this.actor.getSnapshot(), true);
    },
  };

  /** Resolves with plugin `id`'s first snapshot that satisfies `predicate`, or its last once its actor ended. */
  #until(id: string, predicate: (snapshot: PluginSnapshot) => boolean): Promise<PluginSnapshot> {
    // Through the supervisor's own observer of the plugin (issue 13: no subscription, no waitFor per wait).
    const { actor, observer } = this.#entries.get(id)!;
    const current = actor.getSnapshot();
    if (predicate(current) || current.status !== "active") return Promise.resolve(current);
    return new Promise((resolve) => {
      observer.waiters ??= [];
      observer.waiters.push({ predicate, resolve });
    });
  }

  get(id: string): PluginActor | undefined {
    return this.#entries.get(id)?.actor;
  }

  /** What the shell keeps about plugin `id` beside its actor; undefined for an id it does not have. */
  runtime(id: string): Runtime | undefined {
    return this.#entries.get(id)?.runtime;
  }

  runtimes(): Runtime[] {
    return [...this.#entries.values()].map((entry) => entry.runtime);
  }

  ids(): string[] {
    return [...this.#entries.keys()];
  }

  statuses(): PluginStatus[] {
    return [...this.#entries.values()].map(({ actor }) => statusOf(actor.getSnapshot()));
  }

  /**
   * Starts every plugin that is `loading` or `loaded`, or on its way somewhere (an import or a hook in flight:
   * an update's reload or retry), each as soon as it has come to rest in `loaded` and the plugins it depends on
   * have loaded (a hung import holds up only its dependents), independent ones concurrently, each after the
   * plugins it depends on are running. A plugin that comes to rest elsewhere (`running` after a resume or a
   * restart, `errored`) is left as it is. A missing, cyclic or failed dependency errors the dependent (phase
   * `dependency`). When `signal` aborts (shutdown began), nothing new is started.
   */
  async startAll(signal: AbortSignal): Promise<void> {
    // Plugins whose whole dependency closure has loaded and was found sound: a later walk stops at them.
    const cleared = new Set<string>();
    const started = new Map<string, Promise<void>>();
    const start = (id: string): Promise<void> => {
      let promise = started.get(id);
      if (!promise) {
        promise = this.#startOne(id, cleared, start, signal);
        started.set(id, promise);
      }
      return promise;
    };
    const waiting = [...this.#entries.entries()].filter(([, { actor }]) => {
      const snapshot = actor.getSnapshot();
      return ["loading", "loaded"].includes(stateOf(snapshot)) || !atRest(snapshot);
    });
    await Promise.all(waiting.map(([id]) => start(id)));
  }

  async #startOne(
    id: string,
    cleared: Set<string>,
    start: (id: string) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    const entry = this.#entries.get(id);
    if (!entry) return;
    const { actor } = entry;
    await this.#until(id, atRest);
    if (signal.aborted || stateOf(actor.getSnapshot()) !== "loaded") return;
    const nodes = await this.#loadedClosure(id, cleared);
    if (signal.aborted || stateOf(actor.getSnapshot()) !== "loaded") return;
    // The plugin's own problems depend only on what it reaches through dependsOn, all of which has loaded.
    const problem = analyseDependencies(nodes).get(id);
    if (problem) {
      actor.send({ type: "DEPENDENCY_FAILED", code: problem.code, message: problem.message });
      return;
    }
    cleared.add(id);
    const dependsOn = actor.getSnapshot().context.dependsOn;
    await Promise.all(dependsOn.map((dep) => start(dep)));
    if (signal.aborted || stateOf(actor.getSnapshot()) !== "loaded") return;

    for (const dep of dependsOn) {
      const depActor = this.#entries.get(dep)?.actor;
      // Removed meanwhile (its folder vanished during an update): as missing as one never installed.
      if (!depActor) {
        const parts = { pluginId: id, names: `'${dep}'` };
        const message = errorMessage("HANGAR_DEPENDENCY_MISSING", "one", parts);
        actor.send({ type: "DEPENDENCY_FAILED", code: "HANGAR_DEPENDENCY_MISSING", message });
        return;
      }
      const depSnapshot = depActor.getSnapshot();
      const depState = stateOf(depSnapshot);
      if (depState !== "running") {
        const parts = { pluginId: id, dependency: dep, state: depState, reason: becauseOf(depSnapshot) };
        actor.send({
          type: "DEPENDENCY_FAILED",
          code: "HANGAR_DEPENDENCY_FAILED",
          message: errorMessage("HANGAR_DEPENDENCY_FAILED", "notRunning", parts),
        });
        return;
      }
    }
    // Starting runs the plugin's context creation and onStart up to its first await: one plugin's task in a
    // time slice, so that plugins whose dependencies all turned ready at once do not start in one long turn.
    const sent = await runInSlice(() => {
      if (signal.aborted || stateOf(actor.getSnapshot()) !== "loaded") return false;
      actor.send({ type: "START" });
      return true;
    });
    if (sent) await this.#until(id, atRest);
  }

  /**
   * Waits until every plugin `id` reaches through dependsOn has finished loading, and returns them (`id`
   * included) as the dependency analysis sees them: only plugins with a background module, so that one without
   * counts as missing. A plugin already cleared ends the walk: its own dependencies were found sound.
   */
  async #loadedClosure(id: string, cleared: ReadonlySet<string>): Promise<DependencyNode[]> {
    const nodes: DependencyNode[] = [];
    const seen = new Set([id]);
    const queue = [id];
    for (let head = 0; head < queue.length; head++) {
      const next = queue[head]!;
      if (!this.#entries.has(next)) continue;
      const { context } = await this.#until(next, atRest);
      if (!context.background) continue;
      if (cleared.has(next)) {
        nodes.push({ id: next });
        continue;
      }
      nodes.push({ id: next, dependsOn: context.dependsOn });
      for (const dep of context.dependsOn) {
        if (seen.has(dep)) continue;
        seen.add(dep);
        queue.push(dep);
      }
    }
    return nodes;
  }

  /**
   * Applies an OTA update: running plugins resume (or restart, or reload when their code changed), errored ones
   * are retried; each that comes to rest in `loaded` starts as soon as it and what it depends on have loaded
   * ({@link startAll}): one re-import that hangs holds up only itself and its dependents.
   */
  async updateAll(changed: string[], generation: number, signal: AbortSignal): Promise<void> {
    await this.sendUpdate(changed, generation, signal);
    if (!signal.aborted) await this.startAll(signal);
  }

  /**
   * The first half of {@link updateAll}: sends every plugin at rest its `UPDATE` (`changed` names the plugins
   * whose code changed). Each send (its onStop, its context's disposal, its reload begun) is a task of its own
   * in a time slice; whether the plugin updates at all is decided when that task runs. Resolves once every
   * task has run, not when the plugins have settled: so that nothing starts on the old module of a plugin
   * whose update is still queued.
   */
  async sendUpdate(changed: string[], generation: number, signal: AbortSignal): Promise<void> {
    for (const id of changed) {
      if (!this.#entries.has(id)) this.#log.warn(`update names unknown plugin '${id}'; ignored`);
    }
    const changedIds = new Set(changed);
    const sending = [...this.#entries].map(([id, { actor }]) =>
      runInSlice(() => {
        const snapshot = actor.getSnapshot();
        if (signal.aborted || stateOf(snapshot) === "stopped" || !atRest(snapshot)) return;
        actor.send({ type: "UPDATE", changed: changedIds.has(id), generation });
      }),
    );
    await Promise.all(sending);
  }

  /** Stops every plugin, each after the plugins that depend on it. Resolves when none is active. */
  async stopAll(): Promise<void> {
    const dependents = new Map<string, string[]>();
    for (const [id, { actor }] of this.#entries) {
      for (const dep of actor.getSnapshot().context.dependsOn) {
        const list = dependents.get(dep) ?? [];
        list.push(id);
        dependents.set(dep, list);
      }
    }
    const stopping = new Map<string, Promise<void>>();
    // A depth-first walk: each plugin waits for its dependents; an edge back to a plugin on the current
    // path (a dependency cycle, whose members never started) is skipped instead of waited on.
    const stop = (id: string, path: ReadonlySet<string>): Promise<void> => {
      let promise = stopping.get(id);
      if (!promise) {
        const inner = new Set(path).add(id);
        const first = (dependents.get(id) ?? []).filter((dependent) => !inner.has(dependent));
        // Each plugin's stop (its onStop called, its context disposed) is a task of its own in a time slice.
        promise = Promise.all(first.map((dependent) => stop(dependent, inner))).then(() =>
          runInSlice(() => this.#stopOne(id)),
        );
        stopping.set(id, promise);
      }
      return promise;
    };
    await Promise.all(this.ids().map((id) => stop(id, new Set())));
  }

  async #stopOne(id: string): Promise<void> {
    const actor = this.#entries.get(id)!.actor;
    const state = stateOf(actor.getSnapshot());
    if (state === "errored" || state === "inactive" || state === "stopped") return;
    actor.send({ type: "STOP" });
    // A plugin stopped mid-reload may turn out UI-only (inactive): that is at rest too.
    await this.#until(id, (s) => ["stopped", "errored", "inactive"].includes(stateOf(s)));
  }

  /**
   * `shell.restartPlugin(id)`: a running plugin runs onStop, then onStart with a fresh context; an errored,
   * stopped or backing-off one starts again at once (a failed load is imported again first).
   * Resolves once the plugin is at rest.
   */
  async restartOne(id: string): Promise<void> {
    const actor = this.#entries.get(id)!.actor;
    await this.#until(id, atRest);
    if (this.#closing || stateOf(actor.getSnapshot()) === "inactive") return;
    actor.send({ type: "RESTART" });
    await this.#until(id, atRest);
    // A plugin whose load had failed was imported again: now start it.
    if (!this.#closing && stateOf(actor.getSnapshot()) === "loaded") {
      actor.send({ type: "START" });
      await this.#until(id, atRest);
    }
  }

  /** `shell.stopPlugin(id)`: stops the plugins that depend on it (transitively) first, then the plugin. */
  async stopWithDependents(id: string, visiting: ReadonlySet<string> = new Set()): Promise<void> {
    const inner = new Set(visiting).add(id);
    const dependents = [...this.#entries.entries()]
      .filter(([other, { actor }]) => !inner.has(other) && actor.getSnapshot().context.dependsOn.includes(id))
      .map(([other]) => other);
    await Promise.all(dependents.map((dependent) => this.stopWithDependents(dependent, inner)));
    await this.#until(id, atRest);
    await this.#stopOne(id);
  }

  /**
   * `shell.startPlugin(id)`: starts what it depends on (transitively) first, then the plugin. A dependency
   * that does not end up running leaves the plugin as it was and rejects with HANGAR_DEPENDENCY_FAILED.
   */
  async startWithDependencies(id: string, visiting: ReadonlySet<string> = new Set()): Promise<void> {
    const actor = this.#entries.get(id)!.actor;
    const inner = new Set(visiting).add(id);
    for (const dep of actor.getSnapshot().context.dependsOn) {
      const depActor = this.#entries.get(dep)?.actor;
      if (!depActor || inner.has(dep)) continue;
      await this.startWithDependencies(dep, inner);
      const depSnapshot = depActor.getSnapshot();
      if (stateOf(depSnapshot) !== "running") {
        throw createError(
          "HANGAR_DEPENDENCY_FAILED",
          "startRefused",
          { pluginId: id, dependency: dep, state: stateOf(depSnapshot), reason: becauseOf(depSnapshot) },
          { phase: "dependency" },
        );
      }
    }
    await this.#until(id, atRest);
    if (this.#closing) return;
    const state = stateOf(actor.getSnapshot());
    if (state === "loaded" || state === "stopped") actor.send({ type: "START" });
    else if (state === "errored" || state === "backoff") actor.send({ type: "RESTART" });
    else return;
    await this.#until(id, atRest);
  }

  /**
   * Shutdown began: plugins still importing are abandoned now, so a hung import cannot hold up boot, and
   * manual restarts/starts still waiting for their turn are dropped.
   */
  beginShutdown(): void {
    this.#closing = true;
    for (const { actor } of this.#entries.values()) {
      if (actor.getSnapshot().matches("loading")) actor.send({ type: "STOP" });
    }
  }

  /**
   * Stops one plugin (as at shutdown) and forgets it: its folder disappeared (SPEC §4, an update rescans).
   * A plugin that depends on it keeps running; when it next starts, it is errored as a missing dependency.
   */
  async remove(id: string): Promise<Runtime | undefined> {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    await this.#stopOne(id);
    this.#entries.delete(id);
    entry.actor.stop();
    // Whoever still waits for it gets its last snapshot (no `complete` handler: one bound function fewer each).
    settleWaiters(entry.observer, entry.actor.getSnapshot(), true);
    this.#log.info("removed: its folder is gone", { pluginId: id });
    return entry.runtime;
  }

  /** The shutdown budget ran out: every plugin still in a hook is released now. */
  forceStop(message: string): void {
    for (const { actor } of this.#entries.values()) {
      if (actor.getSnapshot().status === "active") actor.send({ type: "FORCE_STOP", message });
    }
  }

  /** Stops every plugin actor (their last snapshots stay readable for status). */
  releaseAll(): void {
    for (const { actor, observer } of this.#entries.values()) {
      actor.stop();
      settleWaiters(observer, actor.getSnapshot(), true);
    }
  }

  #onStopped(id: string, runtime: Runtime): void {
    try {
      this.#hooks.stopped!(runtime);
    } catch (error) {
      this.#log.error(`after stopping: ${String(error)}`, { pluginId: id, ...errorField(error) });
    }
  }

  /** One line per state change; the logger prefixes it with `[plugin-id]`. */
  #logProgress(snapshot: PluginSnapshot, previous: PluginState | null): void {
    const { pluginId, error, timings, restarts, restartPolicy, isolated } = snapshot.context;
    const state = stateOf(snapshot);
    // A crash (running → stopping with an error) was logged with its stack when it happened (containment).
    if (state === "stopping" && previous === "running" && error) this.#crashes.add(error);
    switch (state) {
      case "running":
        this.#log.info(
          previous === "resuming"
            ? `running (onResume took ${timings.resumeMs ?? "?"} ms)`
            : `running (onStart took ${timings.startMs ?? "?"} ms)`,
          { pluginId },
        );
        break;
      case "errored":
        if (error && this.#crashes.has(error)) {
          // Restart policy "never": say where the plugin ended, without repeating the crash's record.
          this.#log.error(`errored: not restarted after the crash above (restart policy "never")`, {
            pluginId,
            state,
            phase: error.phase,
            code: error.code,
          });
          break;
        }
        this.#log.error(`errored in phase ${error?.phase}: ${error?.code}: ${error?.message}`, {
          pluginId,
          state,
          phase: error?.phase,
          code: error?.code,
          // The plugin's own error, whose stack says where in its code the failure came from.
          ...errorField(this.#entries.get(pluginId)?.runtime.lastFailure),
        });
        break;
      case "loading":
        if (previous === "stopping" && error?.phase === "stop") {
          // An update that changed the code: the old generation's onStop failed, the new code loads anyway.
          this.#log.error(
            `onStop of the code before the update failed: ${error.code}: ${error.message} (the new code loads anyway)`,
            {
              pluginId,
              state,
              phase: error.phase,
              code: error.code,
              ...errorField(this.#entries.get(pluginId)?.runtime.lastFailure),
            },
          );
        }
        this.#log.info(state, { pluginId });
        break;
      case "inactive":
        this.#log.info("inactive: UI-only, no background module", { pluginId });
        break;
      // The same detail in-process and in a worker: how long the import took, and which restart waits how long.
      case "loaded":
        this.#log.info(`loaded (${loadTook(isolated, timings.loadMs)})`, { pluginId });
        break;
      case "starting":
        // A restart that imported the module again (an isolated plugin's new worker) goes on to start at once.
        this.#log.info(previous === "loading" ? `starting (${loadTook(isolated, timings.loadMs)})` : state, {
          pluginId,
        });
        break;
      case "backoff":
        this.#log.info(
          `backoff: restart ${restarts} of ${restartPolicy.maxRestarts} within ${restartPolicy.windowMs} ms, in ${backoffDelay(restartPolicy, restarts)} ms${isolated ? " (in a new worker, its module imported afresh)" : ""}`,
          { pluginId },
        );
        break;
      default:
        this.#log.info(state, { pluginId });
    }
  }
}

/** "import took 12 ms", or for an isolated plugin "worker boot and import took 850 ms". */
function loadTook(isolated: boolean, loadMs: number | null): string {
  const took = loadMs === null ? "?" : String(Math.round(loadMs));
  return `${isolated ? "worker boot and import" : "import"} took ${took} ms`;
}
