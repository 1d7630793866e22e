// Bundles the `hangar` command (dist/cli/main.js and what it imports) into dist/cli/bundle/ with esbuild, at build
// time: bin/hangar.js then imports one file (and loads a command's rarer parts as chunks when it runs them) instead
// of ~500 modules, which halves the CLI's start-up (BENCHMARKS.md, "Cold start"). The library entry points
// (`hangar`, `hangar/sdk`, …) stay the unbundled dist/ files.
// Usage: node scripts/bundle-cli.mjs (npm run build runs it after tsc).
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
// - proper-lockfile: CommonJS imported with import() when the data folder is locked; Node's named exports for it
//   are what the caller reads (a bundled copy would have only `default`);
// - tsx: only ever resolved (import.meta.resolve) when hangar runs from src/.
const external = ["express", "esbuild", "@viz-js/viz", "proper-lockfile", "tsx", "tsx/*"];

/**
 * hangar's modules find their neighbours (the builder and isolate workers, package.json, the shell page and
 * inspector assets) from `import.meta.url`. In the bundle each module keeps the URL of its dist/ file, which is
 * still there, so those paths stay right.
 */
const keepModuleUrls = {
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
      const url = `const __hangarModuleUrl = new URL(${JSON.stringify(relative)}, import.meta.url).href;\n`;
      return { contents: url + code, loader: "js" };
    });
  },
};

// The builder module stays dist/loader/builder.js, one instance shared with bin/hangar.js, which starts the builder
// thread while this bundle is still being imported.
const shared = [path.join(dist, "loader", "builder.js")];
const shareModules = {
  name: "share-modules",
  setup(build) {
    build.onResolve({ filter: /^\./ }, (args) => {
      const file = path.resolve(args.resolveDir, args.path);
      if (!shared.includes(file)) return undefined;
      return { path: path.relative(outdir, file).split(path.sep).join("/"), external: true };
    });
  },
};

await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: path.join(dist, "cli", "main.js") },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external,
  plugins: [shareModules, keepModuleUrls],
  // Bundled CommonJS packages (pino, proper-lockfile, …) call require() for Node's built-in modules.
  banner: {
    js: "import { createRequire as __hangarCreateRequire } from 'node:module';\nconst require = __hangarCreateRequire(import.meta.url);",
  },
  // Less text for V8 to parse at every start (about 15% of the bundle's import CPU); names are kept (stack frames
  // and errors print them) and the linked source map leads back to dist/ (`node --enable-source-maps`).
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  sourcemap: "linked",
  sourcesContent: false,
  legalComments: "none",
  logLevel: "warning",
});
