// The ESM module hooks hangar registers once per thread (module.register), as source text: a file would need a
// build step per runtime (vitest from src/, dist/, an asar archive); a data: URL of this string runs in all of
// them. The hooks thread runs it; it reaches the rest of hangar only through `initialize` data.

/** The query parameter that marks a module URL as belonging to one update generation of one plugin. */
export const GENERATION_PARAM = "hangar-generation";
/** The query parameter on an entry URL that tells the hooks the plugin folder (a file path), once per import. */
export const FOLDER_PARAM = "hangar-folder";

/** What the main thread gives the hooks thread in `initialize`. */
export interface ModuleHooksData {
  /** file: URL of esbuild's main module, imported by the hooks thread on the first TypeScript file. */
  esbuildUrl: string;
  /** file: URL inside the hangar package: host-provided modules (`hangar`, `hangar/*`, `express`) resolve from it. */
  hostParentUrl: string;
}

/**
 * The hooks, as JavaScript (ESM). Rules:
 * - resolve: an entry URL carrying `hangar-folder` records that folder as a plugin root and drops the param.
 *   A file that a module of generation N imports gets `?hangar-generation=N` too when it lies inside the same
 *   plugin root and outside any node_modules, so every file of the plugin is a fresh instance per generation
 *   while packages keep one instance. A bare import of `hangar`, `hangar/…` or `express` that the plugin
 *   cannot resolve itself resolves from the hangar package (the shell's copy); the plugin's own copy wins.
 *   A relative `./x.js` that does not exist resolves to `./x.ts` (likewise .mjs → .mts, .cjs → .cts).
 * - load: `.ts`/`.mts` are transformed by esbuild (inline source map naming the file without any query);
 *   a `.ts` file follows the nearest package.json's "type" (CommonJS without one), except that ESM-only
 *   syntax (import.meta, top-level await) makes it ESM and a file without import/export is CommonJS; CommonJS and `.cts` files are left to the CommonJS loader (whose
 *   `.ts`/`.cts` handler hangar installs on the main thread). A JavaScript module loaded with a generation query
 *   gets a `sourceURL` comment so stacks name the file, not the internal URL.
 */
