// Drives every plugin actor for the shell machine's invoked steps: load all, start in dependency order,
// update, stop in reverse dependency order. Each plugin is its own root actor (not a child of the shell)
// so that start-up and shutdown stay linear in the number of plugins (statelyai/xstate#4990).
import type { Actor, SnapshotFrom } from "xstate";
import { createError, type ErrorCode, errorMessage } from "../errors.js";
import { PLUGIN_TAGS, type pluginMachine, pluginStateOf } from "../machines/plugin.machine.js";
import { analyseDependencies } from "../manifest/dependency-graph.js";
import type { PluginState, PluginStatus } from "../status.js";

export type PluginActor = Actor<typeof pluginMachine>;
type PluginSnapshot = SnapshotFrom<typeof pluginMachine>;

/** A plugin is at rest when no import or hook is in flight: nothing happens without a new event. */
const atRest = (snapshot: PluginSnapshot) => !snapshot.hasTag(PLUGIN_TAGS.step);

export interface FleetLogger {
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

/** Resolves with the first snapshot (the current one included) that satisfies `predicate`. */
export function untilSnapshot(
  actor: PluginActor,
  predicate: (snapshot: PluginSnapshot) => boolean,
): Promise<PluginSnapshot> {
  const current = actor.getSnapshot();
  if (predicate(current) || current.status !== "active") return Promise.resolve(current);
  return new Promise((resolve) => {
    const subscription = actor.subscribe({
      next(snapshot) {
        if (predicate(snapshot) || snapshot.status !== "active") {
          subscription.unsubscribe();
          resolve(snapshot);
        }
      },
      error() {
        subscription.unsubscribe();
        resolve(actor.getSnapshot());
      },
      complete() {
        subscription.unsubscribe();
        resolve(actor.getSnapshot());
      },
    });
  });
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

export class Fleet {
  readonly #actors = new Map<string, PluginActor>();
  readonly #log: FleetLogger;
  readonly #causeOf: (id: string) => unknown;
  #closing = false;
  // Who waits for which plugin's snapshot: served by the one observer add() gives each actor, instead of an
  // observer subscribed and unsubscribed per wait (each XState subscribe allocates an observer and a closure).
  readonly #waiters = new Map<string, { predicate: (s: PluginSnapshot) => boolean; resolve: () => void }[]>();

  /**
   * @param causeOf the error a plugin's own code raised for its latest failure (its stack goes into the log
   *   line that reports the failure), or undefined when there is none.
   */
  constructor(log: FleetLogger, causeOf: (id: string) => unknown = () => undefined) {
    this.#log = log;
    this.#causeOf = causeOf;
  }

  /** Adds a started plugin actor; the fleet logs its progress from here on. */
  add(actor: PluginActor): void {
    const id = actor.getSnapshot().context.pluginId;
    this.#actors.set(id, actor);
    let last = stateOf(actor.getSnapshot());
    this.#logProgress(actor.getSnapshot(), null);
    actor.subscribe({
      next: (snapshot) => {
        const state = stateOf(snapshot);
        if (state !== last) {
          const previous = last;
          last = state;
          this.#logProgress(snapshot, previous);
        }
        this.#wake(id, snapshot, snapshot.status !== "active");
      },
      error: (error) => {
        this.#log.error(`plugin actor failed: ${String(error)}`, { pluginId: id });
        this.#wake(id, actor.getSnapshot(), true);
      },
      complete: () => this.#wake(id, actor.getSnapshot(), true),
    });
  }

  /** Resolves once plugin `id`'s snapshot satisfies `predicate`, or its actor is no longer active. */
  #until(id: string, predicate: (snapshot: PluginSnapshot) => boolean): Promise<void> {
    const actor = this.#actors.get(id)!;
    const current = actor.getSnapshot();
    if (predicate(current) || current.status !== "active") return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.#waiters.get(id);
      if (list) list.push({ predicate, resolve });
      else this.#waiters.set(id, [{ predicate, resolve }]);
    });
  }

  #wake(id: string, snapshot: PluginSnapshot, all: boolean): void {
    const list = this.#waiters.get(id);
    if (list === undefined) return;
    const waiting = list.filter((waiter) => {
      if (!all && !waiter.predicate(snapshot)) return true;
      waiter.resolve();
      return false;
    });
    if (waiting.length === 0) this.#waiters.delete(id);
    else this.#waiters.set(id, waiting);
  }

  get(id: string): PluginActor | undefined {
    return this.#actors.get(id);
  }

  ids(): string[] {
    return [...this.#actors.keys()];
  }

  statuses(): PluginStatus[] {
    return [...this.#actors.values()].map((actor) => statusOf(actor.getSnapshot()));
  }

  /** Resolves once every plugin has finished loading. */
  async loadAll(): Promise<void> {
    await Promise.all([...this.#actors.keys()].map((id) => this.#until(id, atRest)));
  }

  /**
   * Starts every `loaded` plugin: independent ones concurrently, each after the plugins it depends on
   * are running. A missing, cyclic or failed dependency errors the dependent (phase `dependency`).
   * When `signal` aborts (shutdown began), nothing new is started.
   */
  async startAll(signal: AbortSignal): Promise<void> {
    const problems = analyseDependencies(
      [...this.#actors.values()]
        .map((actor) => actor.getSnapshot().context)
        .filter((context) => context.background)
        .map((context) => ({ id: context.pluginId, dependsOn: context.dependsOn })),
    );
    const started = new Map<string, Promise<void>>();

    const start = (id: string): Promise<void> => {
      let promise = started.get(id);
      if (!promise) {
        promise = this.#startOne(id, problems, start, signal);
        started.set(id, promise);
      }
      return promise;
    };

    await Promise.all(
      [...this.#actors.entries()]
        .filter(([, actor]) => stateOf(actor.getSnapshot()) === "loaded")
        .map(([id]) => start(id)),
    );
  }

  async #startOne(
    id: string,
    problems: Map<string, { code: ErrorCode; message: string }>,
    start: (id: string) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    const actor = this.#actors.get(id)!;
    if (stateOf(actor.getSnapshot()) !== "loaded") return;
    const problem = problems.get(id);
    if (problem) {
      actor.send({ type: "DEPENDENCY_FAILED", code: problem.code, message: problem.message });
      return;
    }
    const dependsOn = actor.getSnapshot().context.dependsOn;
    await Promise.all(dependsOn.map((dep) => start(dep)));
    if (signal.aborted || stateOf(actor.getSnapshot()) !== "loaded") return;

    for (const dep of dependsOn) {
      const depSnapshot = this.#actors.get(dep)!.getSnapshot();
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
    actor.send({ type: "START" });
    await this.#until(id, atRest);
  }

  /**
   * Applies an OTA update: running plugins resume (or restart, or reload when their code changed),
   * errored ones are retried; then everything `loaded` starts in dependency order.
   */
  async updateAll(changed: string[], generation: number, signal: AbortSignal): Promise<void> {
    for (const id of changed) {
      if (!this.#actors.has(id)) this.#log.warn(`update names unknown plugin '${id}'; ignored`);
    }
    const changedIds = new Set(changed);
    const settling: Promise<unknown>[] = [];
    for (const [id, actor] of this.#actors) {
      const snapshot = actor.getSnapshot();
      if (stateOf(snapshot) === "stopped" || !atRest(snapshot)) continue;
      actor.send({ type: "UPDATE", changed: changedIds.has(id), generation });
      settling.push(this.#until(id, atRest));
    }
    await Promise.all(settling);
    if (!signal.aborted) await this.startAll(signal);
  }

  /** Stops every plugin, each after the plugins that depend on it. Resolves when none is active. */
  async stopAll(): Promise<void> {
    const dependents = new Map<string, string[]>();
    for (const [id, actor] of this.#actors) {
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
        const waitFor = (dependents.get(id) ?? []).filter((dependent) => !inner.has(dependent));
        promise = Promise.all(waitFor.map((dependent) => stop(dependent, inner))).then(() =>
          this.#stopOne(id),
        );
        stopping.set(id, promise);
      }
      return promise;
    };
    await Promise.all(this.ids().map((id) => stop(id, new Set())));
  }

  async #stopOne(id: string): Promise<void> {
    const actor = this.#actors.get(id)!;
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
    const actor = this.#actors.get(id)!;
    await untilSnapshot(actor, atRest);
    if (this.#closing || stateOf(actor.getSnapshot()) === "inactive") return;
    actor.send({ type: "RESTART" });
    await untilSnapshot(actor, atRest);
    // A plugin whose load had failed was imported again: now start it.
    if (!this.#closing && stateOf(actor.getSnapshot()) === "loaded") {
      actor.send({ type: "START" });
      await untilSnapshot(actor, atRest);
    }
  }

  /** `shell.stopPlugin(id)`: stops the plugins that depend on it (transitively) first, then the plugin. */
  async stopWithDependents(id: string, visiting: ReadonlySet<string> = new Set()): Promise<void> {
    const inner = new Set(visiting).add(id);
    const dependents = [...this.#actors.entries()]
      .filter(([other, actor]) => !inner.has(other) && actor.getSnapshot().context.dependsOn.includes(id))
      .map(([other]) => other);
    await Promise.all(dependents.map((dependent) => this.stopWithDependents(dependent, inner)));
    const actor = this.#actors.get(id)!;
    await untilSnapshot(actor, atRest);
    await this.#stopOne(id);
  }

  /**
   * `shell.startPlugin(id)`: starts what it depends on (transitively) first, then the plugin. A dependency
   * that does not end up running leaves the plugin as it was and rejects with HANGAR_DEPENDENCY_FAILED.
   */
  async startWithDependencies(id: string, visiting: ReadonlySet<string> = new Set()): Promise<void> {
    const actor = this.#actors.get(id)!;
    const inner = new Set(visiting).add(id);
    for (const dep of actor.getSnapshot().context.dependsOn) {
      const depActor = this.#actors.get(dep);
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
    await untilSnapshot(actor, atRest);
    if (this.#closing) return;
    const state = stateOf(actor.getSnapshot());
    if (state === "loaded" || state === "stopped") actor.send({ type: "START" });
    else if (state === "errored" || state === "backoff") actor.send({ type: "RESTART" });
    else return;
    await untilSnapshot(actor, atRest);
  }

  /**
   * Shutdown began: plugins still importing are abandoned now, so a hung import cannot hold up boot, and
   * manual restarts/starts still waiting for their turn are dropped.
   */
  beginShutdown(): void {
    this.#closing = true;
    for (const actor of this.#actors.values()) {
      if (actor.getSnapshot().matches("loading")) actor.send({ type: "STOP" });
    }
  }

  /**
   * Stops one plugin (as at shutdown) and forgets it: its folder disappeared (SPEC §4, an update rescans).
   * A plugin that depends on it keeps running; when it next starts, it is errored as a missing dependency.
   */
  async remove(id: string): Promise<void> {
    const actor = this.#actors.get(id);
    if (!actor) return;
    await this.#stopOne(id);
    this.#actors.delete(id);
    actor.stop();
    this.#log.info("removed: its folder is gone", { pluginId: id });
  }

  /** The shutdown budget ran out: every plugin still in a hook is released now. */
  forceStop(message: string): void {
    for (const actor of this.#actors.values()) {
      if (actor.getSnapshot().status === "active") actor.send({ type: "FORCE_STOP", message });
    }
  }

  /** Stops every plugin actor (their last snapshots stay readable for status). */
  releaseAll(): void {
    for (const actor of this.#actors.values()) actor.stop();
  }

  /** One line per state change; the logger prefixes it with `[plugin-id]`. */
  #logProgress(snapshot: PluginSnapshot, previous: PluginState | null): void {
    const { pluginId, error, timings } = snapshot.context;
    const state = stateOf(snapshot);
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
        this.#log.error(`errored in phase ${error?.phase}: ${error?.code}: ${error?.message}`, {
          pluginId,
          state,
          phase: error?.phase,
          code: error?.code,
          // The plugin's own error, whose stack says where in its code the failure came from.
          ...errorField(this.#causeOf(pluginId)),
        });
        break;
      case "inactive":
        this.#log.info("inactive: UI-only, no background module", { pluginId });
        break;
      default:
        this.#log.info(state, { pluginId });
    }
  }
}
