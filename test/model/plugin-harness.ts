// The plugin machine's model (events, outcomes, abstract states) and a replay that checks the plugin's
// ownership and hook rules after every step: contexts are real DisposableStores, hooks are controlled promises.
import type { AnyMachineSnapshot } from "xstate";
import { DisposableStore } from "../../src/base/disposable.js";
import {
  type PluginLoadOutput,
  type PluginMachineContext,
  type PluginMachineInput,
  type pluginMachine,
  pluginStateOf,
} from "../../src/machines/plugin.machine.js";
import {
  buildModel,
  type MachineModel,
  type ModelPath,
  type ModelSpec,
} from "../../src/testing/model/graph.js";
import { Replay } from "../../src/testing/model/replay.js";

export type PluginMachine = typeof pluginMachine;

export const PLUGIN_INPUT: PluginMachineInput = {
  pluginId: "demo",
  timeouts: { load: 2000, start: 1000, stop: 500, resume: 800 },
  generation: 0,
};

const load = (overrides: Partial<PluginLoadOutput>): PluginLoadOutput => ({
  version: "1.0.0",
  name: "Demo",
  background: true,
  dependsOn: [],
  hasOnResume: false,
  timeouts: {},
  loadMs: 3,
  ...overrides,
});
const started = { startedAt: "2026-01-01T00:00:00.000Z", durationMs: 5 };

const USER_EVENTS = [
  { type: "START" },
  { type: "STOP" },
  { type: "UPDATE", changed: true, generation: 1 },
  { type: "UPDATE", changed: false, generation: 1 },
  {
    type: "DEPENDENCY_FAILED",
    code: "HANGAR_DEPENDENCY_FAILED",
    message: "Plugin 'demo' depends on 'base'.",
  },
  { type: "WARN", message: "slow disk" },
  { type: "FORCE_STOP", message: "The whole shutdown exceeded its budget." },
  { type: "CRASH", code: "HANGAR_PLUGIN_CRASHED", message: "Plugin 'demo' crashed while running." },
  { type: "RESTART" },
] as const;

/** A restart leaves the window: the machine raises this itself, windowMs after the restart. */
const EXPIRY = { type: "RESTART_EXPIRED" } as const;

/** States in which the plugin holds exactly one context (SPEC §3): exactly while in `active`. */
const HOLDS_CONTEXT = (snapshot: AnyMachineSnapshot) => snapshot.matches("active");

/** The only state each hook may be called in. */
const HOOK_STATE: Record<string, string> = {
  loadPlugin: "loading",
  runOnStart: "starting",
  runOnResume: "resuming",
  runOnStop: "stopping",
};

/** States a plugin rests in once told to stop and left alone. */
export const PLUGIN_SETTLED = new Set(["stopped", "errored", "inactive"]);

/** The abstract state: the value plus every context field a guard reads (and the error phase, for reports). */
export function serializePlugin(snapshot: AnyMachineSnapshot): string {
  const context = snapshot.context as PluginMachineContext;
  return JSON.stringify({
    state: snapshot.value,
    stopRequested: context.stopRequested,
    hasOnResume: context.hasOnResume,
    restarts: context.restarts,
    policy: context.restartPolicy.policy,
    maxRestarts: context.restartPolicy.maxRestarts,
    background: context.background,
    isolated: context.isolated,
    startWhenLoaded: context.startWhenLoaded,
    error: context.error?.phase ?? null,
  });
}

export function pluginSpec(machine: PluginMachine): ModelSpec<PluginMachine> {
  return {
    machine,
    input: PLUGIN_INPUT,
    serializeState: serializePlugin,
    // The expiry only matters (and only happens) while restarts are counted.
    userEvents: (snapshot) =>
      (snapshot.context as PluginMachineContext).restarts > 0 ? [...USER_EVENTS, EXPIRY] : USER_EVENTS,
    outcomes: {
      loadPlugin: {
        outputs: [
          load({ background: false }),
          load({}),
          load({ hasOnResume: true, restart: { maxRestarts: 1 } }),
          // In a worker: the machine's own needsLoad (no shell) takes its module for gone at every start.
          load({ isolated: true }),
          load({ restart: { policy: "never" } }),
        ],
        errors: [new Error("Cannot find module './missing.js'")],
      },
      runOnStart: { outputs: [started], errors: [new Error("onStart failed")] },
      runOnResume: { outputs: [started], errors: [new Error("onResume failed")] },
      runOnStop: { outputs: [{ durationMs: 2 }], errors: [new Error("onStop failed")] },
    },
  };
}

