// The lifecycle of one plugin's background module (SPEC §4, §11), as a pure statechart.
// All I/O (importing the module, calling onStart/onStop/onResume, creating and disposing its context)
// is provided by the shell through named actors and actions, so tests and diagrams use this same machine.
import { and, assign, enqueueActions, fromPromise, not, setup, stateIn } from "xstate";
import { type ErrorCode, errorMessage, type PluginPhase, phaseCodes } from "../errors.js";
import type { PluginErrorInfo, PluginState } from "../status.js";

/** Per-plugin timeouts in ms. */
export interface PluginTimeouts {
  /** Importing the entry module (SPEC §4: a top-level `await` that never settles). */
  load: number;
  start: number;
  stop: number;
  resume: number;
}

/**
 * What hangar does after a plugin crashes while running (SPEC §11, plugin.json `background.restart`).
 * The intensity rule is OTP's: at most `maxRestarts` restarts within any `windowMs`.
 */
export interface RestartPolicy {
  /** `"on-failure"` restarts after a crash in phase `run`; `"never"` leaves the plugin errored. */
  policy: "on-failure" | "never";
  /** Restarts allowed within `windowMs`; one more crash errors the plugin with `HANGAR_RESTART_LIMIT`. */
  maxRestarts: number;
  /** The sliding window, in ms, in which restarts are counted. */
  windowMs: number;
  /** The first restart's wait in ms; the n-th restart in the window waits backoffMs × 2^(n−1). */
  backoffMs: number;
}

/** SPEC §11's defaults. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  policy: "on-failure",
  maxRestarts: 3,
  windowMs: 300_000,
  backoffMs: 1_000,
};

/** No restart waits longer than this, whatever backoffMs and the count say (SPEC §11). */
export const MAX_BACKOFF_MS = 30_000;

/** What loading a plugin tells the machine (no functions: snapshots must serialise). */
export interface PluginLoadOutput {
  version: string;
  name: string;
  background: boolean;
  dependsOn: string[];
  hasOnResume: boolean;
  /** Overrides from plugin.json; missing ones keep the shell's defaults. */
  timeouts: Partial<PluginTimeouts>;
  /** `background.restart` from plugin.json; missing fields keep {@link DEFAULT_RESTART_POLICY}. */
  restart?: Partial<RestartPolicy>;
  /** The entry module's path relative to the plugin folder (for messages). */
  entry?: string;
  /** The module runs in a worker of its own (docs/isolation.md): it can be gone while the plugin is not. */
  isolated?: boolean;
  loadMs: number;
}

/** What a successful onStart/onResume tells the machine. */
export interface PluginRunOutput {
  startedAt: string;
  durationMs: number;
}

export interface PluginMachineInput {
  pluginId: string;
  /** The shell's default timeouts, with plugin.json's load timeout when discovery read one. */
  timeouts: PluginTimeouts;
  /** Import generation: a new generation gets a fresh module instance. */
  generation: number;
  /** From a valid plugin.json read before loading, so status names the plugin even if its import fails. */
  version?: string;
  name?: string;
  /** The entry module as plugin.json names it, when discovery read it (for the load-timeout message). */
  entry?: string;
  /** Discovery found that it runs in a worker of its own (plugin.json's `isolation`, or the shell's default). */
  isolated?: boolean;
}

export interface PluginMachineContext {
  pluginId: string;
  version: string;
  name: string;
  background: boolean;
  dependsOn: string[];
  hasOnResume: boolean;
  entry: string | null;
  defaultTimeouts: PluginTimeouts;
  timeouts: PluginTimeouts;
  restartPolicy: RestartPolicy;
  /** Restarts in the current window (SPEC §11: status `restarts`). Each one expires windowMs after it. */
  restarts: number;
  /**
   * Restarts ever scheduled: names the delayed expiry of each, so a reset can cancel the live ones. Absent
   * until the first restart: see {@link MAX_FAST_CONTEXT_KEYS}.
   */
  restartSerial?: number;
  generation: number;
  error: PluginErrorInfo | null;
  warnings: string[];
  startedAt: string | null;
  timings: { loadMs: number | null; startMs: number | null; resumeMs: number | null };
  /** A STOP arrived while a step was in flight: honour it once the step settles. */
  stopRequested: boolean;
  /** The plugin's module runs in a worker of its own (from the last load). */
  isolated: boolean;
  /**
   * A start (a restart after backoff, START/RESTART) found the module gone and sent the plugin through
   * `loading` first: once loaded, it goes on into `active` by itself. Cleared whenever `loading` is left.
   */
  startWhenLoaded: boolean;
}

