// Builds the shell page (dist/shell-page/) and the example plugins' UI modules with esbuild, at build time:
// `hangar run` then serves plain files, React included, with no bundler and no network at run time.
// Usage: node scripts/build-ui.mjs (npm run build runs it after tsc).
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outdir = path.join(root, "dist", "shell-page");
const vendor = path.join(outdir, "vendor");
const require = createRequire(import.meta.url);

// The modules a page and every plugin UI share, one copy each (React's hooks need a single React): a plugin's UI
// bundle leaves these imports as they are; the shell page's import map points them at dist/shell-page/vendor/.
// One list, read from the server side that serves them (tsc has built it by the time this script runs).
const { SHARED_UI_MODULES: SHARED } = await import(
  pathToFileURL(path.join(root, "dist", "shell-page", "routes.js")).href
);
const external = Object.keys(SHARED);
const production = { "process.env.NODE_ENV": '"production"' };

/** React's packages are CommonJS: one bundle holds them all, and a small ES module per specifier re-exports it. */
const cjs = {
  react: "React",
  "react/jsx-runtime": "JsxRuntime",
  "react-dom": "ReactDom",
  "react-dom/client": "ReactDomClient",
};

async function buildVendor() {
  await mkdir(vendor, { recursive: true });
  const entry = Object.entries(cjs)
    .map(([specifier, name]) => `import * as ${name} from ${JSON.stringify(specifier)};`)
    .concat(`export { ${Object.values(cjs).join(", ")} };`)
    .join("\n");
  await build({
    stdin: { contents: entry, resolveDir: root, loader: "js" },
    outfile: path.join(vendor, "react-shared.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    minify: true,
    define: production,
    legalComments: "linked",
  });
  for (const [specifier, name] of Object.entries(cjs)) {
    const names = Object.keys(require(specifier)).filter(
      (key) => key !== "default" && /^[A-Za-z_$][\w$]*$/.test(key),
    );
    const facade =
      `import { ${name} } from "./react-shared.js";\n` +
      `export default ${name}.default;\n` +
      `export const { ${names.join(", ")} } = ${name};\n`;
    await writeFile(path.join(vendor, SHARED[specifier]), facade);
  }
  // hangar's own browser modules are ES modules: bundled alone, with React left to the import map.
  await build({
    entryPoints: {
      "hangar-react": path.join(root, "src/react/index.ts"),
      "hangar-client": path.join(root, "src/client/index.ts"),
    },
    outdir: vendor,
    bundle: true,
    format: "esm",
    platform: "browser",
    external,
  });
}

async function buildPage() {
  await build({
    entryPoints: [path.join(root, "src/shell-page/client/main.tsx")],
    outfile: path.join(outdir, "shell.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    jsx: "automatic",
    external,
    define: production,
  });
  await copyFile(path.join(root, "src/shell-page/client/shell.css"), path.join(outdir, "shell.css"));
}

/**
 * Builds one plugin's UI module the way plugin authors should: an ES module whose default export is the
 * component, with the shared modules left as imports (the page supplies them). Everything else is bundled.
 */
export async function buildPluginUi(entry, outfile) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: "esm",
    platform: "browser",
    jsx: "automatic",
    external,
    define: production,
    minify: true,
    legalComments: "linked",
  });
}

/** Every example plugin whose ui/ folder has an index.tsx gets ui/dist/index.js. */
async function buildExamples() {
  const plugins = path.join(root, "examples", "plugins");
  for (const name of await readdir(plugins)) {
    const entry = path.join(plugins, name, "ui", "index.tsx");
    const exists = await readFile(entry).then(
      () => true,
      () => false,
    );
    if (exists) await buildPluginUi(entry, path.join(plugins, name, "ui", "dist", "index.js"));
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await Promise.all([buildVendor(), buildPage(), buildExamples()]);
}
