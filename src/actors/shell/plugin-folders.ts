// Turns discovered plugin folders into registered plugins (an actor and a runtime each), and applies an update's
// rescan of the plugin folders (SPEC §4): a folder that is gone is stopped and removed, a new one is registered.
import {
  type ActorOptions,
  type AnyActorLogic,
  createActor,
  type InspectionEvent,
  type Observer,
} from "xstate";
import { registerPluginFolder } from "../../containment/attribution.js";
import type { ShellContainment } from "../../containment/shell-containment.js";
import type { HangarLogger } from "../../context/logger.js";
import type { PluginTimeouts, pluginMachine } from "../../machines/plugin.machine.js";
import type { DiscoveredPlugin } from "../../manifest/discover.js";
import { manifestWarnings } from "../../manifest/schema.js";
import { closeContext } from "./contexts.js";
import { newRuntime, type PluginRegistry } from "./plugin-runtime.js";

/** What registering a plugin needs. */
export interface PluginFolderDeps {
  plugins: PluginRegistry;
  /** The plugin machine with the shell's implementations. */
  machine: typeof pluginMachine;
  containment: ShellContainment;
  logger: HangarLogger;
  /** The shell's plugin timeouts; plugin.json's `background.loadTimeoutMs` overrides the first load's. */
  timeouts: PluginTimeouts;
  inspect: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined;
  /** The clock of plugin `id`'s actor (tests); undefined: real timers. */
  clockFor(pluginId: string): ActorOptions<AnyActorLogic>["clock"] | undefined;
  /** True once shell.stop() was called: a plugin found then is not worth importing. */
  stopping(): boolean;
  /** Where a plugin runs unless its plugin.json sets `background.isolation`. */
  isolation: "none" | "worker";
}

/** Registers a discovered plugin and starts its actor, which begins to import its module at once. */
export function addPlugin(deps: PluginFolderDeps, discovered: DiscoveredPlugin, generation = 0): void {
  const background = discovered.manifest?.background;
  const loadTimeout = background?.loadTimeoutMs;
  const runtime = newRuntime(discovered);
  // Stack attribution for code reached through shared emitters (SPEC §11): the folder, and its real path.
  registerPluginFolder(discovered.folder, deps.containment, discovered.id);
  // Discovery resolved the real path already (issue 13: no second realpath per plugin here).
  if (discovered.realFolder !== discovered.folder) {
    registerPluginFolder(discovered.realFolder, deps.containment, discovered.id);
  }
  const clock = deps.clockFor(discovered.id);
  const actor = createActor(deps.machine, {
    id: `plugin:${discovered.id}`,
    input: {
      pluginId: discovered.id,
      // The load timeout applies to the first import already: discovery has read plugin.json.
      timeouts: loadTimeout === undefined ? deps.timeouts : { ...deps.timeouts, load: loadTimeout },
      generation,
      ...(background?.entryModule ? { entry: background.entryModule } : {}),
      // Its worker's boot and its import are bounded apart (plugin-actors.ts, the load timeout's delay).
      ...(background && (background.isolation ?? deps.isolation) === "worker" ? { isolated: true } : {}),
      // A valid plugin.json names the plugin even when its module then fails to import.
      ...(discovered.manifest && !discovered.error
        ? { version: discovered.manifest.version, name: discovered.manifest.name ?? discovered.manifest.id }
        : {}),
    },
    ...(deps.inspect ? { inspect: deps.inspect } : {}),
    ...(clock ? { clock } : {}),
  });
  deps.plugins.add(actor, runtime);
  actor.start();
  // A misspelt key hangar would otherwise ignore in silence (`dependOn`): in the log and in status.
  for (const warning of discovered.manifest && !discovered.error
    ? manifestWarnings(discovered.manifest)
    : []) {
    deps.logger.forPlugin(discovered.id).warn("manifest", warning);
    actor.send({ type: "WARN", message: warning });
  }
  // Discovered after shell.stop() was called: not worth importing.
  if (deps.stopping()) actor.send({ type: "STOP" });
}

/**
 * Stops and removes every plugin whose folder is not among `folders` (the plugin folders found by a rescan):
 * its folder is gone. An update does this before the other plugins update, so a deleted plugin is not restarted
 * once more on its way out.
 */
export async function removeVanished(deps: PluginFolderDeps, folders: ReadonlySet<string>): Promise<void> {
  for (const { discovered } of deps.plugins.runtimes()) {
    if (folders.has(discovered.folder)) continue;
    const removed = await deps.plugins.remove(discovered.id);
    if (removed) closeContext(deps, removed, "its folder being removed");
  }
}

/**
 * An update rescans the plugin folders (SPEC §4): a plugin whose folder is gone is stopped and removed, a new
 * folder is registered and begins to load (the update then starts it). A folder whose id is already taken by
 * another folder waits until that one is gone.
 */
export async function applyRescan(
  deps: PluginFolderDeps,
  found: DiscoveredPlugin[],
  generation: number,
): Promise<void> {
  await removeVanished(deps, new Set(found.map((plugin) => plugin.folder)));
  const known = new Set(deps.plugins.runtimes().map((runtime) => runtime.discovered.folder));
  for (const plugin of found) {
    if (known.has(plugin.folder)) continue;
    const holder = deps.plugins.runtime(plugin.id);
    if (holder) {
      deps.logger.shell.warn(
        `found ${plugin.folder}, but its id '${plugin.id}' is taken by ${holder.discovered.folder}; ` +
          "it is loaded once that folder is gone (or give it another id)",
      );
      continue;
    }
    // The update's generation: a folder that comes back at the same path gets a fresh module instance.
    addPlugin(deps, plugin, generation);
  }
}
