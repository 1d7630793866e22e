// Serves the shell page (SPEC §13): the HTML at `/`, its prebuilt modules under /_hangar/shell/ (React included,
// built by scripts/build-ui.mjs into dist/shell-page/), and each plugin's `ui.entry` folder under /_hangar/ui/<id>/.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import express, { type RequestHandler } from "express";
import { checkUiEntry, uiEntryFileProblem, uiEntryMessage } from "../manifest/ui-entry.js";

/** Where the page and its files live on the shell's server. */
export const SHELL_PAGE_ASSETS = "/_hangar/shell";
export const PLUGIN_UI_PATH = "/_hangar/ui";

/** Bare imports a plugin's UI bundle leaves to the page; scripts/build-ui.mjs builds one vendor file for each. */
export const SHARED_UI_MODULES: Readonly<Record<string, string>> = {
  react: "react.js",
  "react/jsx-runtime": "react-jsx-runtime.js",
  "react-dom": "react-dom.js",
  "react-dom/client": "react-dom-client.js",
  "hangar/react": "hangar-react.js",
  "hangar/client": "hangar-client.js",
};

/** One plugin's UI as the page learns it from `/_hangar/shell/uis`. */
export interface PluginUiInfo {
  id: string;
  /** plugin.json's `ui.entry`, as written. */
  entry: string;
  /**
   * Where the page imports it from, with `?v=<version>` (the entry file's mtime and size) so that a rebuilt UI
   * gets a new URL, which the browser's module map has not cached; null when `error` says why it cannot.
   */
  url: string | null;
  error?: string;
}

/** A plugin as the page routes need it. */
export interface ShellPagePlugin {
  id: string;
  folder: string;
  /** plugin.json's `ui` section, unchecked (plugin.json keeps unknown keys). */
  ui: unknown;
}

export interface ShellPageOptions {
  /** The plugins the shell lists now. */
  plugins(): ShellPagePlugin[];
}

const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".txt": "text/plain; charset=utf-8",
};

/** dist/shell-page, found from src/ (tests, tsx) and from dist/ alike: both sit two levels below the package. */
function builtPageDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "shell-page");
}

function importMap(): string {
  const imports = Object.fromEntries(
    Object.entries(SHARED_UI_MODULES).map(([specifier, file]) => [
      specifier,
      `${SHELL_PAGE_ASSETS}/vendor/${file}`,
    ]),
  );
  return JSON.stringify({ imports });
}

