// Builds the example Electron shell into examples/electron-shell/dist (or --outdir): main as an ES module,
// the preload as one CommonJS file (sandboxed preloads cannot load packages), the renderer page for the browser.
// Usage: npm run build && node examples/electron-shell/build.mjs; then npx electron@45 examples/electron-shell/dist/main.js
// (or `npm run example:electron`). --outdir is for checking the build: main.js finds the plugins from dist/.
import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { outdir: { type: "string" } } });
const outdir = path.resolve(values.outdir ?? path.join(here, "dist"));

await Promise.all([
  // Packages stay external: main imports hangar, electron and electron-store from node_modules at run time.
  build({
    entryPoints: [path.join(here, "main.ts")],
    outfile: path.join(outdir, "main.js"),
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
  }),
  // Everything but electron is inlined: a sandboxed preload's require() offers electron and little else.
  build({
    entryPoints: [path.join(here, "preload.ts")],
    outfile: path.join(outdir, "preload.cjs"),
    bundle: true,
    platform: "browser",
    format: "cjs",
    external: ["electron"],
  }),
  build({
    entryPoints: [path.join(here, "renderer", "renderer.ts")],
    outfile: path.join(outdir, "renderer", "renderer.js"),
    bundle: true,
    platform: "browser",
    format: "esm",
  }),
]);
await mkdir(path.join(outdir, "renderer"), { recursive: true });
await copyFile(path.join(here, "renderer", "index.html"), path.join(outdir, "renderer", "index.html"));
console.log(
  `Built the example shell in ${outdir}; run it with: npx electron ${path.join(outdir, "main.js")}`,
);
