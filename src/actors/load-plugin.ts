// Loads one plugin: reads its manifest, resolves its entry module and imports it as a fresh instance per generation.

import { realpath } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import type { NamespacedUnregister } from "tsx/esm/api";
import { z } from "zod";
import { HangarError, messageOf } from "../errors.js";
import { readManifest, resolveEntryModule } from "../manifest/read-manifest.js";
import type { PluginManifest } from "../manifest/schema.js";
import type { PluginBackgroundModule } from "../sdk/types.js";

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
  /**
   * Import `.js`/`.mjs`/`.cjs` entries with Node's own `import()` instead of tsx. An isolated plugin's worker
   * loads one generation only, so it needs no namespace, and skipping tsx spares it a loader thread.
   */
  nativeJs?: boolean;
}

/**
 * Reads `<folder>/plugin.json`, resolves the entry module inside the folder and imports it with tsx, so
 * TypeScript entries need no build step.
 *
 * @throws HangarError in phase `load`: the manifest and entry codes of readManifest/resolveEntryModule,
 *   `HANGAR_MODULE_IMPORT` when importing throws (a syntax error, a top-level throw, a missing import), and
 *   `HANGAR_MODULE_CONTRACT` when the module exports neither form of the contract.
 */
export async function loadPlugin(folder: string, options: LoadPluginOptions): Promise<LoadedPlugin> {
  const started = performance.now();
  const manifest = options.manifest ?? (await readManifest(folder));
  if (manifest.background === undefined) {
    return { manifest, module: null, entryFile: null, loadMs: performance.now() - started };
  }
  const entryFile = await resolveEntryModule(folder, manifest);
  const exports =
    options.nativeJs && /\.[mc]?js$/.test(entryFile)
      ? await importNatively(entryFile, manifest.id)
      : await importEntry(entryFile, await realpath(folder), manifest.id, options.generation);
  const module = toBackgroundModule(exports, entryFile, manifest.id);
  return { manifest, module, entryFile, loadMs: performance.now() - started };
}

// One tsx ESM namespace per generation, shared by every plugin of that generation: each register() adds a
// loader hook, so one per plugin would make every import walk a chain as long as the plugin list. Old
// namespaces stay registered, because a running old-generation module may still import lazily through them.
const namespaces = new Map<number, NamespacedUnregister>();
// Plugin folders already imported in a generation (key `generation\0realFolder`), see importEntry.
const importedFolders = new Set<string>();
let cjsRegistered = false;

// tsx is imported on first use: an isolated plugin's worker with a JavaScript entry never needs it (~14 MB).
async function namespaceFor(generation: number): Promise<NamespacedUnregister> {
  if (!cjsRegistered) {
    // Once per process: lets require() compile .ts/.cts files (a .ts entry inside a CommonJS package).
    const { register: registerCjs } = await import("tsx/cjs/api");
    if (!cjsRegistered) registerCjs();
    cjsRegistered = true;
  }
  let api = namespaces.get(generation);
  if (api === undefined) {
    const { register: registerEsm } = await import("tsx/esm/api");
    api = namespaces.get(generation) ?? registerEsm({ namespace: `hangar-${generation}` });
    namespaces.set(generation, api);
  }
  return api;
}

const requireCache = createRequire(import.meta.url).cache;

async function importEntry(
  entryFile: string,
  realFolder: string,
  pluginId: string,
  generation: number,
): Promise<unknown> {
  const api = await namespaceFor(generation);
  // The namespace gives ESM files a fresh URL per generation, but Node caches CommonJS files by file name
  // alone. On the first import of a generation, forget the plugin's CommonJS files so they are evaluated
  // afresh too; modules outside the plugin folder (shared packages) keep their single instance.
  const key = `${generation}\0${realFolder}`;
  if (!importedFolders.has(key)) {
    importedFolders.add(key);
    const prefix = realFolder + path.sep;
    for (const file of Object.keys(requireCache)) if (file.startsWith(prefix)) delete requireCache[file];
  }
  try {
    const exports: unknown = await api.import(pathToFileURL(entryFile).href, import.meta.url);
    return exports;
  } catch (error) {
    throw importFailure(entryFile, pluginId, error);
  }
}

async function importNatively(entryFile: string, pluginId: string): Promise<unknown> {
  try {
    return await import(pathToFileURL(entryFile).href);
  } catch (error) {
    throw importFailure(entryFile, pluginId, error);
  }
}

function importFailure(entryFile: string, pluginId: string, error: unknown): HangarError {
  return new HangarError(
    "HANGAR_MODULE_IMPORT",
    `Plugin '${pluginId}' could not be loaded: importing ${entryFile} failed: ${messageOf(error)}. Fix the module so it imports without throwing.`,
    { pluginId, phase: "load", cause: error },
  );
}

const lifecycleFunction = (name: string) =>
  z.custom<(...args: never[]) => unknown>((value) => typeof value === "function", {
    error: (issue) =>
      issue.input === undefined
        ? `${name} is missing`
        : `${name} must be a function, got ${issue.input === null ? "null" : typeof issue.input}`,
  });

const moduleContract = z.object({
  onStart: lifecycleFunction("onStart"),
  onStop: lifecycleFunction("onStop"),
  onResume: lifecycleFunction("onResume").optional(),
});

const contractFix =
  'Export default createPlugin({ onStart, onStop }) from "hangar/sdk", or export functions named onStart and onStop.';

/**
 * The module's lifecycle functions as a plain object. The default export wins when it looks like a plugin
 * (createPlugin's result, or a CommonJS module.exports); otherwise the named exports are used.
 */
function toBackgroundModule(exports: unknown, entryFile: string, pluginId: string): PluginBackgroundModule {
  const namespace = exports as Record<string, unknown>;
  const fallback = namespace.default;
  const usesDefault =
    (typeof fallback === "object" || typeof fallback === "function") &&
    fallback !== null &&
    ("onStart" in fallback || "onStop" in fallback);
  const owner = (usesDefault ? fallback : namespace) as Record<string, unknown>;
  const candidate = { onStart: owner.onStart, onStop: owner.onStop, onResume: owner.onResume };
  const parsed = moduleContract.safeParse(candidate);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => issue.message).join(", ");
    const what = usesDefault
      ? "has a default export that is not a valid plugin module"
      : "exports neither a default createPlugin(...) object nor named onStart/onStop";
    throw new HangarError(
      "HANGAR_MODULE_CONTRACT",
      `Plugin '${pluginId}' could not be loaded: ${entryFile} ${what}; ${problems}. ${contractFix}`,
      { pluginId, phase: "load" },
    );
  }
  // Bound to the default export, so `this` inside a createPlugin({...}) method still refers to that object;
  // named exports keep the `this` of a plain call.
  const { onStart, onStop, onResume } = parsed.data;
  const self = usesDefault ? fallback : undefined;
  const module: PluginBackgroundModule = {
    onStart: onStart.bind(self) as PluginBackgroundModule["onStart"],
    onStop: onStop.bind(self) as PluginBackgroundModule["onStop"],
  };
  if (onResume !== undefined) module.onResume = onResume.bind(self) as PluginBackgroundModule["onResume"];
  return module;
}
