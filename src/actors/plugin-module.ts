// Imports a plugin's entry module and checks the module contract (SPEC §2). Kept apart from load-plugin.ts,
// which also reads the manifest, so that an isolated plugin's worker loads neither zod nor the manifest schema:
// zod alone adds about 7 MB to every worker (docs/isolation.md, "What it costs").
import { createError, messageOf } from "../errors.js";
import { importPluginEntry, missingPackageOf } from "../loader/module-loader.js";
import type { PluginBackgroundModule } from "../sdk/types.js";

/** Which entry module to import, for which plugin and generation (see importPluginEntry). */
export interface PluginModuleImport {
  /** Absolute real path of the entry module, as resolveEntryModule returns it. */
  entryFile: string;
  /** Absolute real path of the plugin folder. */
  folder: string;
  pluginId: string;
  generation: number;
  /** Where the loader's warnings go (see importPluginEntry). */
  warn?: ((message: string) => void) | undefined;
  /** Where the loader's debug lines go (the build cache; see importPluginEntry). */
  debug?: ((message: string) => void) | undefined;
}

/**
 * Imports the entry module and returns its lifecycle functions, bound to their owner.
 *
 * @throws HangarError in phase `load`: `HANGAR_MODULE_IMPORT` when importing throws (a syntax error, a top-level
 *   throw, a missing import; a missing package is named with the `npm install` that fixes it), and
 *   `HANGAR_MODULE_CONTRACT` when the module exports neither form of the contract, or when its createPlugin
 *   call threw the SDK's TypeError (a missing or wrong lifecycle function).
 */
export async function importPluginModule({
  entryFile,
  folder,
  pluginId,
  generation,
  warn,
  debug,
}: PluginModuleImport): Promise<PluginBackgroundModule> {
  let exports: unknown;
  try {
    exports = await importPluginEntry({ entryFile, folder, generation, warn, debug });
  } catch (error) {
    const contractProblem = contractProblemOf(error);
    if (contractProblem !== null) {
      throw createError(
        "HANGAR_MODULE_CONTRACT",
        "createPlugin",
        { pluginId, file: entryFile, problems: contractProblem },
        { phase: "load", cause: error },
      );
    }
    const missing = missingPackageOf(error);
    // require()'s "Require stack:" lines after a missing package say nothing the entry file does not.
    const reason = messageOf(error).replace(/\nRequire stack:\n[\s\S]*$/, "");
    const parts = { pluginId, file: entryFile, reason };
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
  return toBackgroundModule(exports, entryFile, pluginId);
}

/**
 * The problem that createPlugin (hangar/sdk, any copy) branded its TypeError with, or null for any other error.
 * Read from a property, not by instanceof: the module may run in another copy of the SDK.
 */
function contractProblemOf(error: unknown): string | null {
  if (typeof error !== "object" || error === null) return null;
  const problem = (error as Record<symbol, unknown>)[Symbol.for("hangar.contractProblem")];
  return typeof problem === "string" ? problem : null;
}

/** What is wrong with one lifecycle export, or null when it is a function (or an absent optional one). */
function problemOf(name: string, value: unknown, optional: boolean): string | null {
  if (typeof value === "function") return null;
  if (value === undefined) return optional ? null : `${name} is missing`;
  return `${name} must be a function, got ${value === null ? "null" : typeof value}`;
}

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
  const { onStart, onStop, onResume } = owner;
  const problems = [
    problemOf("onStart", onStart, false),
    problemOf("onStop", onStop, false),
    problemOf("onResume", onResume, true),
  ].filter((problem) => problem !== null);
  if (problems.length > 0) {
    throw createError(
      "HANGAR_MODULE_CONTRACT",
      usesDefault ? "defaultExport" : "namedExports",
      { pluginId, file: entryFile, problems: problems.join(", ") },
      { phase: "load" },
    );
  }
  // Bound to the default export, so `this` inside a createPlugin({...}) method still refers to that object;
  // named exports keep the `this` of a plain call.
  const self = usesDefault ? fallback : undefined;
  type Hook = (...args: never[]) => unknown;
  const module: PluginBackgroundModule = {
    onStart: (onStart as Hook).bind(self) as PluginBackgroundModule["onStart"],
    onStop: (onStop as Hook).bind(self) as PluginBackgroundModule["onStop"],
  };
  if (onResume !== undefined)
    module.onResume = (onResume as Hook).bind(self) as PluginBackgroundModule["onResume"];
  return module;
}
