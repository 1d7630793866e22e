// Imports a plugin's entry module for one update generation: a plain import() of the entry when nothing needs
// more, otherwise the generation built by esbuild (bundle.ts) in a builder thread (builder.ts) and evaluated as
// a CommonJS module that nothing keeps once the plugin lets go of it (commonjs-generation.ts), or imported as an
// ES module file when it needs ES semantics; plus CommonJS support (require of .ts, host-provided modules) on
// this thread.

import { AsyncResource } from "node:async_hooks";
import { readFileSync } from "node:fs";
import { unlink } from "node:fs/promises";
import Module, { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runInSlice } from "../base/time-slice.js";
import { clearTimeout, setTimeout } from "../base/timers.js";
import { cacheFileFor, readCachedBuild } from "./build-cache.js";
import { buildInBuilder, warmBuilder } from "./builder.js";
import type { BuiltGeneration } from "./bundle.js";
import { checkImportedNames, evaluateCommonJsGeneration } from "./commonjs-generation.js";

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
  /**
   * Told, once per folder, when a generation had to be imported as an ES module, which Node keeps for the
   * process's life (top-level await, `import.meta.resolve`): the sentence says why and what it costs.
   */
  warn?: ((message: string) => void) | undefined;
  /**
   * Told how the build cache went for a built generation (used, or why not: what changed, a folder that could
   * not be written), for a debug line.
   */
  debug?: ((message: string) => void) | undefined;
}

const hostRequire = createRequire(import.meta.url);
// A native import(), compiled by the CommonJS loader (which gives it Node's ESM loader as its import callback):
// under a test runner that rewrites or sandboxes import() in source files, a plugin must still go through
// Node's own loader.
const nativeImport = (() => {
  const holder = new Module("hangar:native-import") as unknown as CompiledModule & { exports: unknown };
  holder._compile("module.exports = (url) => import(url);", fileURLToPath(import.meta.url));
  return holder.exports as (url: string) => Promise<unknown>;
})();

// An import compiles and evaluates the module after its file is read: each ends its turn's slice, so that two
// plugins' modules are unlikely to evaluate in one turn.
const IMPORT = { endsSlice: true };
/**
 * At most this many of Node's `import()`s of plugin code are in flight at once. Node reads each file of a module
 * graph asynchronously and compiles it in the read's completion, then evaluates the graph in one go: with 50
 * imports in flight, the reads complete together and their compiles pile into one turn of the event loop,
 * outside any time slice (issue 13). The next import starts, as a task of the time slices, once an earlier one
 * has settled, or once it has been in flight for {@link IMPORT_PLACE_MS} (a module whose top-level await never
 * settles must not hold up every other plugin's import).
 */
export const IMPORTS_IN_FLIGHT = 2;
/** How long one import may keep its place among {@link IMPORTS_IN_FLIGHT} before the next starts anyway, in ms. */
export const IMPORT_PLACE_MS = 250;
let importsInFlight = 0;
/** Imports waiting for a place, oldest first; each is started by the one that hands it its place. */
const waitingImports: Array<() => void> = [];
// The place timers run in the context this module was loaded in, not in the importing plugin's scope (where
// hangar/testing would count one as that plugin's timer).
const loaderContext = new AsyncResource("hangar.importPlaces");
const TYPESCRIPT = /\.[cm]?ts$/;
const NODE_MODULES = `${path.sep}node_modules${path.sep}`;
const HOST_PROVIDED = (request: string) =>
  request === "express" || request === "hangar" || request.startsWith("hangar/");

let commonJsInstalled = false;

/**
 * One imported generation of a plugin folder: the file an ES module was imported from (importing its URL again
 * gives the same instance), or the namespace of a CommonJS generation, held strongly while it is the folder's
 * newest and weakly after, so that an older generation goes once its plugin lets go of it. A folder's generations
 * are a chain, newest first: most folders are imported once, and then hold this one object (issue 13: heap per
 * idle plugin; a Map of generations, its table and a URL string per folder before).
 */
class Remembered {
  constructor(
    readonly generation: number,
    /** The file an ES module generation was imported from (the entry, or a built file); null for CommonJS. */
    readonly file: string | null,
    /** A CommonJS generation's namespace while it is the folder's newest; undefined after. */
    public namespace: object | undefined,
    readonly weak: WeakRef<object> | null,
    /** The generation imported before this one, if it is still kept. */
    public older: Remembered | null,
  ) {}
}

