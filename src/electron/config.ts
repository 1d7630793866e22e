// Plugin config on electron-store, under the app's per-user data folder, in the same file format as headless mode.
import path from "node:path";
import type { ConfigWarningListener } from "../context/config-backend.js";
import {
  type ConfStoreBackend,
  type ConfStoreClass,
  createConfStoreBackend,
} from "../context/config-conf.js";
import { createError } from "../errors.js";
import type { ElectronPaths } from "./electron-types.js";

/** Options of {@link electronConfig}. */
export interface ElectronConfigOptions {
  /** `import Store from "electron-store"`: the class, not an instance. */
  Store: ConfStoreClass;
  /** Electron's `app`; config lives in `<userData>/config/<pluginId>.json`. */
  app: ElectronPaths;
  /** Told when a plugin's file was corrupt and moved aside. Default: the backend's own default. */
  onWarning?: ConfigWarningListener;
}

/**
 * A ConfigBackend for `createShell({ config })` that keeps each plugin's values in
 * `<app.getPath("userData")>/config/<pluginId>.json` through electron-store. The files have the headless
 * format (`<dataDir>/config/<id>.json`), so copying the folder moves config between the two modes.
 */
export function electronConfig(options: ElectronConfigOptions): ConfStoreBackend {
  const { Store, app } = options;
  if (typeof app?.getPath !== "function") {
    throw createError("HANGAR_SHELL_OPTIONS", "electronConfigApp");
  }
  const cwd = path.join(app.getPath("userData"), "config");
  return createConfStoreBackend({
    Store,
    cwd,
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
  });
}
