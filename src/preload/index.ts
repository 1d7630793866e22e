// hangar/preload: the renderer's narrow, checked way to plugin IPC, exposed from an Electron preload script.
// It runs in the preload's isolated world, so it imports nothing Node-only (only errors.ts, which is pure):
// bundle it into your preload and it runs in a sandboxed renderer.
import { createError } from "../errors.js";
import { assertUiConfigValue } from "../ipc/config-value-check.js";
import {
  AUTH_CHANNEL,
  type AuthState,
  CONFIG_CHANNEL,
  type ConfigChange,
  type ConfigSnapshot,
  configEventChannel,
} from "../ipc/ui-protocol.js";

/** The part of Electron's `ipcRenderer` the bridge uses. */
export interface PreloadIpcRenderer {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

/** The part of Electron's `contextBridge` the bridge uses. */
export interface PreloadContextBridge {
  exposeInMainWorld(apiKey: string, api: Record<string, unknown>): void;
}

/** What page code sees as `window.hangar` (type it in the page with `import type { HangarBridge } from "hangar/preload"`). */
export interface HangarBridge {
  /**
   * Calls the handler a plugin registered with `ctx.ipc.handle(channel, ...)`. Rejects when the ids are
   * malformed, when no plugin handles the channel, or with the handler's error text.
   */
  invoke(pluginId: string, channel: string, payload?: unknown): Promise<unknown>;
  /**
   * Receives what a plugin pushes with `ctx.ipc.send(channel, payload)`: the listener gets the payload only.
   * Returns the function that unsubscribes (calling it twice is harmless).
   */
  on(pluginId: string, channel: string, listener: (payload: unknown) => void): () => void;
  /** The plugin's config at its current revision (what `hangar/react` keeps `config.get` over). */
  getConfig(pluginId: string): Promise<ConfigSnapshot>;
  /**
   * Sets one config key of the plugin through the shell's store (same validation and durability as
   * `ctx.config.set`); resolves with the published change once it is on disk.
   */
  setConfig(pluginId: string, key: string, value: unknown): Promise<ConfigChange>;
  /** Receives each change of the plugin's config, numbered by revision. Returns the unsubscribe function. */
  onConfig(pluginId: string, listener: (change: ConfigChange) => void): () => void;
  /** Whether the shell is authenticated (never the token). */
  getAuth(): Promise<AuthState>;
  /** Receives `{ authenticated }` whenever it flips. Returns the unsubscribe function. */
  onAuth(listener: (state: AuthState) => void): () => void;
}

/** Options of {@link exposePluginBridge}. */
export interface ExposePluginBridgeOptions {
  /** Electron's `contextBridge`. */
  contextBridge: PreloadContextBridge;
  /** Electron's `ipcRenderer`. */
  ipcRenderer: PreloadIpcRenderer;
  /** The global the page sees. Default `"hangar"` (`window.hangar`). */
  key?: string;
}

/** Same rule as plugin.json's `id` (SPEC §1). */
const pluginIdPattern = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** Same limit as `ctx.ipc` on the main side. */
const maxChannelLength = 200;

/**
 * Exposes `window.hangar` ({@link HangarBridge}) to the page through `contextBridge`. Only channels of
 * the form `plugin:<id>:<channel>` with a valid plugin id and channel name can be reached, and
 * listeners are wrapped so Electron's IPC `event` (which holds `ipcRenderer` itself) never reaches page
 * code, as Electron's security checklist asks. Call it once from your preload script.
 */
export function exposePluginBridge(options: ExposePluginBridgeOptions): void {
  const { contextBridge, ipcRenderer, key = "hangar" } = options;
  if (typeof contextBridge?.exposeInMainWorld !== "function") {
    throw new TypeError("exposePluginBridge(): contextBridge must be Electron's contextBridge.");
  }
  contextBridge.exposeInMainWorld(key, { ...createPluginBridge(ipcRenderer) });
}

/**
 * The bridge itself, without exposing it. For a preload that builds its own `window` API around it;
 * `exposePluginBridge` is what most apps want.
 */
export function createPluginBridge(ipcRenderer: PreloadIpcRenderer): HangarBridge {
  if (
    typeof ipcRenderer?.invoke !== "function" ||
    typeof ipcRenderer.on !== "function" ||
    typeof ipcRenderer.removeListener !== "function"
  ) {
    throw new TypeError("createPluginBridge(): ipcRenderer must be Electron's ipcRenderer.");
  }
  return Object.freeze({
    invoke(pluginId: string, channel: string, payload?: unknown): Promise<unknown> {
      let full: string;
      try {
        full = pluginChannel("invoke", pluginId, channel);
      } catch (error) {
        return Promise.reject(error);
      }
      // Exactly one argument crosses: the page cannot smuggle extra ones to the handler.
      return ipcRenderer.invoke(full, payload);
    },

    on(pluginId: string, channel: string, listener: (payload: unknown) => void): () => void {
      return listen(
        `hangar.on('${pluginId}', '${channel}', listener)`,
        pluginChannel("on", pluginId, channel),
        listener,
      );
    },

    getConfig(pluginId: string): Promise<ConfigSnapshot> {
      try {
        checkPluginId("getConfig", pluginId);
      } catch (error) {
        return Promise.reject(error);
      }
      return ipcRenderer.invoke(CONFIG_CHANNEL, { op: "snapshot", pluginId }) as Promise<ConfigSnapshot>;
    },

    setConfig(pluginId: string, key: string, value: unknown): Promise<ConfigChange> {
      try {
        checkPluginId("setConfig", pluginId);
        // Before Electron's structured clone turns a Map into {} (the shell checks again).
        assertUiConfigValue(pluginId, key, value);
      } catch (error) {
        return Promise.reject(error);
      }
      return ipcRenderer.invoke(CONFIG_CHANNEL, { op: "set", pluginId, key, value }) as Promise<ConfigChange>;
    },

    onConfig(pluginId: string, listener: (change: ConfigChange) => void): () => void {
      checkPluginId("onConfig", pluginId);
      return listen(`hangar.onConfig('${pluginId}', listener)`, configEventChannel(pluginId), listener);
    },

    getAuth(): Promise<AuthState> {
      return ipcRenderer.invoke(AUTH_CHANNEL) as Promise<AuthState>;
    },

    onAuth(listener: (state: AuthState) => void): () => void {
      return listen("hangar.onAuth(listener)", AUTH_CHANNEL, listener);
    },
  });

  /** Subscribes `listener` to `channel` with the event stripped off; the returned function unsubscribes once. */
  function listen<T>(call: string, channel: string, listener: (payload: T) => void): () => void {
    if (typeof listener !== "function") {
      throw new TypeError(`${call}: listener is a ${typeof listener}; pass a function (payload) => {}.`);
    }
    const wrapped = (_event: unknown, payload?: unknown): void => listener(payload as T);
    ipcRenderer.on(channel, wrapped);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      ipcRenderer.removeListener(channel, wrapped);
    };
  }
}