// Per plugin folder, its latest generation, which links to the ones before (at most KEPT_GENERATIONS in all).
// Bounded, so that reloading all day keeps no list that grows.
const imported = new Map<string, Remembered>();
const KEPT_GENERATIONS = 4;
// Folders already warned about an ES module generation (once each: --watch may reload one all day).
const warnedFolders = new Set<string>();

function remember(folder: string, newest: Remembered): void {
  // The generations before, without the one remembered again, newest first; none holds its namespace strongly.
  let last = newest;
  let kept = 1;
  for (let older = imported.get(folder) ?? null; older !== null; older = older.older) {
    if (older.generation === newest.generation) continue;
    if (kept === KEPT_GENERATIONS) break;
    older.namespace = undefined;
    last.older = older;
    last = older;
    kept += 1;
  }
  last.older = null;
  imported.set(folder, newest);
}

/** The instance of `folder`'s `generation` imported before, if it is still there. */
function recall(folder: string, generation: number): { url: string } | { namespace: object } | undefined {
  let remembered = imported.get(folder) ?? null;
  while (remembered !== null && remembered.generation !== generation) remembered = remembered.older;
  if (remembered === null) return undefined;
  if (remembered.file !== null) return { url: pathToFileURL(remembered.file).href };
  const namespace = remembered.namespace ?? remembered.weak?.deref();
  return namespace === undefined ? undefined : { namespace };
}

/**
 * Imports a plugin's entry module for one generation and returns its namespace. Usable on any thread.
 *
 * - A JavaScript entry's first import in the process is a plain `import()` of the entry. If that fails
 *   because the plugin needs more (a TypeScript file it imports, a host-provided module it has no copy of),
 *   the generation is built instead.
 * - TypeScript entries, and every later generation, are built by esbuild (bundle.ts, run in hangar's builder
 *   thread, builder.ts) into one CommonJS script, evaluated as a module no registry keeps
 *   (commonjs-generation.ts), so a generation nobody uses any more is garbage collected; code that needs ES
 *   semantics (top-level await, `import.meta.resolve`) is built into an ES module file instead, imported with a
 *   plain `import()` (Node keeps it; `warn` says so once per folder) and the file deleted.
 * - CommonJS: `require()` of `.ts`/`.cts`/`.mts` compiles with esbuild (unless another loader already handles
 *   `.ts`); a new generation forgets the plugin's own CommonJS files from `require.cache` (only on reload).
 * - `hangar`, `hangar/*` and `express` resolve to the shell's copies when the plugin has none of its own.
 * - Each import (and each build request) starts as a task of the main thread's time slices
 *   (base/time-slice.ts), so many plugins loading at once do not block the thread for all of them in one turn.
 *
 * @throws whatever importing throws (build errors as Node's loader words them: `ERR_MODULE_NOT_FOUND`,
 *   `SyntaxError` with file, line and column).
 */
export async function importPluginEntry({
  entryFile,
  folder,
  generation,
  warn,
  debug,
}: PluginEntryImport): Promise<unknown> {
  installCommonJs();
  const same = recall(folder, generation);
  if (same !== undefined) {
    return "url" in same ? importBounded(same.url) : runInSlice(() => same.namespace, IMPORT);
  }
  const reload = imported.has(folder);
  if (!reload && !TYPESCRIPT.test(entryFile)) {
    try {
      const exports = await importBounded(pathToFileURL(entryFile).href);
      remember(folder, new Remembered(generation, entryFile, undefined, null, null));
      return exports;
    } catch (error) {
      if (!needsBuild(error)) throw error;
    }
  }
  const built = await buildOrRecall(entryFile, folder, generation, reload, debug);
  // Stacks of built code name the plugin's own files and lines through the inline source maps.
  process.setSourceMapsEnabled(true);
  if (built.format === "commonjs") {
    const namespace = await evaluateBuilt(built, entryFile);
    remember(folder, new Remembered(generation, null, namespace, new WeakRef(namespace), null));
    return namespace;
  }
  if (warn !== undefined && !warnedFolders.has(folder)) {
    warnedFolders.add(folder);
    warn(
      `this plugin's code is loaded as an ES module because ${built.reason}. Node keeps every ES module until the process ends, so each reload of this plugin (an update, --watch) adds another copy of its code to memory. To have a reloaded generation released once it stops, move top-level awaits into onStart and use import.meta.url instead of import.meta.resolve, or give it background.isolation "worker" (docs/loader.md, "Update generations")`,
    );
  }
  const url = pathToFileURL(built.file).href;
  try {
    const exports = await importBounded(url);
    remember(folder, new Remembered(generation, built.file, undefined, null, null));
    return exports;
  } finally {
    // Node keeps the evaluated module; the file is not read again (not even for its inline source map).
    await unlink(built.file).catch(() => {});
  }
}

