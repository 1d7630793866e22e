// A shell whose IPC is hangar/electron's transport on the fake Electron, and one window at app://shell whose
// preload exposed hangar/preload's bridge: what an Electron app's page sees as window.hangar.
import { electronIpc } from "../../src/electron/index.js";
import type { Shell } from "../../src/index.js";
import { exposePluginBridge, type HangarBridge } from "../../src/preload/index.js";
import { createFakeElectron, type FakeBrowserWindow, type FakeElectron } from "./fake-electron.js";
import { testShell, type Workspace } from "./plugins.js";

export interface PreloadShell {
  shell: Shell;
  electron: FakeElectron;
  window: FakeBrowserWindow;
  /** The page's window.hangar. */
  bridge: HangarBridge;
}

/** Creates (does not start) the shell over `ws`, with IPC invokes allowed from app://shell only. */
export function preloadShell(ws: Workspace): PreloadShell {
  const electron = createFakeElectron();
  const window = new electron.BrowserWindow({ url: "app://shell/index.html" });
  window.runPreload(({ contextBridge, ipcRenderer }) => exposePluginBridge({ contextBridge, ipcRenderer }));
  const bridge = window.page.hangar as HangarBridge;
  const { shell } = testShell(ws, {
    ipc: electronIpc({
      ipcMain: electron.ipcMain,
      getWebContents: () => electron.BrowserWindow.getAllWindows().map((w) => w.webContents),
      allowedOrigins: ["app://shell"],
    }),
  });
  return { shell, electron, window, bridge };
}
