// Loads one plugin: reads its manifest, resolves its entry module and imports it as a fresh instance per generation.

import { realpath } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { readManifest, resolveEntryModule } from "../manifest/read-manifest.js";
import type { PluginManifest } from "../manifest/schema.js";
import type { PluginBackgroundModule } from "../sdk/types.js";
import { importPluginModule } from "./plugin-module.js";

/** A plugin read from disk and, when it has a background module, imported. */
export interface LoadedPlugin {
  manifest: PluginManifest;
  /** The background module's functions, bound to their owner; null for a UI-only plugin. */
  module: PluginBackgroundModule | null;
  /** Absolute real path of the imported entry module; null for a UI-only plugin. */
  entryFile: string | null;
  /** Milliseconds spent reading, resolving and importing. */
  loadMs: number;
}

/** Options of {@link loadPlugin}. */
export interface LoadPluginOptions {
  /**
   * Which module instance to load. Loads in the same generation share one instance (a second load of the
   * same plugin returns the module already evaluated); a new generation evaluates the module, and every
   * file of the plugin it imports, afresh. The shell starts a new generation for each OTA update.
   */
  generation: number;
  /** A manifest read moments ago (by discovery): used instead of reading plugin.json again. */
  manifest?: PluginManifest;
  /** The folder's real path, resolved moments ago (by discovery): used instead of resolving it again. */
  realFolder?: string;
  /** Where the loader's warnings about this plugin go (its logger): see importPluginEntry's `warn`. */
  warn?: ((message: string) => void) | undefined;
  /** Where the loader's debug lines about this plugin go (its logger): see importPluginEntry's `debug`. */
  debug?: ((message: string) => void) | undefined;
}

/**
 * Reads `<folder>/plugin.json`, resolves the entry module inside the folder and imports it through hangar's
 * module loader (src/loader), so TypeScript entries need no build step and each generation is a fresh instance.
 *
 * @throws HangarError in phase `load`: the manifest and entry codes of readManifest/resolveEntryModule,
 *   `HANGAR_MODULE_IMPORT` when importing throws (a syntax error, a top-level throw, a missing import; a
 *   missing package is named with the `npm install` that fixes it), and
 *   `HANGAR_MODULE_CONTRACT` when the module exports neither form of the contract.
 */
export async function loadPlugin(folder: string, options: LoadPluginOptions): Promise<LoadedPlugin> {
  const started = performance.now();
  const manifest = options.manifest ?? (await readManifest(folder));
  if (manifest.background === undefined) {
    return { manifest, module: null, entryFile: null, loadMs: performance.now() - started };
  }
  const realFolder = options.realFolder ?? (await realpath(folder));
  const entryFile = await resolveEntryModule(folder, manifest, realFolder);
  const module = await importPluginModule({
    entryFile,
    folder: realFolder,
    pluginId: manifest.id,
    generation: options.generation,
    warn: options.warn,
    debug: options.debug,
  });
  return { manifest, module, entryFile, loadMs: performance.now() - started };
}
