// The IPC transports the e2e suites run through, each with a renderer's side to call plugins from:
// in-memory, and Electron (hangar/electron's transport on the fake Electron, called through hangar/preload).
import { electronIpc } from "../../src/electron/index.js";
import { createMemoryIpc, type IpcTransport } from "../../src/index.js";
import { exposePluginBridge, type HangarBridge } from "../../src/preload/index.js";
import { createFakeElectron } from "./fake-electron.js";

/** A transport for `createShell({ ipc })`, and what a renderer does with it. */
export interface IpcHarness {
  transport: IpcTransport;
  /** Invokes a fully prefixed channel (`plugin:{id}:{channel}`) as a renderer would. */
  invoke(channel: string, payload?: unknown): Promise<unknown>;
  /** Listens on a fully prefixed channel; returns the unsubscribe function. */
  on(channel: string, listener: (payload: unknown) => void): () => void;
}

/** Splits `plugin:{id}:{channel}` for the preload bridge, which takes the two parts. */
function splitChannel(full: string): [string, string] {
  const match = /^plugin:([^:]+):(.+)$/s.exec(full);
  if (!match) throw new Error(`test harness: '${full}' is not a plugin channel`);
  return [match[1]!, match[2]!];
}

export const ipcHarnesses: ReadonlyArray<{ name: string; create(): IpcHarness }> = [
  {
    name: "memory IPC",
    create() {
      const ipc = createMemoryIpc();
      return { transport: ipc, invoke: ipc.invoke, on: ipc.on };
    },
  },
  {
    name: "Electron IPC",
    create() {
      const electron = createFakeElectron();
      const window = new electron.BrowserWindow({ url: "app://shell/index.html" });
      window.runPreload(exposePluginBridge);
      const page = window.page.hangar as HangarBridge;
      const transport = electronIpc({
        ipcMain: electron.ipcMain,
        getWebContents: () => electron.BrowserWindow.getAllWindows().map((w) => w.webContents),
        allowedOrigins: ["app://shell"],
      });
      return {
        transport,
        invoke: (channel, payload) => page.invoke(...splitChannel(channel), payload),
        on: (channel, listener) => page.on(...splitChannel(channel), listener),
      };
    },
  },
];
