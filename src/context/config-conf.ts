// Plugin config on electron-store (or its core, conf): one conf instance per plugin, in the headless file format.
import { open } from "node:fs/promises";
import path from "node:path";
import { createError, errorMessage, type HangarError, messageOf } from "../errors.js";
import type { JsonValue, PluginConfigStore } from "../sdk/types.js";
import type { ConfigBackend, ConfigWarningListener } from "./config-backend.js";
import { configFileOf, createPendingWrites, readConfigFile } from "./config-file.js";
import {
  assertConfigKey,
  cloneJsonValue,
  configTypeError,
  copyConfigValue,
  isReservedConfigKey,
} from "./config-value.js";

/** What the backend passes to `new Store(...)` for each plugin. */
export interface ConfStoreOptions {
  /** The folder of the files; each plugin's is `<cwd>/<pluginId>.json`. */
  cwd: string;
  /** The plugin id: conf names the file after `configName`. */
  configName: string;
  /** The plugin id again: electron-store overwrites `configName` with `name` (default `"config"`). */
  name: string;
  /** Keys are literal strings, as in headless mode: `"ui.theme"` is one key, not a path. */
  accessPropertiesByDotNotation: false;
  /** A corrupt file is moved aside by hangar, never silently emptied. */
  clearInvalidConfig: false;
  watch: false;
  /** JSON.parse that also accepts a UTF-8 byte order mark, as the file backend does (files edited on Windows). */
  deserialize: (text: string) => Record<string, unknown>;
}

