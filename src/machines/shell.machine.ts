// The shell's lifecycle (SPEC §4–§5) as a pure statechart: auth, server and plugin discovery in parallel
// (each discovered plugin begins to load at once), then start-up, updates and a bounded shutdown. Plugins are separate root actors driven by the
// provided `startPlugins`/`updatePlugins`/`stopPlugins` actors, so start-up and shutdown stay linear
// in the number of plugins (XState copies `snapshot.children` on every spawn: statelyai/xstate#4990).
import { assign, fromPromise, setup } from "xstate";
import { type ErrorCode, errorMessage, messageOf } from "../errors.js";

export interface ShellMachineInput {
  timeouts: { auth: number; shutdown: number };
}

export interface ShellFailure {
  code: ErrorCode;
  message: string;
}

export interface ShellMachineContext {
  authTimeout: number;
  shutdownTimeout: number;
  authenticated: boolean;
  /** Bumped for every update: plugins re-imported in it get a fresh module instance. */
  generation: number;
  /** Plugin ids whose code changed, for the update in progress. */
  changed: string[];
  /** Updates that arrived while starting or updating, merged; run once the current step settles. */
  pendingUpdate: string[] | null;
  /** A STOP that arrived while booting: honoured once booting settles. */
  stopRequested: boolean;
  failure: ShellFailure | null;
}

export type ShellMachineEvent =
  | { type: "START" }
  | { type: "STOP" }
  | { type: "UPDATE"; changed: string[] }
  | { type: "AUTH.CHANGED"; authenticated: boolean };

function notProvided<TOutput, TInput = void>(name: string) {
  return fromPromise<TOutput, TInput>(async () => {
    throw new Error(`shell machine: actor '${name}' was not provided`);
  });
}

function toFailure(cause: unknown, fallback: ErrorCode): ShellFailure {
  const code = (cause as { code?: unknown } | null)?.code;
  const message = (cause as { message?: unknown } | null)?.message;
  return {
    code: typeof code === "string" && code.startsWith("HANGAR_") ? (code as ErrorCode) : fallback,
    message: typeof message === "string" ? message : String(cause),
  };
}

