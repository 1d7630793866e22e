// Builds one update generation of a plugin with esbuild's asynchronous API (the work runs in esbuild's own
// process, off the thread that asks): one CommonJS script the loading thread evaluates as a module it can drop
// (so a stopped generation can be garbage collected), or, when the code needs ES module semantics (top-level
// await, import.meta beyond url/dirname/filename), one ES module file for a plain import(), which Node keeps.

import { readFile, writeFile } from "node:fs/promises";
import { createRequire, isBuiltin } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { threadId } from "node:worker_threads";
import type { ImportKind, Message, OnResolveArgs, OnResolveResult, Plugin, PluginBuild } from "esbuild";
import { makeDirectory } from "../base/directories.js";
import { type BuildFacts, packageNameOf, sha256 } from "./build-cache.js";

const hostRequire = createRequire(import.meta.url);
const NODE_MODULES = `${path.sep}node_modules${path.sep}`;
const TYPESCRIPT = /\.[cm]?ts$/;
const SOURCE = /\.[cm]?[jt]sx?$/;
const HOST_PROVIDED = (request: string) =>
  request === "express" || request === "hangar" || request.startsWith("hangar/");

/** What {@link buildGeneration} builds. */
export interface GenerationBuild {
  /** Absolute real path of the entry module. */
  entryFile: string;
  /** Absolute real path of the plugin folder: its files outside node_modules are bundled, everything else is not. */
  folder: string;
  /** The update generation; it is part of the output file's name. */
  generation: number;
  /**
   * Where to keep the built CommonJS generation for the next start (build-cache.ts), or absent for no cache.
   * Written by the builder thread after the build.
   */
  cacheFile?: string | undefined;
}

/**
 * A package, a JavaScript file outside the plugin folder or a built-in that a CommonJS generation imports (an
 * `import` statement in the plugin's code): the loading thread imports it with Node's loader before it
 * evaluates the generation, so that it gets the same instance as any other import of it.
 */
export interface GenerationImport {
  /** The `file:` URL (or `node:` name) that the generation's code passes to `require()` for it. */
  specifier: string;
  /** The names imported from it (`default` included); each must be an export, as Node's linker checks. */
  names: string[];
}

/** What {@link buildGeneration} built. */
export type BuiltGeneration =
  | {
      /** A CommonJS script to evaluate with `Module.prototype._compile` (no file; nothing of it kept by Node). */
      format: "commonjs";
      /** The code, with an inline source map whose sources are absolute `file:` URLs of the plugin's files. */
      code: string;
      /** What its `require()` calls for ES imports, in the order the ES module would have linked them. */
      imports: GenerationImport[];
    }
  | {
      /** An ES module file to import once and delete (Node keeps the module for the process's life). */
      format: "module";
      /** Absolute path of the file. */
      file: string;
      /** Why it could not be CommonJS, in hangar's words ("it uses top-level await"), for the loader's warning. */
      reason: string;
    };

let esbuild: typeof import("esbuild") | undefined;
let built = 0;

/**
 * The folder generations are written to: `<os.tmpdir()>/hangar-modules/<pid>-<thread>`, created again if
 * something cleaned the temp folder meanwhile. Each file is deleted as soon as it is imported (Node keeps the
 * evaluated module, and its inline source map, in memory).
 */
const outputDir = path.join(os.tmpdir(), "hangar-modules", `${process.pid}-${threadId}`);

/**
 * Bundles the plugin's own files reachable from `entryFile` into one ES module, then turns that into one
 * CommonJS script (returned as code), or, when it cannot be (top-level await, `import.meta` beyond
 * `url`/`dirname`/`filename`), writes the ES module to a temporary file (returned as a path: the caller imports
 * it, then deletes it).
 *
 * - Bundled: every file inside `folder` outside any node_modules (TypeScript, ESM and CommonJS alike), and
 *   TypeScript files outside it (Node could not import those itself).
 * - Left to Node, as absolute `file:` URLs resolved now: packages (the plugin's own copy wins; `hangar`,
 *   `hangar/*` and `express` fall back to the shell's copy, so one express is shared), JavaScript files
 *   outside the folder (one instance shared by every generation), and Node's built-in modules.
 * - Per file, `import.meta.url`, `import.meta.dirname`, `import.meta.filename`, `__dirname` and `__filename`
 *   name the original file; `require` is the original entry's (`createRequire`). Source maps are inline and
 *   name the original files and lines.
 *
 * @throws Error with `code` `ERR_MODULE_NOT_FOUND` (a message naming the missing package or file and the
 *   file importing it) or a `SyntaxError` naming the file, line and column, as Node's own loader would.
 */
