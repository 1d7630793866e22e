// Loads one plugin: reads its manifest, resolves its entry module and imports it as a fresh instance per generation.

import { realpath } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { z } from "zod";
import { createError, messageOf } from "../errors.js";
import { importPluginEntry, missingPackageOf, stripLoaderInternals } from "../loader/module-loader.js";
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
  const entryFile = await resolveEntryModule(folder, manifest);
  const exports = await importEntry(entryFile, await realpath(folder), manifest.id, options.generation);
  const module = toBackgroundModule(exports, entryFile, manifest.id);
  return { manifest, module, entryFile, loadMs: performance.now() - started };
}

async function importEntry(
  entryFile: string,
  folder: string,
  pluginId: string,
  generation: number,
): Promise<unknown> {
  try {
    return await importPluginEntry({ entryFile, folder, generation });
  } catch (error) {
    const missing = missingPackageOf(error);
    const parts = { pluginId, file: entryFile, reason: stripLoaderInternals(messageOf(error)) };
    const options = { phase: "load", cause: error } as const;
    throw missing === null
      ? createError("HANGAR_MODULE_IMPORT", "threw", parts, options)
      : createError(
          "HANGAR_MODULE_IMPORT",
          "missingPackage",
          { ...parts, packageName: missing, folder },
          options,
        );
  }
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

/**
 * The module's lifecycle functions as a plain object. The default export wins when it looks like a plugin
 * (createPlugin's result, or a CommonJS module.exports); otherwise the named exports are used.
 */
function toBackgroundModule(exports: unknown, entryFile: string, pluginId: string): PluginBackgroundModule {
  let namespace = exports as Record<string, unknown>;
  // ESM compiled to CommonJS (a .ts file in a CommonJS package, or any transpiler's output): Node's default
  // export is then module.exports itself, which carries the ESM exports and an __esModule mark.
  const compiled = namespace.default as Record<string, unknown> | null | undefined;
  if (typeof compiled === "object" && compiled !== null && compiled.__esModule === true) namespace = compiled;
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
    throw createError(
      "HANGAR_MODULE_CONTRACT",
      usesDefault ? "defaultExport" : "namedExports",
      { pluginId, file: entryFile, problems },
      { phase: "load" },
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
