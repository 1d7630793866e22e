// What the shell keeps about each plugin beside its actor: functions and handles never go in snapshots.
import type { PluginScope } from "../../containment/attribution.js";
import type { OpenFlow } from "../../containment/shell-containment.js";
import type { PluginContextHandle } from "../../context/plugin-context.js";
import type { PluginWorker } from "../../isolation/plugin-worker.js";
import type { DiscoveredPlugin } from "../../manifest/discover.js";
import type { PluginBackgroundModule } from "../../sdk/types.js";
import type { WorkerStatus } from "../../status.js";
import type { PluginSupervisor } from "../plugin-supervisor.js";

/** Everything the shell keeps about one plugin outside its machine. */
export interface PluginRuntime {
  discovered: DiscoveredPlugin;
  module: PluginBackgroundModule | null;
  entryFile: string | null;
  context: PluginContextHandle | null;
  /** Whether the module was loaded before (later loads re-read plugin.json). */
  loadedOnce: boolean;
  /** The scope of code run under the live context (null while there is none). */
  scope: PluginScope | null;
  /** The hook (or load) in flight: an error escaping the plugin's code while it runs fails it. */
  hook: OpenFlow | null;
  /** What the plugin's code (or its import) threw in its latest failure: logged with its stack. */
  lastFailure: unknown;
  /** The plugin's worker thread when it runs isolated (docs/isolation.md); null in-process. */
  worker: PluginWorker | null;
}

/** The shell's one registry of plugins: each plugin's actor and its runtime. */
export type PluginRegistry = PluginSupervisor<PluginRuntime>;

/** The runtime of a plugin just discovered: nothing loaded yet. */
export function newRuntime(discovered: DiscoveredPlugin): PluginRuntime {
  return {
    discovered,
    module: null,
    entryFile: null,
    context: null,
    loadedOnce: false,
    scope: null,
    hook: null,
    lastFailure: undefined,
    worker: null,
  };
}

/** The update generation plugin `pluginId` runs in (0 before its first update). */
export function generationOf(plugins: PluginRegistry, pluginId: string): number {
  return plugins.get(pluginId)?.getSnapshot().context.generation ?? 0;
}

/**
 * Ends every plugin worker: on stop, forced release and failed start no worker survives the shell. On a graceful
 * stop each gets `graceMs` to run its abort listeners; a hung one is terminated regardless.
 */
export async function terminateWorkers(plugins: PluginRegistry, graceMs = 0): Promise<void> {
  await Promise.all(plugins.runtimes().map((runtime) => runtime.worker?.terminate(graceMs)));
}

/** Each isolated plugin's worker as of its last heartbeat, by plugin id (for the inspector's worker view). */
export function workerStatuses(plugins: PluginRegistry): Record<string, WorkerStatus> {
  const running: Record<string, WorkerStatus> = {};
  for (const runtime of plugins.runtimes()) {
    const worker = runtime.worker?.status();
    if (worker) running[runtime.discovered.id] = worker;
  }
  return running;
}