/**
 * The generation from the build cache when nothing it was built from has changed (the builder thread is then not
 * started at all), else built in the builder thread, which keeps it in the cache for the next time.
 */
async function buildOrRecall(
  entryFile: string,
  folder: string,
  generation: number,
  reload: boolean,
  debug: ((message: string) => void) | undefined,
): Promise<BuiltGeneration> {
  const cacheFile = await cacheFileFor(entryFile, folder).catch(() => null);
  let why = "the build cache is off";
  if (cacheFile !== null) {
    const cached = await readCachedBuild(cacheFile, entryFile);
    if ("built" in cached) {
      debug?.(`built code taken from the build cache (${cacheFile})`);
      return runInSlice(() => {
        if (reload) forgetCommonJs(folder);
        return cached.built;
      });
    }
    why = cached.miss;
    // The builder thread boots while the rest of this turn's plugins are looked up.
    warmBuilder();
  }
  return runInSlice(() => {
    if (reload) forgetCommonJs(folder);
    return buildInBuilder(
      { entryFile, folder, generation, ...(cacheFile === null ? {} : { cacheFile }) },
      (note) =>
        debug?.(note === null ? `built (${why}); kept in the build cache` : `built (${why}); ${note}`),
    );
  });
}

/**
 * Node's `import()` of `url`, with at most {@link IMPORTS_IN_FLIGHT} in flight: started as a task of the time
 * slices, and its result handed back in another, so that what the caller does with it (the plugin's actor moving
 * on, `onStart`) runs within a slice's budget too, rather than in the poll phase where the last file read completed.
 */
async function importBounded(url: string): Promise<unknown> {
  if (importsInFlight < IMPORTS_IN_FLIGHT) importsInFlight += 1;
  else await new Promise<void>((resolve) => waitingImports.push(resolve)); // handed a place, still counted
  const imported = runInSlice(() => nativeImport(url), IMPORT);
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    clearTimeout(timer);
    const next = waitingImports.shift();
    if (next === undefined) importsInFlight -= 1;
    else next();
  };
  const timer = loaderContext.runInAsyncScope(() => setTimeout(release, IMPORT_PLACE_MS));
  timer.unref();
  await imported.then(release, release);
  return runInSlice(() => imported);
}

/**
 * Imports what a CommonJS generation imports (packages, files outside the folder) through Node's loader, in
 * order and with the names checked as Node's linker would, then evaluates the generation in a turn of its own.
 */
async function evaluateBuilt(
  built: Extract<BuiltGeneration, { format: "commonjs" }>,
  entryFile: string,
): Promise<object> {
  const namespaces = new Map<string, object>();
  for (const dependency of built.imports) {
    if (!dependency.specifier.startsWith("file:")) continue; // built-ins: require() gives the same object
    const namespace = (await nativeImport(dependency.specifier)) as object;
    checkImportedNames(dependency, namespace);
    namespaces.set(dependency.specifier, namespace);
  }
  return runInSlice(() => evaluateCommonJsGeneration(built.code, entryFile, namespaces) as object, IMPORT);
}

/** Errors that a plain import() raises where a built generation would have succeeded. */
function needsBuild(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ERR_UNKNOWN_FILE_EXTENSION") return true;
  if (code === "ERR_MODULE_NOT_FOUND") {
    const message = String((error as Error).message);
    return /Cannot find package '(express|hangar)['/]/.test(message);
  }
  return false;
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
      // TypeScript's convention, as esbuild resolves imports: "./x.js" written in a .ts file names ./x.ts.
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