export const moduleHooksSource = String.raw`
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const GEN = ${JSON.stringify(GENERATION_PARAM)};
const FOLDER = ${JSON.stringify(FOLDER_PARAM)};
const NODE_MODULES = path.sep + "node_modules" + path.sep;
const roots = new Set();
// One entry per file path (not per generation): an unchanged file is not transformed again on reload.
const transforms = new Map();
let esbuildUrl;
let hostParentUrl;
let esbuild;

export function initialize(data) {
  esbuildUrl = data.esbuildUrl;
  hostParentUrl = data.hostParentUrl;
}

function split(url) {
  const q = url.indexOf("?");
  return q === -1 ? [url, ""] : [url.slice(0, q), url.slice(q + 1)];
}

function generationOf(url) {
  if (url === undefined || !url.startsWith("file:")) return null;
  const [, query] = split(url);
  return query === "" ? null : new URLSearchParams(query).get(GEN);
}

function rootOf(file) {
  let dir = path.dirname(file);
  for (;;) {
    if (roots.has(dir)) return dir;
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

const isHostProvided = (specifier) =>
  specifier === "express" || specifier === "hangar" || specifier.startsWith("hangar/");

export async function resolve(specifier, context, nextResolve) {
  if (specifier.startsWith("file:") && specifier.includes(FOLDER + "=")) {
    const [base, query] = split(specifier);
    const params = new URLSearchParams(query);
    roots.add(params.get(FOLDER));
    params.delete(FOLDER);
    return nextResolve(base + "?" + params.toString(), context);
  }
  const parent = context.parentURL;
  let resolved;
  try {
    resolved = await nextResolve(specifier, context);
  } catch (error) {
    // TypeScript's own convention: "./x.js" names the file that is ./x.ts before compilation.
    const js = /\.([cm]?)js$/.exec(specifier);
    if (error?.code === "ERR_MODULE_NOT_FOUND" && js !== null && /^(\.|\/|file:)/.test(specifier)) {
      try {
        resolved = await nextResolve(specifier.slice(0, -2 - js[1].length) + js[1] + "ts", context);
      } catch {
        throw error;
      }
    } else if (
      error?.code === "ERR_MODULE_NOT_FOUND" &&
      isHostProvided(specifier) &&
      parent?.startsWith("file:") &&
      !fileURLToPath(split(parent)[0]).includes(NODE_MODULES)
    ) {
      return nextResolve(specifier, { ...context, parentURL: hostParentUrl });
    } else {
      throw error;
    }
  }
  const generation = generationOf(parent);
  if (generation === null || !resolved.url.startsWith("file:") || resolved.url.includes("?")) return resolved;
  const file = fileURLToPath(resolved.url);
  if (file.includes(NODE_MODULES)) return resolved;
  const root = rootOf(fileURLToPath(split(parent)[0]));
  if (root === null || !file.startsWith(root + path.sep)) return resolved;
  return { ...resolved, url: resolved.url + "?" + GEN + "=" + generation };
}

// Whether esbuild's output (types gone) needs to be an ES module: compiling it as a CommonJS function body
// fails on exactly the syntax only modules allow.
function moduleSyntaxOf(code) {
  try {
    new vm.Script("(function (exports, require, module, __filename, __dirname) {" + code + "\n})");
    return "none";
  } catch (error) {
    if (!(error instanceof SyntaxError)) return "none";
    if (MODULE_ONLY.test(error.message)) return "module-only";
    return /import statement|Unexpected token 'export'/.test(error.message) ? "module" : "none";
  }
}

// The "type" of the nearest package.json, per folder ("commonjs" when there is none, as Node decides for .js).
const packageTypes = new Map();
function packageTypeOf(dir) {
  let type = packageTypes.get(dir);
  if (type !== undefined) return type;
  try {
    const json = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
    type = json?.type === "module" ? "module" : "commonjs";
  } catch (error) {
    const up = path.dirname(dir);
    type = error?.code === "ENOENT" && up !== dir && path.basename(dir) !== "node_modules" ? packageTypeOf(up) : "commonjs";
  }
  packageTypes.set(dir, type);
  return type;
}

// Syntax that only an ES module can have, so a .ts file using it stays ESM even in a CommonJS package.
const MODULE_ONLY = /import\.meta|await is only valid|Unexpected reserved word/;

// A .ts file follows its package's "type", as tsc would compile it, except that syntax decides where the type
// cannot hold: ESM-only syntax (import.meta, top-level await) makes it ESM, and a file with no import/export
// in a "module" package is CommonJS. So export default createPlugin(...) works in any package.
function isModule(file, code) {
  if (file.endsWith(".mts")) return true;
  const syntax = moduleSyntaxOf(code);
  if (syntax === "module-only") return true;
  return syntax === "module" && packageTypeOf(path.dirname(file)) === "module";
}

async function transform(file, fileUrl) {
  const source = await readFile(file, "utf8");
  const cached = transforms.get(file);
  if (cached !== undefined && cached.source === source) return cached;
  esbuild ??= await import(esbuildUrl);
  const output = await esbuild.transform(source, {
    loader: "ts",
    sourcemap: "inline",
    // The map names the .ts file; the source itself is on disk. Node keeps every ES module's parsed map for
    // the process's life, so embedding the source would be retained once per generation.
    sourcesContent: false,
    sourcefile: fileUrl,
    target: "node20",
  });
  const code = output.code;
  const entry = { source, code, module: isModule(file, code) };
  transforms.set(file, entry);
  return entry;
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:")) return nextLoad(url, context);
  const [fileUrl, query] = split(url);
  if (fileUrl.endsWith(".cts")) return { format: "commonjs", shortCircuit: true };
  if (fileUrl.endsWith(".ts") || fileUrl.endsWith(".mts")) {
    const { code, module } = await transform(fileURLToPath(fileUrl), fileUrl);
    if (!module) return { format: "commonjs", shortCircuit: true };
    return { format: "module", source: code, shortCircuit: true };
  }
  const loaded = await nextLoad(url, context);
  if (query !== "" && loaded.format === "module" && loaded.source != null) {
    return { ...loaded, source: String(loaded.source) + "\n//# sourceURL=" + fileUrl + "\n" };
  }
  return loaded;
}
//# sourceURL=hangar:module-hooks
`;