export async function buildGeneration(
  { entryFile, folder, generation }: GenerationBuild,
  facts?: BuildFacts,
): Promise<BuiltGeneration> {
  const esbuild = loadEsbuild();
  built += 1;
  const name = path.basename(entryFile).replace(/\.[^.]+$/, "");
  const outfile = path.join(outputDir, `${path.basename(folder)}-${name}.g${generation}-${built}.mjs`);
  let result: import("esbuild").BuildResult<{ write: false }>;
  try {
    result = await esbuild.build({
      entryPoints: [entryFile],
      outfile,
      bundle: true,
      write: false,
      format: "esm",
      platform: "node",
      target: "node20",
      sourcemap: "inline",
      sourcesContent: false,
      // Node semantics, not a bundler's: no module is dropped for a package's "sideEffects" or a pure mark,
      // and functions and classes keep their names.
      ignoreAnnotations: true,
      keepNames: true,
      logLevel: "silent",
      banner: {
        js: `import { createRequire as __hangarCreateRequire } from "node:module"; const require = __hangarCreateRequire(${JSON.stringify(pathToFileURL(entryFile).href)});`,
      },
      plugins: [pluginFiles(folder, facts)],
    });
  } catch (error) {
    throw nodeLikeError(error, entryFile);
  }
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error(`esbuild wrote nothing for ${entryFile}`);
  const commonJs = await toCommonJs(output.text, outfile);
  if ("code" in commonJs) return { format: "commonjs", ...commonJs };
  await makeDirectory(outputDir);
  await writeFile(outfile, output.contents);
  return { format: "module", file: outfile, reason: commonJs.reason };
}

/**
 * The built ES module as one CommonJS script, or why it cannot be one. Its ES imports of what Node loads itself
 * become `require(<url>)` calls (esbuild's interop: a required object marked `__esModule` gives its `default`
 * to default imports), answered by the loading thread with what Node's own import() gave (module-loader.ts).
 */
async function toCommonJs(
  module: string,
  outfile: string,
): Promise<{ code: string; imports: GenerationImport[] } | { reason: string }> {
  let transformed: import("esbuild").TransformResult;
  try {
    transformed = await loadEsbuild().transform(module, {
      format: "cjs",
      platform: "node",
      target: "node20",
      // Not .mjs: esbuild would then mark every import "node mode" and hand a whole namespace to default imports.
      sourcefile: outfile.replace(/\.mjs$/, ".js"),
      sourcemap: "inline",
      sourcesContent: false,
      // An ES module is strict; its CommonJS twin must be too.
      banner: '"use strict";',
      logLevel: "silent",
    });
  } catch (error) {
    const first = (error as { errors?: Message[] } | null)?.errors?.[0];
    if (first !== undefined) {
      return {
        reason: /top-level await/i.test(first.text)
          ? "it uses top-level await"
          : `it could not be turned into CommonJS (${first.text})`,
      };
    }
    throw error;
  }
  const emptyMeta = transformed.warnings.find((warning) => warning.id === "empty-import-meta");
  if (emptyMeta !== undefined) {
    return { reason: "it uses import.meta beyond url, dirname and filename (import.meta.resolve, say)" };
  }
  return { code: withAbsoluteSources(transformed.code, outfile), imports: staticImportsOf(module) };
}

const INLINE_MAP = /\n\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;

/**
 * The code with its inline source map's sources made absolute `file:` URLs: the script is compiled under the
 * entry file's name (not the temporary file's the map was made for), and stacks must still name each file.
 */
