// Runs a plugin's onStart/onStop/onResume for the plugin machine's runOnStart/runOnStop/runOnResume actors:
// as the plugin's own code (its scope), in its worker when it is isolated, every failure a HangarError.
import path from "node:path";
import { runInScope } from "../../containment/attribution.js";
import { openFlow, type ShellContainment } from "../../containment/shell-containment.js";
import {
  createError,
  HangarError,
  hasHangarCode,
  messageOf,
  type PluginPhase,
  phaseCodes,
} from "../../errors.js";
import { safeThrown } from "../../thrown.js";
import { generationOf, type PluginRegistry } from "./plugin-runtime.js";

/** What running a hook needs: the registry and the containment that scopes the plugin's code. */
export interface HookDeps {
  plugins: PluginRegistry;
  containment: Pick<ShellContainment, "scope">;
}

const hookNames = { start: "onStart", stop: "onStop", resume: "onResume" } as const;

/** Runs one of a plugin's hooks, turning every failure into a HangarError that names plugin, phase and cause. */
export async function runHook(
  deps: HookDeps,
  pluginId: string,
  phase: "start" | "stop" | "resume",
  signal: AbortSignal,
): Promise<{ startedAt: string; durationMs: number }> {
  const runtime = deps.plugins.runtime(pluginId)!;
  const module = runtime.module;
  const hook = hookNames[phase];
  // Let the transition into starting/stopping/resuming be observed (and logged) before the hook runs.
  await Promise.resolve();
  const started = performance.now();
  // The hook runs as the plugin's code: what it schedules inherits the scope, and an error escaping it
  // while the hook is in flight fails the hook (SPEC §11).
  const flow = openFlow();
  runtime.hook = flow;
  // A new attempt: an older failure's error must not be logged with this one's (a timeout has none). A stop
  // after a failure keeps it: the errored record that follows is that failure's.
  if (phase !== "stop" || !deps.plugins.get(pluginId)?.getSnapshot().context.error)
    runtime.lastFailure = undefined;
  try {
    if (!module) throw new Error("the plugin has no background module loaded");
    if (runtime.worker) {
      // Isolated: the signal aborts when the hook times out, and the worker is ended (a busy loop included).
      // Through the module (the worker's proxy, or a test hook's wrapper of it), as in-process.
      const context = runtime.context?.context;
      await runtime.worker.withHookSignal(signal, () =>
        phase === "stop"
          ? module.onStop()
          : phase === "start"
            ? module.onStart(context!)
            : module.onResume?.(context!),
      );
    } else {
      const scope =
        runtime.scope ?? deps.containment.scope(pluginId, generationOf(deps.plugins, pluginId), null);
      const call = (): Promise<void> | void => {
        if (phase === "stop") return module.onStop();
        const context = runtime.context?.context;
        if (!context) throw new Error("no plugin context was created");
        if (phase === "start") return module.onStart(context);
        return module.onResume?.(context);
      };
      await Promise.race([runInScope({ ...scope, flow }, () => Promise.resolve().then(call)), flow.failed]);
    }
  } catch (thrown) {
    // What the plugin threw is read, logged and shown in its status: a value that throws when read does not.
    const cause = safeThrown(thrown);
    runtime.lastFailure = cause;
    throw hookFailure(pluginId, phase, hook, runtime.entryFile, cause);
  } finally {
    flow.close();
    if (runtime.hook === flow) runtime.hook = null;
  }
  return { startedAt: new Date().toISOString(), durationMs: Math.round(performance.now() - started) };
}

function hookFailure(
  pluginId: string,
  phase: PluginPhase,
  hook: string,
  entryFile: string | null,
  cause: unknown,
): HangarError {
  const where = entryFile ? ` (${path.basename(entryFile)})` : "";
  if (hasHangarCode(cause)) {
    // A coded cause keeps its code and its sentence (which says what to do); only where it happened is added.
    // An isolated hook whose worker was already busy never ran: it did not fail, it could not run.
    const verb = (cause as { hookNeverBegan?: boolean }).hookNeverBegan ? "could not run" : "failed in";
    return new HangarError(cause.code, `Plugin '${pluginId}' ${verb} ${hook}${where}: ${cause.message}`, {
      pluginId,
      phase,
      cause,
    });
  }
  const parts = { pluginId, hook, where, reason: messageOf(cause) };
  return createError(phaseCodes[phase].failed, parts, { phase, cause });
}
