// The types a plugin author sees: the module contract and the PluginContext services (SPEC §2–§3).
// Depends on nothing else in hangar; Express's Router type is referenced structurally.

/** JSON data that a config store accepts and returns. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Logger scoped to one plugin. Every record carries the plugin id; human output is prefixed `[plugin-id]`. */
export interface PluginLogger {
  debug(tag: string, message: string, ...data: unknown[]): void;
  info(tag: string, message: string, ...data: unknown[]): void;
  warn(tag: string, message: string, ...data: unknown[]): void;
  error(tag: string, message: string, ...data: unknown[]): void;
}

/** Persistent key-value store namespaced to one plugin. A `set` that has resolved is on disk. */
export interface PluginConfigStore {
  /** The value stored under `key`, or `defaultValue` (else `undefined`) when there is none. */
  get<T = JsonValue>(key: string, defaultValue?: T): Promise<T | undefined>;
  /** Stores a plain JSON value; rejects with a TypeError for functions, symbols, bigints, class instances, cycles. */
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  /** A copy of every key and value. */
  getAll(): Promise<Record<string, JsonValue>>;
}

/** Handles a renderer's request on a plugin channel; the resolved value is sent back to the caller. */
export type PluginIpcHandler = (payload: unknown) => unknown;

/** IPC scoped to one plugin: channel names are prefixed `plugin:{pluginId}:` transparently. */
export interface PluginIPCRegistrar {
  /** Registers the handler for a channel. A second handler for the same channel throws, as Electron does. */
  handle(channel: string, handler: PluginIpcHandler): void;
  /** Pushes a payload to every renderer. Throws at the call when the payload cannot be structured-cloned. */
  send(channel: string, payload?: unknown): void;
}

/** Read-only view of the shell's live auth state. */
export interface PluginAuthAccessor {
  isAuthenticated(): boolean;
  getToken(): string | null;
}

/** An Express router (or any Express request handler). */
export type PluginRouter = (req: never, res: never, next: (err?: unknown) => void) => unknown;

/** Mounts routers on the shell's HTTP server. */
export interface PluginServerRegistrar {
  /** `path` must be `/api/{pluginId}` or below it; anything else throws `HANGAR_ROUTE_NAMESPACE`. */
  registerRouter(path: string, router: PluginRouter): void;
}

/** What a background module receives in onStart/onResume. Disposed after onStop, or when onStart fails. */
export interface PluginContext {
  readonly pluginId: string;
  readonly logger: PluginLogger;
  readonly config: PluginConfigStore;
  readonly ipc: PluginIPCRegistrar;
  readonly auth: PluginAuthAccessor;
  readonly server: PluginServerRegistrar;
  /** Aborted when this context is disposed: stop timers and connections when it fires. */
  readonly signal: AbortSignal;
}

/** The contract a background module implements (SPEC §2). */
export interface PluginBackgroundModule {
  onStart(ctx: PluginContext): void | Promise<void>;
  onStop(): void | Promise<void>;
  /** Called after an OTA update instead of onStop + onStart, with a fresh context. */
  onResume?(ctx: PluginContext): void | Promise<void>;
}