/**
 * The most keys the context of an idle plugin may have (issue 13). XState copies the context with
 * `Object.assign({}, context, update)` at every assign; in V8 (Node 20) an object built that way with more
 * than 19 properties (4 in-object, then more than 15 in its property array) turns into a dictionary: about
 * 830 bytes more per plugin, kept by every idle plugin, and slower reads and copies in every step. Fields
 * only some plugins need (`restartSerial`) are therefore left out until first used.
 */
export const MAX_FAST_CONTEXT_KEYS = 19;

/**
 * The empty `dependsOn` and `warnings` of every plugin that has none: one frozen array shared by all (issue 13:
 * heap per idle plugin; two empty arrays per plugin before). The machine never mutates a context array.
 */
export const EMPTY_LIST: string[] = Object.freeze([]) as unknown as string[];

export type PluginMachineEvent =
  | { type: "START" }
  | { type: "STOP" }
  | { type: "UPDATE"; changed: boolean; generation: number }
  | { type: "DEPENDENCY_FAILED"; code: ErrorCode; message: string }
  | { type: "WARN"; message: string }
  | { type: "FORCE_STOP"; message: string }
  /** The plugin's code failed outside any hook (SPEC §11): a throw in its timer, a rejection it never handled. */
  | {
      type: "CRASH";
      code: ErrorCode;
      message: string;
      /** The stack of the plugin's own error, when it threw one: for observers (the inspector's errors view). */
      stack?: string;
    }
  /** `shell.restartPlugin(id)`: stop (when running) and start again with a fresh context. */
  | { type: "RESTART" }
  /** Internal: one restart left the sliding window (raised by the machine itself, windowMs after it). */
  | { type: "RESTART_EXPIRED" };

/** Input every plugin actor (load, onStart, onStop, onResume) receives. */
export interface PluginActorInput {
  pluginId: string;
  generation: number;
}

/**
 * Tags of the plugin machine's states, read by the shell and the server instead of lists of state names.
 * `busy`: on its way to running by itself — a request to the plugin waits (SPEC §6). `serving`: running.
 * `step`: an import or a hook is in flight, so the plugin moves on without a new event (the fleet waits).
 */
export const PLUGIN_TAGS = { busy: "busy", serving: "serving", step: "step" } as const;

/** The state a user sees (status.state): the top-level state, or the step inside `active`. */
export function pluginStateOf(value: unknown): PluginState {
  if (typeof value === "string") return value as PluginState;
  const active = (value as { active?: unknown }).active;
  if (typeof active === "string") return active as PluginState;
  if (active && typeof active === "object") return Object.keys(active)[0] as PluginState;
  return Object.keys(value as object)[0] as PluginState;
}

/** A placeholder the shell replaces through `.provide()`; tests provide their own. */
function notProvided<T>(name: string) {
  return fromPromise<T, PluginActorInput>(async () => {
    throw new Error(`plugin machine: actor '${name}' was not provided`);
  });
}

/** Turns whatever an actor rejected with into the status' error, keeping a `HANGAR_*` code when it has one. */
function toErrorInfo(pluginId: string, phase: PluginPhase, cause: unknown): PluginErrorInfo {
  const fallback = phaseCodes[phase].failed;
  const code = (cause as { code?: unknown } | null)?.code;
  const message = (cause as { message?: unknown } | null)?.message;
  return {
    phase,
    code: typeof code === "string" && code.startsWith("HANGAR_") ? (code as ErrorCode) : fallback,
    message:
      typeof message === "string" && message.length > 0
        ? message
        : `Plugin '${pluginId}' failed in phase ${phase}: ${String(cause)}`,
  };
}

function timeoutInfo(context: PluginMachineContext, phase: "start" | "stop" | "resume"): PluginErrorInfo {
  const hook = { start: "onStart", stop: "onStop", resume: "onResume" }[phase];
  const code = phaseCodes[phase].timeout;
  const limitMs = context.timeouts[phase];
  return { phase, code, message: errorMessage(code, { pluginId: context.pluginId, hook, limitMs, phase }) };
}

