// Finds plugin folders on disk, reads their manifests and gives every plugin an id unique across the shell.
import { lstat, readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { createError, HangarError, messageOf } from "../errors.js";
import { MANIFEST_FILE, readManifest } from "./read-manifest.js";
import type { PluginManifest } from "./schema.js";

/** One plugin folder found by {@link discoverPlugins}. */
export interface DiscoveredPlugin {
  /** Absolute path of the plugin folder (as given, not symlink-resolved). */
  folder: string;
  /**
   * The folder's real path (every symlink followed) as discovery resolved it: its first load and the stack
   * attribution use it instead of resolving it again (issue 13: one realpath per plugin, not four).
   */
  realFolder: string;
  /**
   * The id the shell lists this plugin under; unique across one discovery. Equals `manifest.id` when
   * `error` is null, otherwise a name derived from the folder (see {@link discoverPlugins}).
   */
  id: string;
  /** The validated plugin.json; null when it could not be read or validated. Kept for a duplicate id. */
  manifest: PluginManifest | null;
  /** Why this plugin must not be loaded (phase `load`); null when it may be. Check this, not `manifest`. */
  error: HangarError | null;
}

/**
 * Discovers plugins under `paths`. Each path is either a plugin folder (it holds a plugin.json) or a folder
 * holding plugin folders: each direct subfolder with a plugin.json is a plugin; a subfolder without one is
 * ignored. A plugin.json that cannot be read or validated is listed with its error.
 *
 * The result is sorted by folder path. When two folders declare the same id, the first keeps it and each
 * later one gets `HANGAR_MANIFEST_DUPLICATE_ID`. Every errored plugin is listed under its folder's name,
 * suffixed `~2`, `~3`… when that is already taken, so that no two entries ever share an id.
 *
 * @throws HangarError `HANGAR_SHELL_OPTIONS` when a path does not exist or is not a folder.
 */
export async function discoverPlugins(paths: readonly string[]): Promise<DiscoveredPlugin[]> {
  const sorted = await listFolders(paths);
  const read = await Promise.all(
    sorted.map(async ({ folder, realFolder }) => {
      try {
        return { folder, realFolder, manifest: await readManifest(folder), error: null };
      } catch (error) {
        return { folder, realFolder, manifest: null, error: asLoadError(error, folder) };
      }
    }),
  );
  return assignIds(read);
}

/**
 * The plugin folders under `paths` (absolute, as given, each listed once, sorted) without reading their
 * manifests: what an update checks first, to read manifests only when the set of folders changed.
 * @throws HangarError `HANGAR_SHELL_OPTIONS` when a path does not exist or is not a folder.
 */
export async function listPluginFolders(paths: readonly string[]): Promise<string[]> {
  return (await listFolders(paths)).map(({ folder }) => folder);
}

/** {@link listPluginFolders}, each folder with its real path. */
async function listFolders(paths: readonly string[]): Promise<{ folder: string; realFolder: string }[]> {
  const folders = new Map<string, string>(); // real path → absolute path as given: one folder listed once
  for (const given of paths) {
    for (const folder of await pluginFoldersIn(path.resolve(given))) {
      const resolved = await realpath(folder);
      // The same string when nothing was a symlink: each plugin keeps both for its life (issue 13: heap).
      const real = resolved === folder ? folder : resolved;
      if (!folders.has(real)) folders.set(real, folder);
    }
  }
  return [...folders]
    .map(([realFolder, folder]) => ({ folder, realFolder }))
    .sort((a, b) => compareCodeUnits(a.folder, b.folder));
}

/** The plugin folders `root` stands for: itself when it holds a plugin.json, else its direct subfolders that do. */
async function pluginFoldersIn(root: string): Promise<string[]> {
  let rootStat: Awaited<ReturnType<typeof stat>>;
  try {
    rootStat = await stat(root);
  } catch (error) {
    throw createError(
      "HANGAR_SHELL_OPTIONS",
      "pluginPathUnusable",
      { path: root, reason: messageOf(error) },
      { cause: error },
    );
  }
  if (!rootStat.isDirectory()) {
    throw createError("HANGAR_SHELL_OPTIONS", "pluginPathNotFolder", { path: root });
  }
  if (await exists(path.join(root, MANIFEST_FILE))) return [root];

  const folders: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const folder = path.join(root, entry.name);
    // stat, not the dirent, so that a symlink to a plugin folder (a linked dev checkout) counts.
    const isFolder = entry.isDirectory() || (entry.isSymbolicLink() && (await isDirectory(folder)));
    if (isFolder && (await exists(path.join(folder, MANIFEST_FILE)))) folders.push(folder);
  }
  return folders;
}

/**
 * Gives each plugin its id. Valid manifests claim their declared ids first, in sorted order, so a broken
 * folder can never take the id a valid plugin declares. Then errored plugins (unreadable, invalid, or a
 * duplicate id) take their folder's name, suffixed `~2`, `~3`… until it is free: the status must never hold
 * two entries with one id, and the folder name is what a user recognises.
 */
function assignIds(
  read: { folder: string; realFolder: string; manifest: PluginManifest | null; error: HangarError | null }[],
): DiscoveredPlugin[] {
  const owners = new Map<string, string>(); // id → folder that holds it
  const result: DiscoveredPlugin[] = read.map(({ folder, realFolder, manifest, error }) => {
    if (manifest === null) return { folder, realFolder, id: "", manifest, error };
    const owner = owners.get(manifest.id);
    if (owner === undefined) {
      owners.set(manifest.id, folder);
      return { folder, realFolder, id: manifest.id, manifest, error: null };
    }
    const duplicate = createError(
      "HANGAR_MANIFEST_DUPLICATE_ID",
      { folder, pluginId: manifest.id, owner },
      { phase: "load" },
    );
    return { folder, realFolder, id: "", manifest, error: duplicate };
  });
  for (const plugin of result) {
    if (plugin.id !== "") continue;
    const base = path.basename(plugin.folder);
    let id = base;
    for (let n = 2; owners.has(id); n++) id = `${base}~${n}`;
    owners.set(id, plugin.folder);
    plugin.id = id;
    if (plugin.error !== null && plugin.error.pluginId !== id) plugin.error = withPluginId(plugin.error, id);
  }
  return result;
}

/** The same error, listed under `pluginId`. */
function withPluginId(error: HangarError, pluginId: string): HangarError {
  const copy = new HangarError(error.code, error.message, { pluginId, phase: "load", cause: error.cause });
  if (error.stack !== undefined) copy.stack = error.stack;
  return copy;
}

/** readManifest throws HangarErrors; anything else is a defect worth surfacing with the folder named. */
function asLoadError(error: unknown, folder: string): HangarError {
  if (error instanceof HangarError) return error;
  return createError(
    "HANGAR_LOAD_FAILED",
    "folder",
    { folder, reason: messageOf(error) },
    { pluginId: path.basename(folder), phase: "load", cause: error },
  );
}

/** Sorts by UTF-16 code units, so the order does not depend on the machine's locale. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True when something (a file, even a broken or unreadable one) sits at `file`. */
async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch {
    return false;
  }
}

async function isDirectory(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isDirectory();
  } catch {
    return false;
  }
}
