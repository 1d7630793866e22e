// Electron main process of the example shell: hangar runs the plugins in examples/plugins, serves their routes on
// 127.0.0.1:2066, carries their IPC over ipcMain, keeps their config in electron-store, and stops them on quit.
// Build and run: see docs/electron.md ("Run the example").
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { app, BrowserWindow, dialog, ipcMain, net, protocol } from "electron";
import Store from "electron-store";
import { createShell } from "hangar";
import { attachToElectronApp, electronConfig, electronIpc } from "hangar/electron";

/** The renderer is served from this origin (a privileged custom scheme), never from file://. */
const PAGE_ORIGIN = "app://shell";
// Built layout (build.mjs): dist/main.js, dist/preload.cjs, dist/renderer/{index.html,renderer.js}.
const here = path.dirname(fileURLToPath(import.meta.url));
const rendererDir = path.join(here, "renderer");
const pluginsDir = path.resolve(here, "..", "..", "plugins");

// Must run before the app is ready: app:// pages get a real origin, fetch and a secure context.
protocol.registerSchemesAsPrivileged([
  { scheme: "app", privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

const shell = createShell({
  plugins: [pluginsDir],
  dataDir: path.join(app.getPath("userData"), "hangar"),
  // The page at app://shell calls http://127.0.0.1:2066 cross-origin: list its origin for CORS.
  server: { host: "127.0.0.1", port: 2066, allowedOrigins: [PAGE_ORIGIN] },
  ipc: electronIpc({
    ipcMain,
    getWebContents: () => BrowserWindow.getAllWindows().map((window) => window.webContents),
    allowedOrigins: [PAGE_ORIGIN],
  }),
  // <userData>/config/<plugin-id>.json, the same format as headless mode.
  config: electronConfig({ Store, app }),
});
// First quit: hold it, run every plugin's onStop, then exit. A second quit while stopping forces.
attachToElectronApp(app, shell);

/** Serves dist/renderer/ at app://shell/, refusing any path that escapes it. */
function serveRenderer(request: Request): Promise<Response> | Response {
  const url = new URL(request.url);
  const file = path.join(rendererDir, path.normalize(decodeURIComponent(url.pathname)));
  if (url.host !== "shell" || !file.startsWith(rendererDir + path.sep)) {
    return new Response("Not found", { status: 404 });
  }
  return net.fetch(pathToFileURL(file).toString());
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 960,
    height: 640,
    webPreferences: {
      preload: path.join(here, "preload.cjs"),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    },
  });
  // Keep the window on our own pages: plugins' IPC is for them only (electronIpc checks it too).
  window.webContents.on("will-navigate", (event, url) => {
    if (!url.startsWith(`${PAGE_ORIGIN}/`)) event.preventDefault();
  });
  window.webContents.setWindowOpenHandler(() => ({ action: "deny" }));
  void window.loadURL(`${PAGE_ORIGIN}/index.html`);
  return window;
}

async function main(): Promise<void> {
  await app.whenReady();
  protocol.handle("app", serveRenderer);
  createWindow();
  app.on("activate", () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
  app.on("window-all-closed", () => {
    if (process.platform !== "darwin") app.quit();
  });
  try {
    // Resolves once every plugin has settled; a plugin that fails is listed as errored, the rest run.
    await shell.start();
  } catch (error) {
    // Only a shell failure rejects, e.g. HANGAR_PORT_IN_USE when another copy already runs.
    dialog.showErrorBox("The shell could not start", error instanceof Error ? error.message : String(error));
    app.exit(1);
  }
}

void main();
