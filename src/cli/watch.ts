// `hangar run --watch`: watches the plugin folders and asks the shell for an update once the files have been
// quiet for a while, naming the plugins whose files changed (SPEC §8).
import { existsSync } from "node:fs";
import path from "node:path";
import { type FSWatcher, watch } from "chokidar";
// The debounce uses hangar's own timers, not the globals a plugin can replace (src/base/timers.ts).
import { clearTimeout, setTimeout } from "../base/timers.js";
import { type DiscoveredPlugin, discoverPlugins } from "../manifest/discover.js";
import { checkUiEntry } from "../manifest/ui-entry.js";

/** How long the files must stay unchanged before an update runs, in ms (SPEC §8). */
export const WATCH_QUIET_MS = 200;

export interface PluginWatcherOptions {
  /** The paths given to `hangar run`: plugin folders or folders holding them. */
  roots: string[];
  /** The shell's data dir: its config writes are never a change. */
  dataDir: string;
  /** Runs one update; the watcher never runs two at once. */
  update(changed: string[]): Promise<void>;
  /**
   * Told, instead of an update, when every changed file sat in the folder of a plugin's `ui.entry` (a UI
   * rebuild): the background keeps running and the shell page picks the new UI up by itself.
   */
  uiChanged?(plugins: string[]): void;
  /** Told when an update fails (it is retried with the next change). */
  onError(error: unknown): void;
  /** Quiet period in ms. Default {@link WATCH_QUIET_MS}. */
  quietMs?: number;
}

/** A running watcher; `close` stops it (and waits for an update in flight). */
export interface PluginWatcher {
  /** Resolves once the initial scan is done and changes are being reported. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Watches `roots`, skipping `node_modules`, dot-folders and the data dir. After {@link WATCH_QUIET_MS} of quiet it
 * calls `update` with the ids of the plugins whose folders held a changed file; a new or removed plugin folder
 * is picked up by the update's rescan (an update with `changed: []` when no known plugin changed).
 */
export function watchPlugins(options: PluginWatcherOptions): PluginWatcher {
  const roots = options.roots.map((root) => path.resolve(root));
  const dataDir = path.resolve(options.dataDir);
  const quietMs = options.quietMs ?? WATCH_QUIET_MS;
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  let closed = false;

  const ignored = (file: string): boolean => {
    if (file === dataDir || file.startsWith(dataDir + path.sep)) return true;
    const root = roots.find((r) => file === r || file.startsWith(r + path.sep));
    if (!root) return false;
    // Only below the root: a root that itself sits in a dot-folder (say ~/.plugins) is still watched.
    return path
      .relative(root, file)
      .split(path.sep)
      .some((part) => part === "node_modules" || part.startsWith("."));
  };

  const watcher: FSWatcher = watch(roots, { ignored, ignoreInitial: true, persistent: true });

  const flush = async (): Promise<void> => {
    const files = [...pending];
    pending.clear();
    // Which plugin each file belongs to, read now: folders come and go while the shell runs.
    const plugins = await discoverPlugins(roots).catch(() => []);
    const changed = new Set<string>();
    const uis = new Set<string>();
    let other = false;
    for (const file of files) {
      const owner = plugins.find((p) => file === p.folder || file.startsWith(p.folder + path.sep));
      const ui = owner ? uiFolderOf(owner) : null;
      if (owner && ui !== null && (file === ui || file.startsWith(ui + path.sep))) uis.add(owner.id);
      else {
        other = true;
        if (owner && existsSync(owner.folder)) changed.add(owner.id);
      }
    }
    if (!other && options.uiChanged) options.uiChanged([...uis]);
    else await options.update([...changed]);
  };

  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (closed) return;
      // One update at a time: changes made meanwhile wait for the next quiet period after it.
      if (running) {
        schedule();
        return;
      }
      running = flush()
        .catch((error: unknown) => options.onError(error))
        .finally(() => {
          running = null;
        });
    }, quietMs);
  };

  watcher.on("all", (_event, file) => {
    pending.add(path.resolve(file));
    schedule();
  });
  watcher.on("error", (error) => options.onError(error));

  const ready = new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
  return {
    ready,
    async close() {
      closed = true;
      clearTimeout(timer);
      await watcher.close();
      await running;
    },
  };
}

/**
 * The folder of a plugin's `ui.entry` (absolute), when it is a folder of its own: not the plugin folder itself,
 * and not one that holds the background entry. Files there are the page's business, not the background's.
 */
function uiFolderOf(plugin: DiscoveredPlugin): string | null {
  const manifest = plugin.manifest as { ui?: unknown; background?: { entryModule?: unknown } } | null;
  if (!manifest) return null;
  const checked = checkUiEntry(plugin.folder, manifest.ui);
  if (checked === null || "problem" in checked) return null;
  const folder = path.dirname(path.resolve(plugin.folder, checked.entry));
  if (folder === plugin.folder) return null;
  const background = manifest.background?.entryModule;
  if (typeof background === "string" && path.resolve(plugin.folder, background).startsWith(folder + path.sep))
    return null;
  return folder;
}
