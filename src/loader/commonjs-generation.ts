// Evaluates a generation that bundle.ts built as CommonJS: a Module object that no registry knows (not
// require.cache, not Node's ESM cache), so once the plugin's code is stopped and released nothing reaches the
// generation and the garbage collector takes it, source map included (Node keeps a CommonJS module's map only
// while the module object lives). Node's ESM loader, by contrast, keeps every module it evaluated.

import Module, { createRequire } from "node:module";
import path from "node:path";
import type { GenerationImport } from "./bundle.js";

interface CompilableModule {
  filename: string;
  paths: string[];
  exports: unknown;
  require(id: string): unknown;
  _compile(code: string, filename: string): void;
}
interface ModuleStatics {
  _nodeModulePaths(from: string): string[];
}

/** What an ES import of something Node loads itself gave, keyed by the specifier the generation's code requires. */
export type ImportedNamespaces = ReadonlyMap<string, object>;

/**
 * The namespace Node's import() gave, in the shape esbuild's CommonJS interop expects of an ES module (`__esModule`
 * set, so `import d from` takes its `default`). One per namespace, shared by every generation that imports it;
 * getters keep ES live bindings live.
 */
const interop = new WeakMap<object, object>();
export function commonJsView(namespace: object): object {
  let view = interop.get(namespace);
  if (view !== undefined) return view;
  view = Object.defineProperty({}, "__esModule", { value: true });
  for (const key of Object.keys(namespace)) {
    // A compiled CommonJS package exports its own __esModule mark: the view's says "ES module" already.
    if (key === "__esModule") continue;
    Object.defineProperty(view, key, {
      enumerable: true,
      get: () => (namespace as Record<string, unknown>)[key],
    });
  }
  interop.set(namespace, view);
  return view;
}

/**
 * Throws what Node's linker throws when a module imports a name its dependency does not export, so that a
 * CommonJS generation fails where (and as) its ES module twin would have.
 *
 * @throws SyntaxError `The requested module '<specifier>' does not provide an export named '<name>'`
 */
export function checkImportedNames(imported: GenerationImport, namespace: object): void {
  for (const name of imported.names) {
    if (!(name in namespace)) {
      throw new SyntaxError(
        `The requested module '${imported.specifier}' does not provide an export named '${name}'`,
      );
    }
  }
}

// One require per entry file, shared by its generations (building one costs more than compiling a small plugin).
// Packages the generations load get its module as their parent, not a generation's, so it keeps no generation.
const entryRequires = new Map<string, NodeJS.Require>();
function requireFrom(entryFile: string): NodeJS.Require {
  let require = entryRequires.get(entryFile);
  if (require === undefined) {
    require = createRequire(entryFile);
    entryRequires.set(entryFile, require);
  }
  return require;
}

/**
 * Compiles and runs `code` as a CommonJS module named after `entryFile` (its stack frames and `require` resolve
 * from there; the inline source map names each original file), with `require(<specifier>)` of each ES import
 * answered from `namespaces`. Returns the module's namespace as import() would give it: the exports of an ES
 * module (marked `__esModule`), or `{ default: module.exports }` for a CommonJS entry.
 *
 * @throws whatever evaluating the plugin's code throws.
 */
export function evaluateCommonJsGeneration(
  code: string,
  entryFile: string,
  namespaces: ImportedNamespaces,
): unknown {
  // No parent: a parent would list this module among its children (and keep it) for the process's life.
  const module = new Module(entryFile) as unknown as CompilableModule;
  module.filename = entryFile;
  module.paths = (Module as unknown as ModuleStatics)._nodeModulePaths(path.dirname(entryFile));
  const requireFromEntry = requireFrom(entryFile);
  module.require = (id: string) => {
    const namespace = namespaces.get(id);
    return namespace === undefined ? requireFromEntry(id) : commonJsView(namespace);
  };
  module._compile(code, entryFile);
  const exports = module.exports as { __esModule?: unknown } | null;
  if (typeof exports === "object" && exports !== null && exports.__esModule === true) return exports;
  return { default: exports };
}