export function pluginModel(machine: PluginMachine): MachineModel {
  return buildModel(pluginSpec(machine));
}

/** A real plugin actor plus what a plugin author would observe: its contexts and its hook calls. */
export class PluginReplay {
  readonly replay: Replay<PluginMachine>;
  readonly contexts: DisposableStore[] = [];
  readonly hooks: string[] = [];
  /** A successful onStart/onResume not yet followed by onStop (or by another start/resume). */
  #live = false;
  #problems: string[] = [];

  constructor(machine: PluginMachine) {
    const provided = machine.provide({
      actions: {
        createContext: () => {
          if (this.openContexts > 0) this.#problems.push("createContext while a context is still open");
          this.contexts.push(new DisposableStore());
        },
        disposeContext: () => {
          const open = this.contexts.find((store) => !store.isDisposed);
          if (!open) this.#problems.push("disposeContext with no open context");
          open?.dispose();
        },
      },
    });
    this.replay = new Replay({
      machine: provided,
      input: PLUGIN_INPUT,
      actors: Object.keys(HOOK_STATE),
      serializeState: serializePlugin,
      onInvoke: (call, snapshot) => this.#onInvoke(call.src, snapshot),
      onResolve: (call) => {
        if (call.src === "runOnStart" || call.src === "runOnResume") this.#live = true;
      },
    });
    this.check();
  }

  get openContexts(): number {
    return this.contexts.filter((store) => !store.isDisposed).length;
  }

  /** The state as status reports it (`stopping`, not `{ active: { stopping: "toStopped" } }`). */
  get value(): string {
    return pluginStateOf(this.replay.snapshot.value);
  }

  /** Replays a path, checking after every step (violations collect in `replay.violations`). */
  async run(path: ModelPath): Promise<void> {
    for (const [index, step] of path.steps.entries()) {
      await this.replay.step(step, `step ${index + 1} of path for ${path.goal}`);
      this.check();
    }
  }

  /** Shutdown as the shell does it: STOP, then every hook settles successfully. */
  async shutDown(where: string): Promise<void> {
    // A finished actor ignores events; sending one would only make XState warn.
    if (this.replay.snapshot.status === "active") await this.replay.cause({ type: "STOP" });
    await this.replay.drain(
      { settle: (src) => ({ output: src === "loadPlugin" ? load({}) : started }) },
      `shutdown after ${where}`,
    );
    this.check();
    if (!PLUGIN_SETTLED.has(this.value)) this.replay.violation(`STOP left the plugin ${this.value}`);
    if (this.#live) this.replay.violation("the plugin was started and never stopped");
  }

  /** Checks the ownership rules in the current state and reports hook problems seen since the last check. */
  check(): void {
    for (const problem of this.#problems) this.replay.violation(problem);
    this.#problems = [];
    const expected = HOLDS_CONTEXT(this.replay.snapshot) ? 1 : 0;
    if (this.openContexts !== expected) {
      this.replay.violation(`${this.openContexts} contexts open in ${this.value}, expected ${expected}`);
    }
  }

  #onInvoke(src: string, snapshot: AnyMachineSnapshot): void {
    this.hooks.push(src);
    const state = pluginStateOf(snapshot.value);
    if (HOOK_STATE[src] !== state) this.#problems.push(`${src} called in ${state}`);
    if (src === "runOnStop" && !this.#live) {
      this.#problems.push("onStop called without a successful onStart/onResume before it");
    }
    if (src === "runOnResume" && !this.#live)
      this.#problems.push("onResume called on a plugin that is not running");
    if (src === "runOnStart" && this.#live) this.#problems.push("onStart called again without onStop");
    if ((src === "runOnStart" || src === "runOnResume") && this.openContexts !== 1) {
      this.#problems.push(`${src} called with ${this.openContexts} open contexts`);
    }
    if (src !== "loadPlugin") this.#live = false;
  }
}
