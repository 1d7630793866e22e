// Imports a plugin's entry module for one update generation: plain import() when nothing needs hooks, otherwise
// through one set of module hooks for every generation (hooks-source.ts), plus CommonJS support on this thread.

import { readFileSync } from "node:fs";
import Module, { createRequire, register } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { FOLDER_PARAM, GENERATION_PARAM, type ModuleHooksData, moduleHooksSource } from "./hooks-source.js";

/** Where a plugin's entry module is and which instance of it to import. */
export interface PluginEntryImport {
  /** Absolute real path of the entry module (as resolveEntryModule returns it). */
  entryFile: string;
  /** Absolute real path of the plugin folder: every file under it (outside node_modules) belongs to the plugin. */
  folder: string;
  /**
   * The update generation. The same generation gives the same module instance; another generation gives a
   * fresh instance of every file of the plugin (ESM and CommonJS), while packages keep one instance.
   */
  generation: number;
}

const hostRequire = createRequire(import.meta.url);
// A native import(), compiled by the CommonJS loader (which gives it Node's ESM loader as its import callback):
// under a test runner that rewrites or sandboxes import() in source files, a plugin must still go through
// Node's own loader and hangar's hooks.
const nativeImport = (() => {
  const holder = new Module("hangar:native-import") as unknown as CompiledModule & { exports: unknown };
  holder._compile("module.exports = (url) => import(url);", fileURLToPath(import.meta.url));
  return holder.exports as (url: string) => Promise<unknown>;
})();

const TYPESCRIPT = /\.[cm]?ts$/;
const NODE_MODULES = `${path.sep}node_modules${path.sep}`;
const HOST_PROVIDED = (request: string) =>
  request === "express" || request === "hangar" || request.startsWith("hangar/");

let hooksRegistered = false;
let commonJsInstalled = false;
// Per plugin folder: the generation it was last imported in, and whether that import was a plain import().
const lastImport = new Map<string, { generation: number; plain: boolean }>();

/**
 * Imports a plugin's entry module for one generation and returns its namespace. Usable on any thread (a worker
 * registers its own hooks the first time it needs them).
 *
 * - A JavaScript entry's first import in the process is a plain `import()`: no hooks thread is started for it.
 *   If that fails because the plugin needs the hooks (a TypeScript file it imports, a host-provided module
 *   it has no copy of), it is retried through the hooks.
 * - TypeScript entries, and every later generation, go through hangar's module hooks, registered once per
 *   thread with `module.register` (Node 20 boots the hooks thread synchronously: about 65 ms of main-thread
 *   time, once).
 * - CommonJS: `require()` of `.ts`/`.cts`/`.mts` compiles with esbuild (unless another loader already handles
 *   `.ts`); a new generation forgets the plugin's own CommonJS files from `require.cache` (only on reload).
 * - `hangar`, `hangar/*` and `express` resolve to the shell's copies when the plugin has none of its own.
 *
 * @throws whatever importing throws, with hangar's internal URL queries removed from its message and stack.
 */
export async function importPluginEntry({
  entryFile,
  folder,
  generation,
}: PluginEntryImport): Promise<unknown> {
  installCommonJs();
  const previous = lastImport.get(folder);
  const entryUrl = pathToFileURL(entryFile).href;
  try {
    if (previous === undefined && !TYPESCRIPT.test(entryFile)) {
      try {
        const exports = await nativeImport(entryUrl);
        lastImport.set(folder, { generation, plain: true });
        return exports;
      } catch (error) {
        if (!needsHooks(error)) throw error;
      }
    } else if (previous?.plain && previous.generation === generation) {
      return await nativeImport(entryUrl);
    }
    if (previous !== undefined && previous.generation !== generation) forgetCommonJs(folder);
    lastImport.set(folder, { generation, plain: false });
    ensureHooks();
    const query = new URLSearchParams({ [GENERATION_PARAM]: String(generation), [FOLDER_PARAM]: folder });
    return await nativeImport(`${entryUrl}?${query.toString()}`);
  } catch (error) {
    throw withoutLoaderInternals(error);
  }
}

/** Errors that a plain import() raises where the hooks would have succeeded. */
function needsHooks(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ERR_UNKNOWN_FILE_EXTENSION") return true;
  if (code === "ERR_MODULE_NOT_FOUND") {
    const message = String((error as Error).message);
    return /Cannot find package '(express|hangar)['/]/.test(message);
  }
  return false;
}