/** The page. Its one inline script, the import map, is allowed by its hash; nothing else inline runs. */
function pageHtml(): { html: string; csp: string } {
  const map = importMap();
  const hash = createHash("sha256").update(map).digest("base64");
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hangar</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${SHELL_PAGE_ASSETS}/shell.css">
<script type="importmap">${map}</script>
<script type="module" src="${SHELL_PAGE_ASSETS}/shell.js"></script>
</head>
<body><div id="root"></div></body>
</html>
`;
  const csp =
    `default-src 'self'; script-src 'self' 'sha256-${hash}'; style-src 'self' 'unsafe-inline'; ` +
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
  return { html, csp };
}

/** A plugin's `ui.entry`, checked: a relative .js/.mjs path that stays inside the plugin folder. */
export function uiEntryOf(plugin: ShellPagePlugin): PluginUiInfo | null {
  const checked = checkUiEntry(plugin.folder, plugin.ui);
  if (checked === null) return null;
  if ("problem" in checked) {
    return {
      id: plugin.id,
      entry: checked.entry,
      url: null,
      error: uiEntryMessage(plugin.id, checked.problem),
    };
  }
  return { id: plugin.id, entry: checked.entry, url: `${PLUGIN_UI_PATH}/${plugin.id}/${checked.relative}` };
}

/**
 * `info` as the page gets it: a usable entry's URL carries the file's version (mtime and size), so the page
 * imports a rebuilt UI afresh; an entry whose file is missing gets `hangar validate`'s message instead of a URL
 * (the page would otherwise show only the browser's "Failed to fetch dynamically imported module").
 */
async function versioned(plugin: ShellPagePlugin, info: PluginUiInfo): Promise<PluginUiInfo> {
  if (info.url === null) return info;
  const file = await stat(path.resolve(plugin.folder, info.entry)).catch(() => null);
  if (file?.isFile()) {
    return {
      ...info,
      url: `${info.url}?v=${Math.trunc(file.mtimeMs).toString(36)}-${file.size.toString(36)}`,
    };
  }
  const problem = (await uiEntryFileProblem(plugin.folder, info.entry)) ?? `"${info.entry}" is not a file`;
  return { ...info, url: null, error: uiEntryMessage(plugin.id, problem) };
}

/** The routes. They sit behind the server's Host and CORS checks, outside `/api/` (so outside `server.token`). */
export function createShellPageRouter(options: ShellPageOptions): express.Router {
  const router = express.Router({ caseSensitive: true });
  const assets = builtPageDir();
  const page = pageHtml();

  const sendFile = async (file: string, res: express.Response): Promise<boolean> => {
    const type = CONTENT_TYPES[path.extname(file)];
    if (!type) return false;
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return false;
    }
    res.setHeader("Content-Type", type);
    res.setHeader("Cache-Control", "no-cache");
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.send(body);
    return true;
  };

  router.get("/", (_req, res) => {
    if (!existsSync(path.join(assets, "shell.js"))) {
      res
        .status(500)
        .type("text/plain")
        .send(
          `The shell page is not built: ${assets} is missing. Run \`npm run build\` in the hangar package ` +
            "(it bundles the page and React with esbuild).\n",
        );
      return;
    }
    res.setHeader("Content-Security-Policy", page.csp);
    res.setHeader("X-Frame-Options", "DENY");
    res.setHeader("Referrer-Policy", "no-referrer");
    res.setHeader("Cache-Control", "no-store");
    res.type("html").send(page.html);
  });

  router.get(`${SHELL_PAGE_ASSETS}/uis`, async (_req, res, next) => {
    try {
      const uis = await Promise.all(
        options.plugins().flatMap((plugin) => {
          const info = uiEntryOf(plugin);
          return info === null ? [] : [versioned(plugin, info)];
        }),
      );
      res.setHeader("Cache-Control", "no-store");
      res.json(uis);
    } catch (error) {
      next(error);
    }
  });

  const notFound = (res: express.Response, what: string): void => {
    res.status(404).json({ success: false, error: `No ${what}.` });
  };

  const asset: RequestHandler = async (req, res, next) => {
    try {
      const parts = (req.params as { file?: string[] }).file ?? [];
      const name = parts.join("/");
      if (!/^(?:vendor\/)?[a-z0-9-]+\.(?:js|css|txt)$/.test(name))
        return notFound(res, `shell page file '${name}'`);
      if (!(await sendFile(path.join(assets, name), res))) notFound(res, `shell page file '${name}'`);
    } catch (error) {
      next(error);
    }
  };
  router.get(`${SHELL_PAGE_ASSETS}/*file`, asset);

  // Files next to a plugin's ui.entry (its chunks, styles, images): only inside the entry's folder.
  router.get(`${PLUGIN_UI_PATH}/:id/*file`, async (req, res, next) => {
    try {
      const id = String(req.params.id);
      const plugin = options.plugins().find((candidate) => candidate.id === id);
      const info = plugin ? uiEntryOf(plugin) : null;
      if (!plugin || !info?.url)
        return notFound(res, `UI for plugin '${id}' (plugin.json declares no usable ui.entry)`);
      const base = path.dirname(path.resolve(plugin.folder, info.entry));
      const parts = (req.params as { file?: string[] }).file ?? [];
      const file = path.resolve(plugin.folder, parts.join("/"));
      if (!file.startsWith(base + path.sep))
        return notFound(res, `UI file '${parts.join("/")}' of plugin '${id}'`);
      // A symlink inside the folder must not lead out of it either.
      const real = await realpath(file).catch(() => null);
      const realBase = await realpath(base).catch(() => base);
      if (real === null || !real.startsWith(realBase + path.sep)) {
        return notFound(res, `UI file '${parts.join("/")}' of plugin '${id}'`);
      }
      if (!(await sendFile(real, res))) notFound(res, `UI file '${parts.join("/")}' of plugin '${id}'`);
    } catch (error) {
      next(error);
    }
  });

  return router;
}
