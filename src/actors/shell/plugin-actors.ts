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
import { type LoadDeps, loadPluginModule } from "./plugin-loading.js";

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
