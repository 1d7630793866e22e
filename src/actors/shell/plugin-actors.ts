// The plugin machine as the shell runs it: its loadPlugin/runOnStart/runOnResume/runOnStop actors and its
// createContext/disposeContext actions, given what they need (XState's setup()/.provide(): behaviour as data).
import { fromPromise } from "xstate";
import {
  type PluginActorInput,
  type PluginLoadOutput,
  type PluginRunOutput,
  pluginMachine,
} from "../../machines/plugin.machine.js";
import { type ContextDeps, closeContext, disposalReason, openContext } from "./contexts.js";
import { type HookDeps, runHook } from "./hooks.js";
import { type LoadDeps, loadPluginModule, loadsIsolated } from "./plugin-loading.js";

/** How much later than its worker's own limits (boot + import) the machine gives up on an isolated load, in ms. */
const ISOLATED_LOAD_BACKSTOP_MS = 1_000;

/** Everything the plugin machine's implementations reach. */
export type PluginActorDeps = HookDeps & LoadDeps & ContextDeps;

/** The plugin machine with the shell's implementations provided. */
export function providePluginMachine(deps: PluginActorDeps): typeof pluginMachine {
  /** Actions must never throw: a throwing action would put the actor in error (and reach uncaughtException). */
  const guarded = (pluginId: string, what: string, run: () => void): void => {
    try {
      run();
    } catch (error) {
      deps.logger.forPlugin(pluginId).error("hangar", `${what} failed`, error);
    }
  };
  return pluginMachine.provide({
    actors: {
      loadPlugin: fromPromise<PluginLoadOutput, PluginActorInput>(({ input, signal }) =>
        loadPluginModule(deps, input, signal),
      ),
      runOnStart: fromPromise<PluginRunOutput, PluginActorInput>(({ input, signal }) =>
        runHook(deps, input.pluginId, "start", signal),
      ),
      runOnResume: fromPromise<PluginRunOutput, PluginActorInput>(({ input, signal }) =>
        runHook(deps, input.pluginId, "resume", signal),
      ),
      runOnStop: fromPromise<{ durationMs: number }, PluginActorInput>(({ input, signal }) =>
        runHook(deps, input.pluginId, "stop", signal),
      ),
    },
    delays: {
      // An isolated plugin's worker bounds its boot and its import apart, each by the load timeout, and names
      // which one ran out (src/isolation/plugin-worker.ts): the machine's own limit is only the backstop behind them.
      // The first load's delay is resolved as the actor is created, before the shell knows its runtime: then
      // what discovery read decides (context.isolated).
      loadTimeout: ({ context }) =>
        (deps.plugins.runtime(context.pluginId) ? loadsIsolated(deps, context.pluginId) : context.isolated)
          ? 2 * context.timeouts.load + ISOLATED_LOAD_BACKSTOP_MS
          : context.timeouts.load,
    },
    guards: {
      // An isolated plugin whose worker died or is being ended: the start loads it again first (phase load).
      needsLoad: ({ context }) => deps.plugins.runtime(context.pluginId)?.worker?.gone() === true,
    },
    actions: {
      createContext: ({ context }) =>
        guarded(context.pluginId, "createContext", () => openContext(deps, context.pluginId)),
      disposeContext: ({ context, event, self }) =>
        guarded(context.pluginId, "disposeContext", () =>
          // `self` still shows the state being left (which stop, which step), the event what ended it.
          closeContext(
            deps,
            deps.plugins.runtime(context.pluginId)!,
            disposalReason(event.type, JSON.stringify(self.getSnapshot().value), context),
          ),
        ),
    },
  });
}