function withAbsoluteSources(code: string, outfile: string): string {
  const match = INLINE_MAP.exec(code);
  if (match === null) return code;
  const map = JSON.parse(Buffer.from(match[1] ?? "", "base64").toString("utf8")) as {
    sources: string[];
    sourceRoot?: string;
  };
  const base = pathToFileURL(outfile);
  map.sources = map.sources.map((source) => new URL(source, base).href);
  delete map.sourceRoot;
  const encoded = Buffer.from(JSON.stringify(map)).toString("base64");
  return `${code.slice(0, match.index)}\n//# sourceMappingURL=data:application/json;base64,${encoded}\n`;
}

// esbuild prints an ES module's static imports of externals at the top level, one statement each, in a fixed form:
// `import "x";`, `import d from "x";`, `import * as n from "x";`, `import { a, b as c } from "x";` (possibly over
// several lines), `import d, { a } from "x";`, and re-exports `export * from "x";`, `export { a as b } from "x";`.
const STATIC_IMPORT =
  /^(import|export)\s*(?:([\w$]+)\s*,?\s*)?(\*\s*(?:as\s+[\w$]+)?|\{[^}]*\})?\s*(?:from\s*)?"((?:[^"\\]|\\.)*)";$/gm;

/** The externals the built ES module imports statically, each with the names it takes from it. */
function staticImportsOf(module: string): GenerationImport[] {
  const imports = new Map<string, Set<string>>();
  for (const match of module.matchAll(STATIC_IMPORT)) {
    const [, keyword, defaultName, clause, quoted] = match;
    if (keyword === "export" && defaultName !== undefined) continue; // `export default "x";` is no import
    const specifier = JSON.parse(`"${quoted}"`) as string;
    const names = imports.get(specifier) ?? new Set<string>();
    imports.set(specifier, names);
    if (keyword === "import" && defaultName !== undefined) names.add("default");
    if (clause?.startsWith("{")) {
      for (const item of clause.slice(1, -1).split(",")) {
        const name = item.trim().split(/\s+as\s+/)[0];
        if (name !== undefined && name !== "") names.add(name.replace(/^"(.*)"$/, "$1"));
      }
    }
  }
  return [...imports].map(([specifier, names]) => ({ specifier, names: [...names] }));
}

function loadEsbuild(): typeof import("esbuild") {
  esbuild ??= hostRequire("esbuild") as typeof import("esbuild");
  return esbuild;
}

/**
 * Loads esbuild and starts its service process (which esbuild's API otherwise spawns on the first build), so
 * that a build asked for while this runs finds them ready. Never throws: a failure shows on the first build.
 */
export function startEsbuild(): void {
  try {
    loadEsbuild()
      .transform("", { loader: "ts" })
      .catch(() => {});
  } catch {
    // reported by the first build, with the plugin that needed it
  }
}

/**
 * The esbuild plugin that decides what is bundled and gives each file its own location; it records in `facts`
 * (when given) what the build read and how it resolved packages, for the build cache.
 */
function pluginFiles(folder: string, facts?: BuildFacts): Plugin {
  const inside = (file: string) => file.startsWith(folder + path.sep) && !file.includes(NODE_MODULES);
  return {
    name: "hangar-plugin-files",
    setup(build) {
      // Bare specifiers (packages, built-ins, file: URLs) and paths that may leave the folder.
      build.onResolve({ filter: /^(?:[^./]|\.\.|\/)/ }, async (args) => {
        if (args.pluginData === RESOLVING) return undefined;
        const result = await resolveOutside(build, args, inside);
        if (facts !== undefined && result?.path !== undefined && !isBuiltin(result.path)) {
          const resolved = result.path.startsWith("file:") ? fileURLToPath(result.path) : result.path;
          const bare =
            !args.path.startsWith(".") && !path.isAbsolute(args.path) && !args.path.startsWith("file:");
          const name = bare ? packageNameOf(args.path) : null;
          if (name === null) facts.files.add(resolved);
          else facts.packages.push({ name, resolveDir: args.resolveDir, resolved });
        }
        return result;
      });
      build.onLoad({ filter: /\.json$/ }, async (args) => {
        const source = await readFile(args.path);
        facts?.loaded.set(args.path, sha256(source));
        return { contents: source, loader: "json" };
      });
      build.onLoad({ filter: SOURCE }, async (args) => {
        const source = await readFile(args.path, "utf8");
        facts?.loaded.set(args.path, sha256(source));
        const loader = TYPESCRIPT.test(args.path) ? "ts" : "js";
        if (!/import\.meta|__dirname|__filename/.test(source)) return { contents: source, loader };
        // Only these free names: a file's own `const __dirname = ...` is left alone by `define`.
        const transformed = await esbuild!.transform(source, {
          loader,
          sourcefile: args.path,
          sourcemap: "inline",
          sourcesContent: false,
          target: "node20",
          define: {
            "import.meta.url": JSON.stringify(pathToFileURL(args.path).href),
            "import.meta.dirname": JSON.stringify(path.dirname(args.path)),
            "import.meta.filename": JSON.stringify(args.path),
            __dirname: JSON.stringify(path.dirname(args.path)),
            __filename: JSON.stringify(args.path),
          },
        });
        return { contents: transformed.code, loader: "js" };
      });
      // Any other file esbuild reads itself (a loader hangar does not know): the build is not cached.
      build.onLoad({ filter: /./ }, (args) => {
        facts?.unhashed.add(args.path);
        return undefined;
      });
    },
  };
}