function loadTimeoutInfo(context: PluginMachineContext): PluginErrorInfo {
  const file = context.entry ? ` '${context.entry}'` : "";
  const code = phaseCodes.load.timeout;
  const limitMs = context.timeouts.load;
  return { phase: "load", code, message: errorMessage(code, { pluginId: context.pluginId, file, limitMs }) };
}

function restartLimitInfo(context: PluginMachineContext): PluginErrorInfo {
  const { maxRestarts, windowMs } = context.restartPolicy;
  const cause = context.error?.message ?? "unknown cause";
  const parts = { pluginId: context.pluginId, restarts: context.restarts, windowMs, maxRestarts, cause };
  return { phase: "run", code: "HANGAR_RESTART_LIMIT", message: errorMessage("HANGAR_RESTART_LIMIT", parts) };
}

/** The wait before the n-th restart in the window: backoffMs × 2^(n−1), at most {@link MAX_BACKOFF_MS}. */
export function backoffDelay(policy: RestartPolicy, restart: number): number {
  return Math.min(MAX_BACKOFF_MS, policy.backoffMs * 2 ** Math.max(0, restart - 1));
}

function hasKeys(value: object): boolean {
  for (const _ in value) return true;
  return false;
}

const actorInput = ({ context }: { context: PluginMachineContext }): PluginActorInput => ({
  pluginId: context.pluginId,
  generation: context.generation,
});

const expiryId = (serial: number) => `restart-expiry-${serial}`;

// Typed outside setup(): an enqueueActions inside setup's action map cannot infer the map it belongs to.
type Enqueue = typeof enqueueActions<
  PluginMachineContext,
  PluginMachineEvent,
  undefined,
  PluginMachineEvent,
  never,
  never,
  never,
  never,
  never
>;
const countRestart = (enqueueActions as Enqueue)(({ context, enqueue }) => {
  const serial = (context.restartSerial ?? 0) + 1;
  enqueue.assign({ restarts: context.restarts + 1, restartSerial: serial });
  enqueue.raise({ type: "RESTART_EXPIRED" }, { delay: context.restartPolicy.windowMs, id: expiryId(serial) });
});
const forgetStartWhenLoaded = (enqueueActions as Enqueue)(({ context, enqueue }) => {
  // Every load leaves through here: no assign (no copy of the context) unless there is something to clear.
  if (context.startWhenLoaded) enqueue.assign({ startWhenLoaded: false });
});
const resetRestarts = (enqueueActions as Enqueue)(({ context, enqueue }) => {
  // Nothing to reset (every stop and update enters here): no assign, so no copy of the context (issue 13).
  if (context.restarts === 0) return;
  for (let i = 0; i < context.restarts; i += 1) enqueue.cancel(expiryId((context.restartSerial ?? 0) - i));
  enqueue.assign({ restarts: 0 });
});

