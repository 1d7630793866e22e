// Preload script of the example shell: gives the page window.hangar (invoke + on, plugin channels only).
// Sandboxed preloads cannot load packages: bundle this file (docs/electron.md shows the esbuild command).
import { contextBridge, ipcRenderer } from "electron";
import { exposePluginBridge } from "hangar/preload";

exposePluginBridge({ contextBridge, ipcRenderer });