export const shellMachine = setup({
  types: {
    context: {} as ShellMachineContext,
    events: {} as ShellMachineEvent,
    input: {} as ShellMachineInput,
  },
  actors: {
    initAuth: notProvided<{ authenticated: boolean }>("initAuth"),
    listen: notProvided<{ url: string }>("listen"),
    /** Reads the plugin folders and registers each plugin; their imports begin and run on by themselves. */
    discoverPlugins: notProvided<void>("discoverPlugins"),
    /** Starts each plugin as soon as it and what it depends on have loaded; settles when every plugin has. */
    startPlugins: notProvided<void>("startPlugins"),
    updatePlugins: notProvided<void, { changed: string[]; generation: number }>("updatePlugins"),
    stopPlugins: notProvided<void>("stopPlugins"),
    closeServer: notProvided<void>("closeServer"),
    flushConfig: notProvided<void>("flushConfig"),
  },
  actions: {
    /** Logs why the shell continues unauthenticated (provided by the shell). */
    reportAuthProblem: (_, _params: { code: ErrorCode; message: string }) => {},
    /** Logs a failure of one of the shell's own steps (provided by the shell). */
    reportStepFailure: (_, _params: { step: string; error: unknown }) => {},
    /** The shutdown budget ran out: force every plugin and socket closed now (provided by the shell). */
    forceRelease: () => {},
    /** Start-up failed before any plugin started: release the loaded plugin actors (provided by the shell). */
    releasePlugins: () => {},
    /** Start-up failed: release what the shell opened (server, bridge, data-folder lock; provided by the shell). */
    releaseResources: () => {},
    requestStop: assign({ stopRequested: true }),
    queueUpdate: assign(({ context }, params: { changed: string[] }) => ({
      pendingUpdate: [...new Set([...(context.pendingUpdate ?? []), ...params.changed])],
    })),
    beginQueuedUpdate: assign(({ context }) => ({
      changed: context.pendingUpdate ?? [],
      pendingUpdate: null,
      generation: context.generation + 1,
    })),
    beginUpdate: assign(({ context }, params: { changed: string[] }) => ({
      changed: params.changed,
      generation: context.generation + 1,
    })),
    setAuthenticated: assign((_, params: { authenticated: boolean }) => ({
      authenticated: params.authenticated,
    })),
    setFailure: assign((_, params: { error: unknown; fallback: ErrorCode }) => ({
      failure: toFailure(params.error, params.fallback),
    })),
  },
  guards: {
    stopRequested: ({ context }) => context.stopRequested,
    updatePending: ({ context }) => context.pendingUpdate !== null,
  },
  delays: {
    authTimeout: ({ context }) => context.authTimeout,
    shutdownTimeout: ({ context }) => context.shutdownTimeout,
  },
}).createMachine({
  id: "shell",
  context: ({ input }) => ({
    authTimeout: input.timeouts.auth,
    shutdownTimeout: input.timeouts.shutdown,
    authenticated: false,
    generation: 0,
    changed: [],
    pendingUpdate: null,
    stopRequested: false,
    failure: null,
  }),
  initial: "idle",
  on: {
    "AUTH.CHANGED": {
      actions: { type: "setAuthenticated", params: ({ event }) => event },
    },
  },
  states: {
    idle: {
      on: {
        START: "booting",
        STOP: "stopped",
      },
    },

    booting: {
      // Auth initialises while the server starts listening and the plugins are discovered, whose modules begin
      // to load (SPEC §4.1). A slow import holds up nothing here: `starting` waits for each plugin on its own.
      type: "parallel",
      states: {
        auth: {
          initial: "initialising",
          states: {
            initialising: {
              invoke: {
                src: "initAuth",
                onDone: {
                  target: "done",
                  actions: { type: "setAuthenticated", params: ({ event }) => event.output },
                },
                onError: {
                  target: "done",
                  actions: {
                    type: "reportAuthProblem",
                    params: ({ event }) => ({
                      code: "HANGAR_AUTH_FAILED",
                      message: errorMessage("HANGAR_AUTH_FAILED", { reason: messageOf(event.error) }),
                    }),
                  },
                },
              },
              after: {
                authTimeout: {
                  target: "done",
                  actions: {
                    type: "reportAuthProblem",
                    params: ({ context }) => ({
                      code: "HANGAR_AUTH_TIMEOUT",
                      message: errorMessage("HANGAR_AUTH_TIMEOUT", { limitMs: context.authTimeout }),
                    }),
                  },
                },
              },
            },
            done: { type: "final" },
          },
        },
        server: {
          initial: "listening",
          states: {
            listening: {
              invoke: {
                src: "listen",
                onDone: "done",
                onError: {
                  target: "#shell.failed",
                  actions: {
                    type: "setFailure",
                    params: ({ event }) => ({ error: event.error, fallback: "HANGAR_SERVER_LISTEN" }),
                  },
                },
              },
            },
            done: { type: "final" },
          },
        },
        plugins: {
          initial: "discovering",
          states: {
            discovering: {
              invoke: {
                src: "discoverPlugins",
                onDone: "done",
                onError: {
                  target: "#shell.failed",
                  actions: {
                    type: "setFailure",
                    params: ({ event }) => ({ error: event.error, fallback: "HANGAR_INTERNAL" }),
                  },
                },
              },
            },
            done: { type: "final" },
          },
        },
      },
      onDone: [{ guard: "stopRequested", target: "shuttingDown" }, { target: "starting" }],
      on: {
        STOP: { actions: "requestStop" },
        UPDATE: { actions: { type: "queueUpdate", params: ({ event }) => event } },
      },
    },

    starting: {
      invoke: {
        src: "startPlugins",
        onDone: [
          { guard: "updatePending", target: "updating", actions: "beginQueuedUpdate" },
          { target: "running" },
        ],
        onError: {
          target: "shuttingDown",
          actions: [
            {
              type: "reportStepFailure",
              params: ({ event }) => ({ step: "startPlugins", error: event.error }),
            },
            {
              type: "setFailure",
              params: ({ event }) => ({ error: event.error, fallback: "HANGAR_INTERNAL" }),
            },
          ],
        },
      },
      on: {
        // Leaving aborts the start procedure: nothing new starts, and shutdown stops what did.
        STOP: "shuttingDown",
        UPDATE: { actions: { type: "queueUpdate", params: ({ event }) => event } },
      },
    },

    running: {
      on: {
        UPDATE: {
          target: "updating",
          actions: { type: "beginUpdate", params: ({ event }) => event },
        },
        STOP: "shuttingDown",
      },
    },

    updating: {
      invoke: {
        src: "updatePlugins",
        input: ({ context }) => ({ changed: context.changed, generation: context.generation }),
        onDone: [
          { guard: "updatePending", target: "updating", reenter: true, actions: "beginQueuedUpdate" },
          { target: "running" },
        ],
        onError: [
          {
            // A failed update must not swallow the ones queued behind it.
            guard: "updatePending",
            target: "updating",
            reenter: true,
            actions: [
              {
                type: "reportStepFailure",
                params: ({ event }) => ({ step: "updatePlugins", error: event.error }),
              },
              "beginQueuedUpdate",
            ],
          },
          {
            target: "running",
            actions: {
              type: "reportStepFailure",
              params: ({ event }) => ({ step: "updatePlugins", error: event.error }),
            },
          },
        ],
      },
      on: {
        UPDATE: { actions: { type: "queueUpdate", params: ({ event }) => event } },
        STOP: "shuttingDown",
      },
    },

    shuttingDown: {
      initial: "stoppingPlugins",
      states: {
        stoppingPlugins: {
          invoke: {
            src: "stopPlugins",
            onDone: "closingServer",
            onError: {
              target: "closingServer",
              actions: {
                type: "reportStepFailure",
                params: ({ event }) => ({ step: "stopPlugins", error: event.error }),
              },
            },
          },
        },
        closingServer: {
          invoke: {
            src: "closeServer",
            onDone: "flushingConfig",
            onError: {
              target: "flushingConfig",
              actions: {
                type: "reportStepFailure",
                params: ({ event }) => ({ step: "closeServer", error: event.error }),
              },
            },
          },
        },
        flushingConfig: {
          invoke: {
            src: "flushConfig",
            onDone: "#shell.stopped",
            onError: {
              target: "#shell.stopped",
              actions: {
                type: "reportStepFailure",
                params: ({ event }) => ({ step: "flushConfig", error: event.error }),
              },
            },
          },
        },
      },
      after: {
        // The whole shutdown is bounded, even when a plugin's onStop ignores its own timeout.
        shutdownTimeout: { target: "stopped", actions: "forceRelease" },
      },
    },

    stopped: { type: "final" },

    failed: {
      type: "final",
      entry: ["releasePlugins", "releaseResources"],
    },
  },
});