export const pluginMachine = setup({
  types: {
    context: {} as PluginMachineContext,
    events: {} as PluginMachineEvent,
    input: {} as PluginMachineInput,
  },
  actors: {
    loadPlugin: notProvided<PluginLoadOutput>("loadPlugin"),
    runOnStart: notProvided<PluginRunOutput>("runOnStart"),
    runOnResume: notProvided<PluginRunOutput>("runOnResume"),
    runOnStop: notProvided<{ durationMs: number }>("runOnStop"),
  },
  actions: {
    /** Creates a fresh PluginContext for the plugin (provided by the shell). */
    createContext: () => {},
    /** Disposes the plugin's current context: its routes and IPC handlers go, its signal aborts. */
    disposeContext: () => {},
    clearError: assign({ error: null }),
    requestStop: assign({ stopRequested: true }),
    /** A start afresh (update, manual start): a STOP recorded before no longer applies. */
    forgetStopRequest: assign({ stopRequested: false }),
    addWarning: assign({
      warnings: ({ context }, params: { message: string }) =>
        [...context.warnings, params.message].slice(-20),
    }),
    assignLoaded: assign(({ context }, output: PluginLoadOutput) => ({
      version: output.version,
      name: output.name,
      background: output.background,
      dependsOn: output.dependsOn,
      hasOnResume: output.hasOnResume,
      entry: output.entry ?? context.entry,
      // Shared, not copied, when plugin.json overrides nothing: thousands of plugins, one object (issue 13).
      timeouts: hasKeys(output.timeouts)
        ? { ...context.defaultTimeouts, ...output.timeouts }
        : context.defaultTimeouts,
      restartPolicy: output.restart
        ? { ...DEFAULT_RESTART_POLICY, ...output.restart }
        : DEFAULT_RESTART_POLICY,
      timings: { ...context.timings, loadMs: output.loadMs },
      isolated: output.isolated === true,
    })),
    /** A new import: the timings of the generation before no longer describe this plugin. */
    resetTimings: assign({ timings: { loadMs: null, startMs: null, resumeMs: null } }),
    assignStarted: assign(({ context }, output: PluginRunOutput) => ({
      startedAt: output.startedAt,
      timings: { ...context.timings, startMs: output.durationMs },
    })),
    assignResumed: assign(({ context }, output: PluginRunOutput) => ({
      startedAt: output.startedAt,
      timings: { ...context.timings, resumeMs: output.durationMs },
    })),
    assignGeneration: assign((_, params: { generation: number }) => ({ generation: params.generation })),
    assignFailure: assign(({ context }, params: { phase: PluginPhase; cause: unknown }) => ({
      error: toErrorInfo(context.pluginId, params.phase, params.cause),
    })),
    assignTimeout: assign(({ context }, params: { phase: "start" | "stop" | "resume" }) => ({
      error: timeoutInfo(context, params.phase),
    })),
    assignLoadTimeout: assign(({ context }) => ({ error: loadTimeoutInfo(context) })),
    assignCrash: assign((_, params: { phase: PluginPhase; code: ErrorCode; message: string }) => ({
      error: { phase: params.phase, code: params.code, message: params.message },
    })),
    assignRestartLimit: assign(({ context }) => ({ error: restartLimitInfo(context) })),
    assignForced: assign((_, params: { message: string }) => ({
      error: {
        phase: "stop" as const,
        code: "HANGAR_SHUTDOWN_TIMEOUT" as const,
        message: params.message,
      },
    })),
    /** Counts a restart and schedules its expiry windowMs later on the actor's clock (OTP's sliding window). */
    countRestart: countRestart,
    expireRestart: assign(({ context }) => ({ restarts: Math.max(0, context.restarts - 1) })),
    /** An update or a manual restart starts the count afresh: the live expiries are cancelled with it. */
    resetRestarts: resetRestarts,
    /** A start that found the module gone loads it first, then goes on into `active` (see `needsLoad`). */
    startWhenLoaded: assign({ startWhenLoaded: true }),
    forgetStartWhenLoaded: forgetStartWhenLoaded,
  },
  guards: {
    uiOnly: (_, params: { background: boolean }) => !params.background,
    stopRequested: ({ context }) => context.stopRequested,
    hasOnResume: ({ context }) => context.hasOnResume,
    codeChanged: ({ event }) => event.type === "UPDATE" && event.changed,
    failedToLoad: ({ context }) => context.error?.phase === "load",
    restartNever: ({ context }) => context.restartPolicy.policy === "never",
    restartLimitReached: ({ context }) => context.restarts >= context.restartPolicy.maxRestarts,
    hasRestarts: ({ context }) => context.restarts > 0,
    /**
     * The plugin's module is gone (an isolated plugin's worker died or was ended: a crash, a hook's timeout,
     * a stop that gave the worker back), so a start must import it again, in phase `load` under the load
     * timeout, not inside onStart under the start timeout. The shell provides the exact answer (is the worker
     * still there?); without it, the machine assumes every isolated plugin's module is gone here.
     */
    needsLoad: ({ context }) => context.isolated,
    startWhenLoaded: ({ context }) => context.startWhenLoaded,
  },
  delays: {
    loadTimeout: ({ context }) => context.timeouts.load,
    startTimeout: ({ context }) => context.timeouts.start,
    stopTimeout: ({ context }) => context.timeouts.stop,
    resumeTimeout: ({ context }) => context.timeouts.resume,
    restartBackoff: ({ context }) => backoffDelay(context.restartPolicy, context.restarts),
  },
}).createMachine({
  id: "plugin",
  context: ({ input }) => ({
    pluginId: input.pluginId,
    version: input.version ?? "0.0.0",
    name: input.name ?? input.pluginId,
    background: true,
    dependsOn: EMPTY_LIST,
    hasOnResume: false,
    entry: input.entry ?? null,
    defaultTimeouts: input.timeouts,
    timeouts: input.timeouts,
    restartPolicy: DEFAULT_RESTART_POLICY,
    restarts: 0,
    generation: input.generation,
    error: null,
    warnings: EMPTY_LIST,
    startedAt: null,
    timings: { loadMs: null, startMs: null, resumeMs: null },
    stopRequested: false,
    isolated: input.isolated === true,
    startWhenLoaded: false,
  }),
  initial: "loading",
  on: {
    WARN: { actions: { type: "addWarning", params: ({ event }) => ({ message: event.message }) } },
    RESTART_EXPIRED: { guard: "hasRestarts", actions: "expireRestart" },
  },
  states: {
    loading: {
      tags: ["busy", "step"],
      entry: "resetTimings",
      exit: "forgetStartWhenLoaded",
      invoke: {
        src: "loadPlugin",
        input: actorInput,
        onDone: [
          {
            guard: { type: "uiOnly", params: ({ event }) => event.output },
            target: "inactive",
            actions: { type: "assignLoaded", params: ({ event }) => event.output },
          },
          // Loaded again on the way to a start (the module was gone): go on starting.
          {
            guard: "startWhenLoaded",
            target: "active",
            actions: { type: "assignLoaded", params: ({ event }) => event.output },
          },
          { target: "loaded", actions: { type: "assignLoaded", params: ({ event }) => event.output } },
        ],
        onError: {
          target: "errored",
          actions: {
            type: "assignFailure",
            params: ({ event }) => ({ phase: "load", cause: event.error }),
          },
        },
      },
      // An import that never settles cannot be cancelled, only abandoned: its result is ignored from here on.
      after: { loadTimeout: { target: "errored", actions: "assignLoadTimeout" } },
      on: {
        // Nothing of the plugin runs yet (onStop is only for a started plugin), and an import cannot be
        // cancelled: a stop abandons it at once rather than wait on a top-level await that may never end.
        STOP: "stopped",
        FORCE_STOP: "stopped",
        // Code of the module being evaluated failed (its timer, say): a load failure, re-imported on update.
        CRASH: {
          target: "errored",
          actions: { type: "assignCrash", params: ({ event }) => ({ ...event, phase: "load" as const }) },
        },
      },
    },

    loaded: {
      tags: ["busy"],
      on: {
        START: "active",
        RESTART: "active",
        STOP: "stopped",
        FORCE_STOP: "stopped",
        DEPENDENCY_FAILED: {
          target: "errored",
          actions: assign({
            error: ({ event }) => ({
              phase: "dependency" as const,
              code: event.code,
              message: event.message,
            }),
          }),
        },
        UPDATE: {
          guard: "codeChanged",
          target: "loading",
          actions: { type: "assignGeneration", params: ({ event }) => event },
        },
        // Imported, not started: the crash (a leftover of the module's top level) is not restarted.
        CRASH: {
          target: "errored",
          actions: { type: "assignCrash", params: ({ event }) => ({ ...event, phase: "run" as const }) },
        },
      },
    },

    // The plugin holds exactly one context while in here: entry creates it, exit disposes it (SPEC §3).
    // A transition that must hand the plugin a fresh context leaves and re-enters this state.
    active: {
      entry: "createContext",
      exit: "disposeContext",
      initial: "starting",
      on: {
        // The shutdown budget ran out while this plugin was still in a hook: release it and record why.
        FORCE_STOP: {
          target: "errored",
          actions: { type: "assignForced", params: ({ event }) => ({ message: event.message }) },
        },
        // A running plugin with onResume and unchanged code resumes with a fresh context: declared here,
        // and re-entering, so the old context is disposed before the new one is created.
        UPDATE: {
          guard: and([stateIn("#plugin.active.running"), "hasOnResume"]),
          target: ".resuming",
          reenter: true,
        },
      },
      states: {
        starting: {
          tags: ["busy", "step"],
          invoke: {
            src: "runOnStart",
            input: actorInput,
            onDone: [
              {
                guard: "stopRequested",
                target: "stopping",
                actions: { type: "assignStarted", params: ({ event }) => event.output },
              },
              { target: "running", actions: { type: "assignStarted", params: ({ event }) => event.output } },
            ],
            onError: {
              target: "#plugin.errored",
              actions: {
                type: "assignFailure",
                params: ({ event }) => ({
                  phase: "start",
                  cause: event.error,
                }),
              },
            },
          },
          after: {
            startTimeout: {
              target: "#plugin.errored",
              actions: { type: "assignTimeout", params: { phase: "start" } },
            },
          },
          on: {
            STOP: { actions: "requestStop" },
            // onStart never succeeded, so onStop does not run and the crash is not restarted (a start failure).
            CRASH: {
              target: "#plugin.errored",
              actions: { type: "assignCrash", params: ({ event }) => ({ ...event, phase: "run" as const }) },
            },
          },
        },

        running: {
          tags: ["serving"],
          on: {
            STOP: "stopping",
            // The plugin failed outside any hook: onStop still runs (bounded) so it can release what it holds.
            CRASH: {
              target: "stopping.afterCrash",
              actions: { type: "assignCrash", params: ({ event }) => ({ ...event, phase: "run" as const }) },
            },
            RESTART: "stopping.toRestart",
            // With onResume and unchanged code, `active` handles UPDATE (a fresh context, see above).
            UPDATE: [
              {
                guard: "codeChanged",
                target: "stopping.toReload",
                actions: { type: "assignGeneration", params: ({ event }) => event },
              },
              { guard: not("hasOnResume"), target: "stopping.toRestart" },
            ],
          },
        },

        resuming: {
          tags: ["busy", "step"],
          invoke: {
            src: "runOnResume",
            input: actorInput,
            onDone: [
              {
                guard: "stopRequested",
                target: "stopping",
                actions: { type: "assignResumed", params: ({ event }) => event.output },
              },
              { target: "running", actions: { type: "assignResumed", params: ({ event }) => event.output } },
            ],
            onError: {
              target: "#plugin.errored",
              actions: {
                type: "assignFailure",
                params: ({ event }) => ({
                  phase: "resume",
                  cause: event.error,
                }),
              },
            },
          },
          after: {
            resumeTimeout: {
              target: "#plugin.errored",
              actions: { type: "assignTimeout", params: { phase: "resume" } },
            },
          },
          on: {
            STOP: { actions: "requestStop" },
            CRASH: {
              target: "#plugin.errored",
              actions: { type: "assignCrash", params: ({ event }) => ({ ...event, phase: "run" as const }) },
            },
          },
        },

        // onStop runs once, bounded. The substate says why the plugin is stopping, and so where it goes
        // when onStop settles: the branches of onDone read it with stateIn.
        stopping: {
          tags: ["step"],
          invoke: {
            src: "runOnStop",
            input: actorInput,
            onDone: [
              // An update without onResume, or shell.restartPlugin(): start again with a fresh context.
              {
                guard: stateIn("#plugin.active.stopping.toRestart"),
                target: "#plugin.active",
                reenter: true,
              },
              // An update that changed the plugin's code: import it again (a new module instance).
              { guard: stateIn("#plugin.active.stopping.toReload"), target: "#plugin.loading" },
              // After a crash the restart policy decides (SPEC §11).
              {
                guard: and([stateIn("#plugin.active.stopping.afterCrash"), "restartNever"]),
                target: "#plugin.errored",
              },
              {
                guard: and([stateIn("#plugin.active.stopping.afterCrash"), "restartLimitReached"]),
                target: "#plugin.errored",
                actions: "assignRestartLimit",
              },
              {
                guard: stateIn("#plugin.active.stopping.afterCrash"),
                target: "#plugin.backoff",
                actions: "countRestart",
              },
              { target: "#plugin.stopped" },
            ],
            onError: {
              target: "#plugin.errored",
              actions: {
                type: "assignFailure",
                params: ({ event }) => ({
                  phase: "stop",
                  cause: event.error,
                }),
              },
            },
          },
          after: {
            stopTimeout: {
              target: "#plugin.errored",
              actions: { type: "assignTimeout", params: { phase: "stop" } },
            },
          },
          on: {
            // Already on its way out: the crash is kept as a warning, the stop goes on.
            CRASH: { actions: { type: "addWarning", params: ({ event }) => ({ message: event.message }) } },
          },
          initial: "toStopped",
          states: {
            toStopped: {},
            toRestart: { tags: ["busy"], on: { STOP: "toStopped" } },
            toReload: { tags: ["busy"], on: { STOP: "toStopped" } },
            // A shutdown that arrives while a crashed plugin stops wins too: it is not restarted.
            // Busy: the policy most likely restarts it, so a request waits rather than get a 503 at once.
            afterCrash: { tags: ["busy"], on: { STOP: "toStopped" } },
          },
        },
      },
    },

    // Waiting to restart after a crash; the wait is an XState delay, so a simulated clock drives it.
    backoff: {
      tags: ["busy"],
      // An isolated plugin's worker died with the crash: it is booted and imported again in `loading`.
      after: {
        restartBackoff: [
          { guard: "needsLoad", target: "loading", actions: ["clearError", "startWhenLoaded"] },
          { target: "active", actions: "clearError" },
        ],
      },
      on: {
        RESTART: [
          { guard: "needsLoad", target: "loading", actions: ["clearError", "startWhenLoaded"] },
          { target: "active", actions: "clearError" },
        ],
        STOP: "stopped",
        FORCE_STOP: "stopped",
        // A leftover of the crashed generation: its context is gone; noted, not counted.
        CRASH: { actions: { type: "addWarning", params: ({ event }) => ({ message: event.message }) } },
        UPDATE: [
          {
            guard: "codeChanged",
            target: "loading",
            actions: [
              "clearError",
              "resetRestarts",
              { type: "assignGeneration", params: ({ event }) => event },
            ],
          },
          { guard: "needsLoad", target: "loading", actions: ["clearError", "resetRestarts"] },
          { target: "loaded", actions: ["clearError", "resetRestarts"] },
        ],
      },
    },

    errored: {
      on: {
        // Errored plugins are retried on update; a failed load is read and imported again. The restart
        // count starts afresh, so an update clears HANGAR_RESTART_LIMIT.
        UPDATE: [
          {
            guard: "failedToLoad",
            target: "loading",
            actions: [
              "clearError",
              "forgetStopRequest",
              "resetRestarts",
              { type: "assignGeneration", params: ({ event }) => event },
            ],
          },
          {
            guard: "codeChanged",
            target: "loading",
            actions: [
              "clearError",
              "forgetStopRequest",
              "resetRestarts",
              { type: "assignGeneration", params: ({ event }) => event },
            ],
          },
          {
            guard: "needsLoad",
            target: "loading",
            actions: ["clearError", "forgetStopRequest", "resetRestarts"],
          },
          { target: "loaded", actions: ["clearError", "forgetStopRequest", "resetRestarts"] },
        ],
        // shell.restartPlugin(): a plugin whose module never loaded is imported again first.
        RESTART: [
          {
            guard: "failedToLoad",
            target: "loading",
            actions: ["clearError", "forgetStopRequest", "resetRestarts"],
          },
          {
            guard: "needsLoad",
            target: "loading",
            actions: ["clearError", "forgetStopRequest", "resetRestarts", "startWhenLoaded"],
          },
          { target: "active", actions: ["clearError", "forgetStopRequest", "resetRestarts"] },
        ],
      },
    },

    inactive: {
      on: {
        UPDATE: {
          guard: "codeChanged",
          target: "loading",
          actions: { type: "assignGeneration", params: ({ event }) => event },
        },
      },
    },

    // Not final: shell.startPlugin()/restartPlugin() may start a stopped plugin again. A stop ends the
    // crash count (its pending expiries are cancelled): a later start begins a fresh window.
    stopped: {
      entry: "resetRestarts",
      // A stopped isolated plugin gave its worker back: it is booted and imported again in `loading`.
      on: {
        START: [
          {
            guard: "needsLoad",
            target: "loading",
            actions: ["clearError", "forgetStopRequest", "startWhenLoaded"],
          },
          { target: "active", actions: ["clearError", "forgetStopRequest"] },
        ],
        RESTART: [
          {
            guard: "needsLoad",
            target: "loading",
            actions: ["clearError", "forgetStopRequest", "startWhenLoaded"],
          },
          { target: "active", actions: ["clearError", "forgetStopRequest"] },
        ],
      },
    },
  },
});