/** A HANGAR_IPC_CHANNEL error unless `pluginId` is a plugin.json id. */
function checkPluginId(method: string, pluginId: unknown): void {
  if (typeof pluginId !== "string" || !pluginIdPattern.test(pluginId)) {
    throw createError("HANGAR_IPC_CHANNEL", "pagePluginId", { call: `hangar.${method}(${show(pluginId)})` });
  }
}

/** `plugin:<id>:<channel>`, or a HANGAR_IPC_CHANNEL error that says what is wrong with the page's call. */
function pluginChannel(method: "invoke" | "on", pluginId: unknown, channel: unknown): string {
  const call = `hangar.${method}(${show(pluginId)}, ${show(channel)})`;
  const fail = (problem: string): never => {
    throw createError("HANGAR_IPC_CHANNEL", "page", { call, problem });
  };
  if (typeof pluginId !== "string" || !pluginIdPattern.test(pluginId)) {
    throw createError("HANGAR_IPC_CHANNEL", "pagePluginId", { call });
  }
  if (typeof channel !== "string" || channel.length === 0) {
    return fail("pass the channel name the plugin handles, e.g. 'get-fleet'.");
  }
  if (channel.length > maxChannelLength) {
    return fail(`the channel name has ${channel.length} characters; the limit is ${maxChannelLength}.`);
  }
  if (/\s/.test(channel)) return fail("the channel name contains whitespace.");
  if (channel.startsWith("plugin:")) {
    return fail("pass the channel without the 'plugin:<id>:' prefix; hangar adds it.");
  }
  return `plugin:${pluginId}:${channel}`;
}

function show(value: unknown): string {
  if (typeof value === "string") return `'${value.length > 80 ? `${value.slice(0, 77)}...` : value}'`;
  return value === null ? "null" : typeof value;
}
