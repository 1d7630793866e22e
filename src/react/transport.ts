// One shape for the two transports a plugin UI can be given: Electron's preload bridge (window.hangar) and the
// WebSocket client (hangar/client). Only types are imported from them: hangar/react loads neither.
import type { HangarConnection } from "../client/index.js";
import { assertUiConfigValue } from "../ipc/config-value-check.js";
import {
  AUTH_CHANNEL,
  type AuthState,
  CONFIG_CHANNEL,
  type ConfigChange,
  type ConfigSnapshot,
  configEventChannel,
} from "../ipc/ui-protocol.js";
import type { HangarBridge } from "../preload/index.js";

/** What `<HangarProvider transport>` accepts: `window.hangar` from hangar/preload, or `connectHangar()`. */
export type HangarTransport = HangarBridge | HangarConnection;

/** One plugin's view of a transport. Every `on…` returns the function that unsubscribes. */
export interface PluginChannel {
  readonly kind: "preload" | "websocket";
  invoke(channel: string, payload?: unknown): Promise<unknown>;
  on(channel: string, listener: (payload: unknown) => void): () => void;
  getConfig(): Promise<ConfigSnapshot>;
  setConfig(key: string, value: unknown): Promise<ConfigChange>;
  onConfig(listener: (change: ConfigChange) => void): () => void;
  getAuth(): Promise<AuthState>;
  onAuth(listener: (state: AuthState) => void): () => void;
  /** Told when a broken link is back (events may have been missed). The preload bridge never breaks. */
  onReconnect(listener: () => void): () => void;
  /** `http://127.0.0.1:<port>` of the shell, when the transport knows it. */
  readonly serverUrl: string | null;
}

function isConnection(transport: HangarTransport): transport is HangarConnection {
  return (
    typeof (transport as HangarConnection).onStateChange === "function" &&
    typeof (transport as HangarConnection).close === "function"
  );
}

function isBridge(transport: HangarTransport): transport is HangarBridge {
  return (
    typeof (transport as HangarBridge).getConfig === "function" &&
    typeof (transport as HangarBridge).onConfig === "function"
  );
}

/** The transport seen by one plugin; throws a TypeError that says what to pass when it is neither kind. */
export function pluginChannel(transport: HangarTransport, pluginId: string): PluginChannel {
  if (transport && isConnection(transport)) return overConnection(transport, pluginId);
  if (transport && isBridge(transport)) return overBridge(transport, pluginId);
  throw new TypeError(
    `<HangarProvider pluginId="${pluginId}" transport>: transport must be window.hangar (exposed by hangar/preload's ` +
      "exposePluginBridge, of this hangar version) or a connection from hangar/client's connectHangar().",
  );
}

function overConnection(connection: HangarConnection, pluginId: string): PluginChannel {
  const prefix = `plugin:${pluginId}:`;
  return {
    kind: "websocket",
    invoke: (channel, payload) => connection.invoke(prefix + plainChannel(channel), payload),
    on: (channel, listener) => connection.on(prefix + plainChannel(channel), listener),
    getConfig: () =>
      connection.invoke(CONFIG_CHANNEL, { op: "snapshot", pluginId }) as Promise<ConfigSnapshot>,
    // Refused here, before JSON.stringify would turn NaN into null, a Date into a string or drop a function.
    setConfig: (key, value) =>
      checkedValue(pluginId, key, value) ??
      (connection.invoke(CONFIG_CHANNEL, { op: "set", pluginId, key, value }) as Promise<ConfigChange>),
    onConfig: (listener) =>
      connection.on(configEventChannel(pluginId), (payload) => listener(payload as ConfigChange)),
    getAuth: () => connection.invoke(AUTH_CHANNEL) as Promise<AuthState>,
    onAuth: (listener) => connection.on(AUTH_CHANNEL, (payload) => listener(payload as AuthState)),
    onReconnect(listener) {
      let wasOpen = connection.state === "open";
      return connection.onStateChange((state) => {
        if (state !== "open") return;
        if (wasOpen) listener();
        wasOpen = true;
      });
    },
    serverUrl: httpOrigin(connection.url),
  };
}

function overBridge(bridge: HangarBridge, pluginId: string): PluginChannel {
  return {
    kind: "preload",
    // The bridge checks and prefixes the channel itself.
    invoke: (channel, payload) => bridge.invoke(pluginId, channel, payload),
    on: (channel, listener) => bridge.on(pluginId, channel, listener),
    getConfig: () => bridge.getConfig(pluginId),
    // Refused here too: Electron's structured clone would turn a Map into {}.
    setConfig: (key, value) => checkedValue(pluginId, key, value) ?? bridge.setConfig(pluginId, key, value),
    onConfig: (listener) => bridge.onConfig(pluginId, listener),
    getAuth: () => bridge.getAuth(),
    onAuth: (listener) => bridge.onAuth(listener),
    onReconnect: () => () => {},
    serverUrl: null,
  };
}

/**
 * The rejection ctx.config.set would give for a value that is not plain JSON data (same rule, same words), or
 * undefined when the value may be sent. The shell checks again on its side.
 */
function checkedValue(pluginId: string, key: string, value: unknown): Promise<never> | undefined {
  try {
    assertUiConfigValue(pluginId, key, value);
    return undefined;
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Plugin channels are given without `plugin:<id>:`, as in `ctx.ipc` (hangar adds it). */
function plainChannel(channel: string): string {
  if (typeof channel !== "string" || channel.length === 0 || channel.startsWith("plugin:")) {
    throw new TypeError(
      `IPC channel ${JSON.stringify(channel)}: pass the channel name the plugin uses with ctx.ipc, e.g. ` +
        "'status-update', without the 'plugin:<id>:' prefix; hangar adds it.",
    );
  }
  return channel;
}

/** `ws://127.0.0.1:2066/_hangar/ipc` → `http://127.0.0.1:2066`. */
function httpOrigin(url: string): string | null {
  try {
    const parsed = new URL(url);
    parsed.protocol = parsed.protocol === "wss:" ? "https:" : "http:";
    return parsed.origin;
  } catch {
    return null;
  }
}
