// hangar/electron: embed a shell in Electron's main process. Electron's objects are passed in, never imported.

export type { ConfStoreBackend, ConfStoreClass } from "../context/config-conf.js";
export type { IsolationHost } from "../isolation/isolate.js";
export type { AttachToElectronAppOptions } from "./app.js";
export { attachToElectronApp, ElectronExitCodes } from "./app.js";
export type { ElectronConfigOptions } from "./config.js";
export { electronConfig } from "./config.js";
export type {
  ElectronApp,
  ElectronInvokeEvent,
  ElectronIpcMain,
  ElectronPaths,
  ElectronQuitEvent,
  ElectronUtilityProcess,
  ElectronUtilityProcessModule,
  ElectronWebContents,
} from "./electron-types.js";
export type { ElectronIpcOptions } from "./ipc.js";
export { electronIpc } from "./ipc.js";
export { utilityProcessHost } from "./utility-process.js";
