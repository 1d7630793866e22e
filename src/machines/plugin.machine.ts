// The lifecycle of one plugin's background module (SPEC §4), as a pure statechart.
// All I/O (importing the module, calling onStart/onStop/onResume, creating and disposing its context)
// is provided by the shell through named actors and actions, so tests and diagrams use this same machine.
import { assign, fromPromise, setup } from "xstate";
import type { ErrorCode, PluginPhase } from "../errors.js";
import type { PluginErrorInfo } from "../status.js";

/** Per-plugin timeouts in ms. */
export interface PluginTimeouts {
  start: number;
  stop: number;
  resume: number;
}

/** What loading a plugin tells the machine (no functions: snapshots must serialise). */
export interface PluginLoadOutput {
  version: string;
  name: string;
  background: boolean;
  dependsOn: string[];
  hasOnResume: boolean;
  /** Overrides from plugin.json; missing ones keep the shell's defaults. */
  timeouts: Partial<PluginTimeouts>;
  loadMs: number;
}

/** What a successful onStart/onResume tells the machine. */
export interface PluginRunOutput {
  startedAt: string;
  durationMs: number;
}

export interface PluginMachineInput {
  pluginId: string;
  /** The shell's default timeouts; plugin.json may override them. */
  timeouts: PluginTimeouts;
  /** Import generation: a new generation gets a fresh module instance. */
  generation: number;
  /** From a valid plugin.json read before loading, so status names the plugin even if its import fails. */
  version?: string;
  name?: string;
}

export interface PluginMachineContext {
  pluginId: string;
  version: string;
  name: string;
  background: boolean;
  dependsOn: string[];
  hasOnResume: boolean;
  defaultTimeouts: PluginTimeouts;
  timeouts: PluginTimeouts;
  generation: number;
  error: PluginErrorInfo | null;
  warnings: string[];
  startedAt: string | null;
  timings: { loadMs: number | null; startMs: number | null; resumeMs: number | null };
  /** A STOP arrived while a step was in flight: honour it once the step settles. */
  stopRequested: boolean;
  /** Where `stopping` goes when onStop settles: an update restarts or reloads, a shutdown stops. */
  afterStop: "stopped" | "restart" | "reload" | "crashed";
}

export type PluginMachineEvent =
  | { type: "START" }
  | { type: "STOP" }
  | { type: "UPDATE"; changed: boolean; generation: number }
  | { type: "DEPENDENCY_FAILED"; code: ErrorCode; message: string }
  | { type: "WARN"; message: string }
  | { type: "FORCE_STOP"; message: string }
  /** The plugin's code failed outside any hook (SPEC §11): a throw in its timer, a rejection it never handled. */
  | { type: "CRASH"; code: ErrorCode; message: string };

/** Input every plugin actor (load, onStart, onStop, onResume) receives. */
export interface PluginActorInput {
  pluginId: string;
  generation: number;
}

/** A placeholder the shell replaces through `.provide()`; tests provide their own. */
function notProvided<T>(name: string) {
  return fromPromise<T, PluginActorInput>(async () => {
    throw new Error(`plugin machine: actor '${name}' was not provided`);
  });
}

