// Serves the inspector page's own files (HTML, CSS, ES modules) from the installed package: no CDN, no bundler
// at runtime. From dist/ the modules are tsc's output; from src/ (tests, tsx) each .ts file is stripped of
// its types on first request with esbuild, a development dependency that source checkouts always have.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** A file ready to send. */
export interface InspectorAsset {
  body: string;
  contentType: string;
}

/** Finds and prepares the page's files. */
export interface AssetStore {
  /** The asset at `name` (`index.html`, `inspector.css`, `main.js`, `views/tree.js`), or null when there is none. */
  get(name: string): Promise<InspectorAsset | null>;
  /** How many files are kept in memory: only files that exist, so no request can make it grow. */
  readonly size: number;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
};

/** Names a page may ask for: lowercase words, one optional folder, a known extension. No dots, no `..`. */
const ASSET_NAME = /^(?:[a-z0-9-]+\/)?[a-z0-9-]+\.(?:html|css|js)$/;

/**
 * Where the client files are. Next to this module there is `client/` with either compiled `.js` (in dist/)
 * or `.ts` sources (in src/). tsc copies no HTML or CSS, so from dist/ those come from the shipped src/.
 */
function clientDirs(): { modules: string; files: string } {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const modules = path.join(here, "client");
  const files = existsSync(path.join(modules, "index.html"))
    ? modules
    : path.resolve(here, "..", "..", "src", "inspector", "client");
  return { modules, files };
}

/** Creates the store. Files are read once and kept: they do not change while a shell runs. */
export function createAssetStore(): AssetStore {
  const dirs = clientDirs();
  const cache = new Map<string, Promise<InspectorAsset | null>>();

  async function load(name: string): Promise<InspectorAsset | null> {
    const extension = path.extname(name);
    const contentType = CONTENT_TYPES[extension];
    if (contentType === undefined) return null;
    if (extension !== ".js") return readAsset(path.join(dirs.files, name), contentType);
    const compiled = await readAsset(path.join(dirs.modules, name), contentType);
    if (compiled) return { ...compiled, body: withoutSourceMap(compiled.body) };
    const source = path.join(dirs.modules, name.replace(/\.js$/, ".ts"));
    let code: string;
    try {
      code = await readFile(source, "utf8");
    } catch {
      return null;
    }
    return { body: await stripTypes(code, source), contentType };
  }

  return {
    get(name) {
      if (!ASSET_NAME.test(name)) return Promise.resolve(null);
      let asset = cache.get(name);
      if (!asset) {
        asset = load(name);
        cache.set(name, asset);
        // Only files that exist are kept: names are free for anyone to make up (this route needs no token),
        // and a failure (say, esbuild missing) is not remembered either: the next request tries again.
        asset.then(
          (found) => {
            if (found === null) cache.delete(name);
          },
          () => cache.delete(name),
        );
      }
      return asset;
    },
    get size() {
      return cache.size;
    },
  };
}

async function readAsset(file: string, contentType: string): Promise<InspectorAsset | null> {
  try {
    return { body: await readFile(file, "utf8"), contentType };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** tsc's output points at maps the server does not serve; a browser would log a failed fetch for each. */
function withoutSourceMap(code: string): string {
  return code.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");
}

/** TypeScript to the same ES module tsc would emit (imports already end in `.js`), via esbuild. */
async function stripTypes(code: string, file: string): Promise<string> {
  const { transform } = await import("esbuild");
  const result = await transform(code, {
    loader: "ts",
    format: "esm",
    target: "es2022",
    sourcefile: file,
    sourcemap: "inline",
  });
  return result.code;
}