const RESOLVING = Symbol("hangar resolving");

async function resolveOutside(
  build: PluginBuild,
  args: OnResolveArgs,
  inside: (file: string) => boolean,
): Promise<OnResolveResult | undefined> {
  const specifier = args.path;
  if (isBuiltin(specifier)) return { path: specifier, external: true };
  const kind = args.kind;
  if (specifier.startsWith("file:")) return placeFile(fileURLToPath(specifier), inside, kind);
  const relative = specifier.startsWith(".") || specifier.startsWith("/");
  const resolved = await build.resolve(specifier, {
    kind: args.kind,
    importer: args.importer,
    resolveDir: args.resolveDir,
    pluginData: RESOLVING,
  });
  if (resolved.errors.length === 0 && resolved.path !== "") {
    if (resolved.external) return { path: resolved.path, external: true };
    if (relative || inside(resolved.path)) return placeFile(resolved.path, inside, kind);
    return { path: external(resolved.path, kind), external: true };
  }
  if (!relative && HOST_PROVIDED(specifier) && !args.importer.includes(NODE_MODULES)) {
    try {
      return { path: external(hostRequire.resolve(specifier), kind), external: true };
    } catch {
      // not provided after all: report it as missing below
    }
  }
  if (relative) return undefined; // esbuild reports the missing file itself
  return {
    errors: [{ text: `Cannot find package '${specifier}' imported from ${args.importer}`, detail: MISSING }],
  };
}

const MISSING = "hangar:missing-package";

/** A resolved file: bundled when it is the plugin's own or TypeScript, else imported by Node from where it is. */
function placeFile(file: string, inside: (file: string) => boolean, kind: ImportKind): OnResolveResult {
  if (inside(file) || TYPESCRIPT.test(file)) return { path: file };
  return { path: external(file, kind), external: true };
}

/** How the bundle names a file Node loads itself: a path for require(), a file: URL for import. */
function external(file: string, kind: ImportKind): string {
  return kind === "require-call" || kind === "require-resolve" ? file : pathToFileURL(file).href;
}

/** esbuild's build failure as the error Node's loader would have thrown for the same mistake. */
function nodeLikeError(error: unknown, entryFile: string): Error {
  const messages = (error as { errors?: Message[] } | null)?.errors;
  const first = messages?.[0];
  if (first === undefined) return error instanceof Error ? error : new Error(String(error));
  const file = first.location ? path.resolve(first.location.file) : entryFile;
  const where = first.location ? `${file}:${first.location.line}:${first.location.column + 1}` : entryFile;
  if (first.detail === MISSING) return withCode(new Error(first.text), "ERR_MODULE_NOT_FOUND");
  const unresolved = /^Could not resolve "([^"]+)"/.exec(first.text);
  if (unresolved) {
    return withCode(
      new Error(`Cannot find module '${unresolved[1]}' imported from ${file}`),
      "ERR_MODULE_NOT_FOUND",
    );
  }
  const syntax = new SyntaxError(`${first.text} (${where})`);
  return syntax;
}

function withCode(error: Error, code: string): Error {
  return Object.assign(error, { code });
}
