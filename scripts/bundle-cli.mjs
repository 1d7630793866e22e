// Bundles the `hangar` command with esbuild, at build time, into dist/cli/bundle/:
// - cli.cjs: dist/cli/main.js and everything it imports, one CommonJS script (instead of ~500 modules, which
//   halves the CLI's start-up: BENCHMARKS.md, "Cold start"). CommonJS because Node 20 can keep V8's compiled code
//   of a script (vm.Script's cachedData) but not of an ES module;
// - main.js: what bin/hangar.js imports, dist/cli/launch.js and code-cache.js: it runs cli.cjs through a V8 code
//   cache (src/cli/code-cache.ts; BENCHMARKS.md, "Cold start, session 5").
// The library entry points (`hangar`, `hangar/sdk`, …) stay the unbundled dist/ files.
// Usage: node scripts/bundle-cli.mjs (npm run build runs it after tsc).
import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, transform } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const outdir = path.join(dist, "cli", "bundle");

// Left for Node to load from node_modules:
// - express: plugins import it too, and must get the same copy (a second, bundled one cost ~100 ms);
// - esbuild: a native binary with its own service process, loaded only when a plugin needs building;
// - @viz-js/viz: a large WebAssembly module, imported only by `hangar graph --format svg`;
// - tsx: only ever resolved (import.meta.resolve) when hangar runs from src/.
const external = ["express", "esbuild", "@viz-js/viz", "tsx", "tsx/*"];

/**
 * hangar's modules find their neighbours (the builder and isolate workers, package.json, the shell page and
 * inspector assets) from `import.meta.url`. In the bundle each module keeps the URL of its dist/ file, which is
 * still there, so those paths stay right: `base` is the bundle's own URL, in the bundle's format.
 */
function keepModuleUrls(base) {
  return {
    name: "keep-module-urls",
    setup(build) {
      build.onLoad({ filter: /\.js$/ }, async (args) => {
        if (!args.path.startsWith(dist + path.sep)) return undefined;
        const contents = await readFile(args.path, "utf8");
        if (!contents.includes("import.meta.url")) return { contents, loader: "js" };
        // esbuild's define changes the expression only, never the same text inside a string (init's templates).
        const { code } = await transform(contents, {
          loader: "js",
          format: "esm",
          define: { "import.meta.url": "__hangarModuleUrl" },
        });
        const relative = path.relative(outdir, args.path).split(path.sep).join("/");
        const url = `const __hangarModuleUrl = new URL(${JSON.stringify(relative)}, ${base}).href;\n`;
        return { contents: url + code, loader: "js" };
      });
    },
  };
}

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  external,
  // Less text for V8 to parse at a start without a code cache (about 15% of the bundle's import CPU); names are
  // kept (stack frames and errors print them) and the linked source map leads back to dist/
  // (`node --enable-source-maps`).
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  sourcemap: "linked",
  sourcesContent: false,
  legalComments: "none",
  logLevel: "warning",
};

await rm(outdir, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: [path.join(dist, "cli", "main.js")],
  outfile: path.join(outdir, "cli.cjs"),
  format: "cjs",
  plugins: [keepModuleUrls('require("node:url").pathToFileURL(__filename)')],
  // No import() left in the script: Node 20 gives a vm.Script compiled from a code cache no import callback (and
  // its main-context loader option is experimental, with a warning). Each becomes a require() when it runs; the
  // external packages imported so (esbuild, proper-lockfile, @viz-js/viz) all have a CommonJS entry.
  supported: { "dynamic-import": false },
  // `import.meta.resolve("tsx…")` (isolate.js, builder.js) runs only from src/ (a module URL ending in .ts),
  // never in this bundle, where import.meta is empty.
  logOverride: { "empty-import-meta": "silent" },
});
// The launcher knows the CLI bundle's hash (the code cache's key) without hashing 0.7 MB at every start.
const cliHash = createHash("sha256")
  .update(await readFile(path.join(outdir, "cli.cjs")))
  .digest("hex");
await build({
  ...common,
  entryPoints: [path.join(dist, "cli", "launch.js")],
  outfile: path.join(outdir, "main.js"),
  format: "esm",
  plugins: [keepModuleUrls("import.meta.url")],
  define: { HANGAR_CLI_SHA256: JSON.stringify(cliHash) },
});