function ensureHooks(): void {
  if (hooksRegistered) return;
  hooksRegistered = true;
  // Stacks of transformed TypeScript point at the .ts source lines through esbuild's inline source maps.
  process.setSourceMapsEnabled(true);
  const data: ModuleHooksData = {
    esbuildUrl: pathToFileURL(hostRequire.resolve("esbuild")).href,
    hostParentUrl: import.meta.url,
  };
  register(`data:text/javascript,${encodeURIComponent(moduleHooksSource)}`, { data });
}

interface CommonJsInternals {
  _extensions: Record<string, (module: CompiledModule, filename: string) => void>;
  _resolveFilename: (
    request: string,
    parent: { filename?: string | null } | undefined,
    ...rest: unknown[]
  ) => string;
  _cache: Record<string, unknown>;
}
interface CompiledModule {
  _compile(code: string, filename: string): void;
}

let esbuildSync: typeof import("esbuild") | undefined;

/** TypeScript to CommonJS for require(), with an inline source map so stacks name the .ts line. */
function compileCommonJs(filename: string): string {
  esbuildSync ??= hostRequire("esbuild") as typeof import("esbuild");
  const source = readFileSync(filename, "utf8");
  return esbuildSync.transformSync(source, {
    loader: "ts",
    format: "cjs",
    platform: "node",
    sourcemap: "inline",
    sourcesContent: false,
    sourcefile: pathToFileURL(filename).href,
    target: "node20",
  }).code;
}

function installCommonJs(): void {
  if (commonJsInstalled) return;
  commonJsInstalled = true;
  const internals = Module as unknown as CommonJsInternals;
  for (const extension of [".ts", ".cts", ".mts"]) {
    if (internals._extensions[extension] !== undefined) continue; // another loader (tsx) is in charge
    internals._extensions[extension] = (module, filename) => {
      process.setSourceMapsEnabled(true);
      module._compile(compileCommonJs(filename), filename);
    };
  }
  const resolveFilename = internals._resolveFilename;
  internals._resolveFilename = function resolveWithHostModules(request, parent, ...rest) {
    try {
      return resolveFilename.call(this, request, parent, ...rest);
    } catch (error) {
      const from = parent?.filename;
      if ((error as { code?: unknown }).code !== "MODULE_NOT_FOUND") throw error;
      // TypeScript's convention, as in the ESM hooks: "./x.js" written in a .ts file names ./x.ts.
      const js = /\.([cm]?)js$/.exec(request);
      if (js !== null && request.startsWith(".") && typeof from === "string" && TYPESCRIPT.test(from)) {
        try {
          return resolveFilename.call(
            this,
            `${request.slice(0, -2 - (js[1] ?? "").length)}${js[1]}ts`,
            parent,
            ...rest,
          );
        } catch {
          throw error;
        }
      }
      if (HOST_PROVIDED(request) && typeof from === "string" && !from.includes(NODE_MODULES)) {
        return hostRequire.resolve(request);
      }
      throw error;
    }
  };
}

/** Forgets the plugin's own CommonJS files (not its node_modules), so the next require evaluates them afresh. */
function forgetCommonJs(folder: string): void {
  const cache = (Module as unknown as CommonJsInternals)._cache;
  const prefix = folder + path.sep;
  for (const file of Object.keys(cache)) {
    if (file.startsWith(prefix) && !file.includes(NODE_MODULES, prefix.length - 1)) delete cache[file];
  }
}

const INTERNAL_QUERY = new RegExp(`\\?${GENERATION_PARAM}=\\d+(?:&${FOLDER_PARAM}=[^\\s:)'"]*)?`, "g");

/** `text` without hangar's module-URL queries: users see file paths, not loader internals. */
export function stripLoaderInternals(text: string): string {
  return text.includes(GENERATION_PARAM) ? text.replace(INTERNAL_QUERY, "") : text;
}

function withoutLoaderInternals(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  try {
    if (error.message.includes(GENERATION_PARAM)) error.message = stripLoaderInternals(error.message);
    if (error.stack?.includes(GENERATION_PARAM)) error.stack = stripLoaderInternals(error.stack);
  } catch {
    // a frozen error keeps its text
  }
  return error;
}

/** The package a failed bare import names, for "Cannot find package 'x'" / "Cannot find module 'x'" errors. */
export function missingPackageOf(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") return null;
  const match = /Cannot find (?:package|module) '([^']+)'/.exec(String((error as Error).message));
  const specifier = match?.[1];
  if (specifier === undefined || specifier.startsWith(".") || path.isAbsolute(specifier)) return null;
  if (specifier.startsWith("file:") || specifier.startsWith("node:")) return null;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? null);
}