/** The part of a conf (or electron-store) instance the backend uses. */
export interface ConfStoreInstance {
  /** Every value, read from the file on each access (conf's behaviour). */
  readonly store: Record<string, unknown>;
  /** Writes the whole file synchronously, then returns. */
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

/** A conf-compatible class: `import Store from "electron-store"`, or `import Conf from "conf"`. */
export type ConfStoreClass = new (options: ConfStoreOptions) => ConfStoreInstance;

/** Options of {@link createConfStoreBackend}. */
export interface ConfStoreBackendOptions {
  /** The class to construct once per plugin; passed in, so headless code never imports Electron. */
  Store: ConfStoreClass;
  /** The folder of the files. `<dataDir>/config` shares them with the file backend. */
  cwd: string;
  /** Told when a store recovers from a problem (a corrupt file moved aside). Default: process.emitWarning. */
  onWarning?: ConfigWarningListener;
}

/** The conf backend, plus where it keeps a plugin's values. */
export interface ConfStoreBackend extends ConfigBackend {
  /** The file that holds `pluginId`'s values: `<cwd>/<pluginId>.json`. */
  fileOf(pluginId: string): string;
}

/** conf keeps its migration state under this key and refuses to set it. */
const confInternalKey = "__internal__";

/**
 * Creates a ConfigBackend over a conf-compatible class (electron-store extends conf). Each plugin gets
 * `new Store({ cwd, configName: id, name: id, ... })`, which reads and writes `<cwd>/<id>.json` in the
 * format of the file backend, so a user's values move between headless and Electron mode. Keys and
 * values are validated as in the file backend. Before a plugin's instance is constructed its file is
 * checked: a corrupt one is moved aside (`<id>.json.corrupt-<timestamp>`) with a warning, as conf would
 * otherwise throw. A `set`/`delete` resolves after conf's synchronous write (temp file, fsync, rename)
 * and an fsync of the folder, so it survives a crash like the file backend's; it blocks the main thread
 * for the whole write, which is what conf does.
 */
export function createConfStoreBackend(options: ConfStoreBackendOptions): ConfStoreBackend {
  const cwd = path.resolve(options.cwd);
  const stores = new Map<string, PluginConfigStore>();
  const syncFolder = coalesce(() => fsyncFolder(cwd));

  const fileOf = (pluginId: string): string => configFileOf(cwd, pluginId);

  const { track, settled } = createPendingWrites();

  const createStore = (pluginId: string): PluginConfigStore => {
    const file = fileOf(pluginId);
    let opening: Promise<ConfStoreInstance> | null = null;

    const readError = (cause: unknown): HangarError =>
      createError("HANGAR_CONFIG_READ", { pluginId, file, reason: messageOf(cause) }, { cause });
    const writeError = (cause: unknown): HangarError =>
      createError(
        "HANGAR_CONFIG_WRITE",
        { pluginId, file, reason: messageOf(cause), folder: cwd },
        { cause },
      );

    // conf throws on a corrupt file; check (and move it aside) first, without blocking the event loop.
    const instance = (): Promise<ConfStoreInstance> => {
      opening ??= (async () => {
        await readConfigFile(file, pluginId, options.onWarning);
        try {
          return new options.Store({
            cwd,
            configName: pluginId,
            name: pluginId,
            accessPropertiesByDotNotation: false,
            clearInvalidConfig: false,
            watch: false,
            deserialize: parseWithoutBom,
          });
        } catch (cause) {
          throw readError(cause);
        }
      })().catch((error: unknown) => {
        opening = null; // retried on the next call
        throw error;
      });
      return opening;
    };

    // conf reads the file on every call: a file that went bad since (edited by hand) is recovered the same way.
    const use = async <T>(
      operation: (conf: ConfStoreInstance) => T,
      wrap: (cause: unknown) => HangarError,
    ) => {
      const conf = await instance();
      try {
        return operation(conf);
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw wrap(error);
      }
      await readConfigFile(file, pluginId, options.onWarning);
      try {
        return operation(conf);
      } catch (error) {
        throw wrap(error);
      }
    };

    const checkKey = (method: string, key: string): void => {
      assertConfigKey(pluginId, method, key);
      if (key === confInternalKey || key.startsWith(`${confInternalKey}.`)) {
        throw configTypeError(
          "HANGAR_CONFIG_KEY",
          pluginId,
          errorMessage("HANGAR_CONFIG_KEY", "electronStore", { pluginId, method, key }),
        );
      }
    };

    const write = (change: (conf: ConfStoreInstance) => boolean): Promise<void> =>
      track(
        (async () => {
          const wrote = await use(change, writeError);
          if (!wrote) return;
          try {
            await syncFolder();
          } catch (cause) {
            throw writeError(cause);
          }
        })(),
      );

    return Object.freeze({
      async get<T = JsonValue>(key: string, defaultValue?: T): Promise<T | undefined> {
        checkKey("get", key);
        const all = await use((conf) => conf.store, readError);
        return Object.hasOwn(all, key) ? (cloneJsonValue(all[key] as JsonValue) as T) : defaultValue;
      },
      set(key: string, value: unknown): Promise<void> {
        try {
          checkKey("set", key);
          const copy = copyConfigValue(pluginId, key, value);
          return write((conf) => {
            conf.set(key, copy);
            return true;
          });
        } catch (error) {
          return Promise.reject(error);
        }
      },
      delete(key: string): Promise<void> {
        try {
          checkKey("delete", key);
        } catch (error) {
          return Promise.reject(error);
        }
        return write((conf) => {
          // conf rewrites the file even for a missing key; the disk already agrees.
          if (!Object.hasOwn(conf.store, key)) return false;
          conf.delete(key);
          return true;
        });
      },
      async getAll(): Promise<Record<string, JsonValue>> {
        const stored = await use((conf) => conf.store, readError);
        const all: Record<string, JsonValue> = {};
        for (const [key, value] of Object.entries(stored)) {
          if (isReservedConfigKey(key) || key === confInternalKey) continue;
          all[key] = cloneJsonValue(value as JsonValue);
        }
        return all;
      },
    });
  };

  return Object.freeze({
    store(pluginId: string): PluginConfigStore {
      let store = stores.get(pluginId);
      if (!store) {
        store = createStore(pluginId);
        stores.set(pluginId, store);
      }
      return store;
    },
    async flush(): Promise<void> {
      await settled();
    },
    fileOf,
  });
}

function parseWithoutBom(text: string): Record<string, unknown> {
  return JSON.parse(text.replace(/^\uFEFF/, "")) as Record<string, unknown>;
}

/** Runs `task` for every caller, sharing one run among the callers that arrived while the previous run was going. */
function coalesce(task: () => Promise<void>): () => Promise<void> {
  let running = false;
  let waiting: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  const run = async (): Promise<void> => {
    running = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      try {
        await task();
        for (const waiter of batch) waiter.resolve();
      } catch (error) {
        for (const waiter of batch) waiter.reject(error);
      }
    }
    running = false;
  };
  return () =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ resolve, reject });
      if (!running) void run();
    });
}

/** Makes conf's rename durable: conf fsyncs the file it writes but not the folder entry that names it. */
async function fsyncFolder(folder: string): Promise<void> {
  if (process.platform === "win32") return; // NTFS needs no folder fsync, and cannot open one
  const handle = await open(folder, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
