// hangar/react: what a plugin's UI module uses to talk to its background module (SPEC §13). React is the only
// dependency (a peer); the transport is Electron's preload bridge or the WebSocket client, unchanged.
import {
  createContext,
  createElement,
  type ReactNode,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useSyncExternalStore,
} from "react";
import type { ConfigJson } from "../ipc/ui-protocol.js";
import { frameTask } from "./frame.js";
import { PluginStore } from "./plugin-store.js";
import { type HangarTransport, type PluginChannel, pluginChannel } from "./transport.js";

export type { HangarTransport } from "./transport.js";
export type { ConfigJson };

/** Props of {@link HangarProvider}. */
export interface HangarProviderProps {
  /** The plugin this UI belongs to: its plugin.json `id`. Hooks below see only this plugin. */
  pluginId: string;
  /** `window.hangar` (hangar/preload) in Electron, or `connectHangar({ reconnect: true })` (hangar/client) in a browser. */
  transport: HangarTransport;
  /**
   * The shell's HTTP origin, for `pluginUrl`. Default: the WebSocket connection's own host; over the preload
   * bridge `http://127.0.0.1:2066` (the shell's default port), so pass it when the shell listens elsewhere.
   */
  serverUrl?: string;
  /** Rendered instead of `children` until the plugin's config has arrived. Default: render `children` at once. */
  fallback?: ReactNode;
  children?: ReactNode;
}

/** The plugin's config as a UI sees it (SPEC §13). */
export interface PluginUIConfig {
  /**
   * Synchronous: the value of `key` in the snapshot the shell keeps in sync, or `defaultValue` when the key is
   * not set (or the snapshot has not arrived yet). A change made anywhere re-renders the component. The value
   * is shared and frozen: copy it before changing it.
   */
  get<T = ConfigJson>(key: string, defaultValue: T): T;
  get<T = ConfigJson>(key: string): T | undefined;
  /**
   * Sets `key` through the shell's store, with the same validation and durability as `ctx.config.set`: resolves
   * once the value is on disk (and in this snapshot), rejects with the store's error (a bad key or a value that
   * is not plain JSON), or when the transport cannot reach the shell.
   */
  set(key: string, value: unknown): Promise<void>;
}

/** What {@link usePluginContext} returns. */
export interface PluginUIContext {
  readonly pluginId: string;
  readonly config: PluginUIConfig;
  readonly ipc: {
    /**
     * Calls the handler the plugin registered with `ctx.ipc.handle(channel, …)` (channel without the
     * `plugin:<id>:` prefix). Rejects with `Error invoking remote method 'plugin:<id>:<channel>': <cause>`.
     */
    invoke<T = unknown>(channel: string, payload?: unknown): Promise<T>;
  };
  readonly auth: {
    /** The shell's live auth state (false until the shell has answered). Never the token. */
    isAuthenticated(): boolean;
  };
  /** The absolute URL of one of the plugin's routes: `pluginUrl("/fleet")` → `http://127.0.0.1:2066/api/<id>/fleet`. */
  pluginUrl(path?: string): string;
}

interface ProviderValue {
  pluginId: string;
  channel: PluginChannel;
  store: PluginStore;
  serverUrl: string;
}

const HangarContext = createContext<ProviderValue | null>(null);
HangarContext.displayName = "HangarContext";

/** The shell's address when the transport does not tell it: SPEC §6's default. */
const DEFAULT_SERVER_URL = "http://127.0.0.1:2066";

/**
 * Gives the components below it their plugin's IPC, config and auth. While mounted it holds one config and one
 * auth subscription on the transport; unmounting removes them (and every `usePluginIPC` below removes its own).
 */
export function HangarProvider(props: HangarProviderProps): ReactNode {
  const { pluginId, transport, serverUrl, fallback, children } = props;
  const value = useMemo<ProviderValue>(() => {
    const channel = pluginChannel(transport, pluginId);
    return {
      pluginId,
      channel,
      store: new PluginStore(channel),
      serverUrl: (serverUrl ?? channel.serverUrl ?? DEFAULT_SERVER_URL).replace(/\/+$/, ""),
    };
  }, [pluginId, transport, serverUrl]);
  useEffect(() => value.store.start(), [value]);
  const view = useSyncExternalStore(value.store.subscribe, value.store.getSnapshot, value.store.getSnapshot);
  const content = fallback !== undefined && view.config === null ? fallback : children;
  return createElement(HangarContext.Provider, { value }, content);
}

function useProvider(hook: string): ProviderValue {
  const value = useContext(HangarContext);
  if (!value) {
    throw new Error(
      `${hook} was called outside a <HangarProvider pluginId transport>: render the plugin's UI inside one (the ` +
        "shell page does so for each plugin's ui.entry).",
    );
  }
  return value;
}

/**
 * The plugin's context in a component: `{ pluginId, config: { get, set }, ipc: { invoke }, auth: { isAuthenticated },
 * pluginUrl }`. The component re-renders when the config or the auth state changes, at most once per frame.
 */
export function usePluginContext(): PluginUIContext {
  const { pluginId, channel, store, serverUrl } = useProvider("usePluginContext()");
  const view = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  return useMemo<PluginUIContext>(() => {
    const values = view.config;
    const get = (key: string, defaultValue?: unknown): unknown =>
      values !== null && Object.hasOwn(values, key) ? values[key] : defaultValue;
    return Object.freeze({
      pluginId,
      config: Object.freeze({
        get: get as PluginUIConfig["get"],
        set: (key: string, value: unknown) => store.set(key, value),
      }),
      ipc: Object.freeze({
        invoke: <T>(ipcChannel: string, payload?: unknown) =>
          channel.invoke(ipcChannel, payload) as Promise<T>,
      }),
      auth: Object.freeze({ isAuthenticated: () => view.authenticated === true }),
      pluginUrl: (path = "") =>
        `${serverUrl}/api/${pluginId}${path === "" || path.startsWith("/") ? "" : "/"}${path}`,
    });
  }, [pluginId, channel, store, serverUrl, view]);
}

/**
 * Subscribes `listener` to what the plugin pushes with `ctx.ipc.send(channel, payload)` while the component is
 * mounted; unmounting unsubscribes. Payloads are delivered in order, batched once per animation frame, so a
 * burst of pushes costs one render. The latest `listener` is called: it need not be memoised.
 */
export function usePluginIPC<T = unknown>(channel: string, listener: (payload: T) => void): void {
  const { channel: transport } = useProvider(`usePluginIPC('${channel}')`);
  const latest = useRef(listener);
  useEffect(() => {
    latest.current = listener;
  });
  useEffect(() => {
    const queue: unknown[] = [];
    const deliver = frameTask(() => {
      for (const payload of queue.splice(0)) {
        try {
          latest.current(payload as T);
        } catch (error) {
          reportError(error);
        }
      }
    });
    const off = transport.on(channel, (payload) => {
      queue.push(payload);
      deliver.request();
    });
    return () => {
      off();
      deliver.cancel();
    };
  }, [transport, channel]);
}

function reportError(error: unknown): void {
  const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
  if (typeof report === "function") report(error);
  else console.error("hangar: a usePluginIPC listener threw:", error);
}