/** Turns whatever an actor rejected with into the status' error, keeping a `HANGAR_*` code when it has one. */
function toErrorInfo(
  pluginId: string,
  phase: PluginPhase,
  fallback: ErrorCode,
  cause: unknown,
): PluginErrorInfo {
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

function timeoutInfo(
  context: PluginMachineContext,
  phase: "start" | "stop" | "resume",
  code: ErrorCode,
): PluginErrorInfo {
  const hook = { start: "onStart", stop: "onStop", resume: "onResume" }[phase];
  const limit = context.timeouts[phase];
  return {
    phase,
    code,
    message:
      `Plugin '${context.pluginId}' did not finish ${hook} within ${limit} ms (phase ${phase}). ` +
      `Make ${hook} settle sooner (start slow work in the background), or raise ` +
      `background.${phase}TimeoutMs in plugin.json.`,
  };
}

const actorInput = ({ context }: { context: PluginMachineContext }): PluginActorInput => ({
  pluginId: context.pluginId,
  generation: context.generation,
});

/** The shutdown budget ran out while this plugin was still in a hook: release it and record why. */
const forceStop = {
  target: "errored",
  actions: [
    "disposeContext",
    {
      type: "assignForced",
      params: ({ event }: { event: { message?: string } }) => ({ message: event.message ?? "" }),
    },
  ],
} as const;

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
    /** A retry on update starts afresh: a STOP recorded before the failure no longer applies. */
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
      timeouts: { ...context.defaultTimeouts, ...output.timeouts },
      timings: { ...context.timings, loadMs: output.loadMs },
    })),
    assignStarted: assign(({ context }, output: PluginRunOutput) => ({
      startedAt: output.startedAt,
      timings: { ...context.timings, startMs: output.durationMs },
    })),
    assignResumed: assign(({ context }, output: PluginRunOutput) => ({
      startedAt: output.startedAt,
      timings: { ...context.timings, resumeMs: output.durationMs },
    })),
    assignGeneration: assign((_, params: { generation: number }) => ({ generation: params.generation })),
    assignFailure: assign(
      ({ context }, params: { phase: PluginPhase; fallback: ErrorCode; cause: unknown }) => ({
        error: toErrorInfo(context.pluginId, params.phase, params.fallback, params.cause),
      }),
    ),
    assignTimeout: assign(({ context }, params: { phase: "start" | "stop" | "resume"; code: ErrorCode }) => ({
      error: timeoutInfo(context, params.phase, params.code),
    })),
    assignForced: assign((_, params: { message: string }) => ({
      error: {
        phase: "stop" as const,
        code: "HANGAR_SHUTDOWN_TIMEOUT" as const,
        message: params.message,
      },
    })),
  },
  guards: {
    uiOnly: (_, params: { background: boolean }) => !params.background,
    stopRequested: ({ context }) => context.stopRequested,
    hasOnResume: ({ context }) => context.hasOnResume,
    codeChanged: ({ event }) => event.type === "UPDATE" && event.changed,
    failedToLoad: ({ context }) => context.error?.phase === "load",
    restartAfterStop: ({ context }) => context.afterStop === "restart",
    reloadAfterStop: ({ context }) => context.afterStop === "reload",
    crashed: ({ context }) => context.afterStop === "crashed",
  },
  delays: {
    startTimeout: ({ context }) => context.timeouts.start,
    stopTimeout: ({ context }) => context.timeouts.stop,
    resumeTimeout: ({ context }) => context.timeouts.resume,
  },
}).createMachine({
  id: "plugin",
  context: ({ input }) => ({
    pluginId: input.pluginId,
    version: input.version ?? "0.0.0",
    name: input.name ?? input.pluginId,
    background: true,
    dependsOn: [],
    hasOnResume: false,
    defaultTimeouts: input.timeouts,
    timeouts: input.timeouts,
    generation: input.generation,
    error: null,
    warnings: [],
    startedAt: null,
    timings: { loadMs: null, startMs: null, resumeMs: null },
    stopRequested: false,
    afterStop: "stopped",
  }),
  initial: "loading",
  on: {
    WARN: { actions: { type: "addWarning", params: ({ event }) => ({ message: event.message }) } },
  },
  states: {
    loading: {
      invoke: {
        src: "loadPlugin",
        input: actorInput,
        onDone: [
          {
            guard: { type: "uiOnly", params: ({ event }) => event.output },
            target: "inactive",
            actions: { type: "assignLoaded", params: ({ event }) => event.output },
          },
          {
            guard: "stopRequested",
            target: "stopped",
            actions: { type: "assignLoaded", params: ({ event }) => event.output },
          },
          { target: "loaded", actions: { type: "assignLoaded", params: ({ event }) => event.output } },
        ],
        onError: {
          target: "errored",
          actions: {
            type: "assignFailure",
            params: ({ event }) => ({ phase: "load", fallback: "HANGAR_LOAD_FAILED", cause: event.error }),
          },
        },
      },
      on: { STOP: { actions: "requestStop" } },
    },

    loaded: {
      on: {
        START: "starting",
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
      },
    },

    starting: {
      entry: "createContext",
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
          target: "errored",
          actions: [
            "disposeContext",
            {
              type: "assignFailure",
              params: ({ event }) => ({
                phase: "start",
                fallback: "HANGAR_START_FAILED",
                cause: event.error,
              }),
            },
          ],
        },
      },
      after: {
        startTimeout: {
          target: "errored",
          actions: [
            "disposeContext",
            { type: "assignTimeout", params: { phase: "start", code: "HANGAR_START_TIMEOUT" } },
          ],
        },
      },
      on: {
        STOP: { actions: "requestStop" },
        FORCE_STOP: forceStop,
      },
    },

    running: {
      on: {
        STOP: { target: "stopping", actions: assign({ afterStop: "stopped" }) },
        // The plugin failed outside any hook: onStop still runs (bounded) so it can release what it holds.
        CRASH: {
          target: "stopping",
          actions: assign({
            afterStop: "crashed" as const,
            error: ({ event }) => ({ phase: "run" as const, code: event.code, message: event.message }),
          }),
        },
        // The shutdown budget ran out before this plugin's turn to stop: release its context now.
        FORCE_STOP: forceStop,
        UPDATE: [
          {
            guard: "codeChanged",
            target: "stopping",
            actions: [
              assign({ afterStop: "reload" }),
              { type: "assignGeneration", params: ({ event }) => event },
            ],
          },
          { guard: "hasOnResume", target: "resuming" },
          { target: "stopping", actions: assign({ afterStop: "restart" }) },
        ],
      },
    },

    resuming: {
      // The old context goes before onResume receives a fresh one (SPEC §3).
      entry: ["disposeContext", "createContext"],
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
          target: "errored",
          actions: [
            "disposeContext",
            {
              type: "assignFailure",
              params: ({ event }) => ({
                phase: "resume",
                fallback: "HANGAR_RESUME_FAILED",
                cause: event.error,
              }),
            },
          ],
        },
      },
      after: {
        resumeTimeout: {
          target: "errored",
          actions: [
            "disposeContext",
            { type: "assignTimeout", params: { phase: "resume", code: "HANGAR_RESUME_TIMEOUT" } },
          ],
        },
      },
      on: {
        STOP: { actions: "requestStop" },
        FORCE_STOP: forceStop,
      },
    },

    stopping: {
      invoke: {
        src: "runOnStop",
        input: actorInput,
        onDone: [
          // A shutdown that arrived during an update's stop wins: do not restart afterwards.
          { guard: "stopRequested", target: "stopped", actions: "disposeContext" },
          { guard: "crashed", target: "errored", actions: "disposeContext" },
          { guard: "reloadAfterStop", target: "loading", actions: "disposeContext" },
          { guard: "restartAfterStop", target: "starting", actions: "disposeContext" },
          { target: "stopped", actions: "disposeContext" },
        ],
        onError: {
          target: "errored",
          actions: [
            "disposeContext",
            {
              type: "assignFailure",
              params: ({ event }) => ({ phase: "stop", fallback: "HANGAR_STOP_FAILED", cause: event.error }),
            },
          ],
        },
      },
      after: {
        stopTimeout: {
          target: "errored",
          actions: [
            "disposeContext",
            { type: "assignTimeout", params: { phase: "stop", code: "HANGAR_STOP_TIMEOUT" } },
          ],
        },
      },
      on: {
        STOP: { actions: "requestStop" },
        FORCE_STOP: forceStop,
      },
    },

    errored: {
      on: {
        // Errored plugins are retried on update; a failed load is read and imported again.
        UPDATE: [
          {
            guard: "failedToLoad",
            target: "loading",
            actions: [
              "clearError",
              "forgetStopRequest",
              { type: "assignGeneration", params: ({ event }) => event },
            ],
          },
          {
            guard: "codeChanged",
            target: "loading",
            actions: [
              "clearError",
              "forgetStopRequest",
              { type: "assignGeneration", params: ({ event }) => event },
            ],
          },
          { target: "loaded", actions: ["clearError", "forgetStopRequest"] },
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

    stopped: { type: "final" },
  },
});
