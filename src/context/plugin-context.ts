// Builds the PluginContext a plugin receives, and owns everything registered through it until it is disposed.
import { DisposableStore, toDisposable } from "../base/disposable.js";
import type { PluginFlow } from "../containment/attribution.js";
import { createError, type HangarError, messageOf } from "../errors.js";
import type { IpcHandler, IpcTransport } from "../ipc/transport.js";
import type {
  JsonValue,
  PluginAuthAccessor,
  PluginConfigStore,
  PluginContext,
  PluginIPCRegistrar,
  PluginIpcHandler,
  PluginLogger,
  PluginRouter,
  PluginServerRegistrar,
} from "../sdk/types.js";
import type { RouteRegistry } from "../server/route-registry.js";

/** What the shell hands over to build one plugin's context. */
export interface PluginContextDeps {
  pluginId: string;
  logger: PluginLogger;
  config: PluginConfigStore;
  /** The shared transport; the context prefixes channels with `plugin:{pluginId}:`. */
  ipc: IpcTransport;
  auth: PluginAuthAccessor;
  routes: RouteRegistry;
  /**
   * Told when releasing a registration, or a listener on `ctx.signal`, throws during dispose.
   * Default: the plugin's own logger, tag `hangar`.
   */
  onDisposeError?: (error: unknown) => void;
  /**
   * Runs plugin code (an IPC handler, a listener on `ctx.signal`) as this context's code, with the flow an
   * escaped error should fail (the IPC invoke). Default: runs `fn` as it is.
   */
  enter?: <T>(flow: PluginFlow | null, fn: () => T) => T;
  /**
   * Told about a call on the disposed context (`call` is e.g. `ipc.send('tick')`); answers whether the call
   * throws `error` (HANGAR_CONTEXT_DISPOSED) or is ignored. Default: it throws.
   */
  onLateCall?: (call: string, error: HangarError) => "throw" | "ignore";
}

/** The shell's grip on a context: the context itself, and the one call that ends it. */
export interface PluginContextHandle {
  readonly context: PluginContext;
  /**
   * Removes every route and IPC handler registered through the context, then aborts `context.signal`.
   * Afterwards registrations and config writes throw `HANGAR_CONTEXT_DISPOSED`. Calling it twice is harmless.
   */
  dispose(): void;
  readonly disposed: boolean;
}

const maxChannelLength = 200;

/** Creates a plugin's context. The context and every service on it are frozen. */
export function createPluginContext(deps: PluginContextDeps): PluginContextHandle {
  const { pluginId } = deps;
  const prefix = `plugin:${pluginId}:`;
  const onDisposeError =
    deps.onDisposeError ??
    ((error: unknown) =>
      deps.logger.error(
        "hangar",
        "Releasing something this plugin registered failed while its context closed",
        error,
      ));
  const registrations = new DisposableStore(onDisposeError);
  const controller = new AbortController();
  guardAbortListeners(controller.signal, onDisposeError, (fn) => (deps.enter ? deps.enter(null, fn) : fn()));
  let disposed = false;

  const disposedError = (call: string): HangarError =>
    createError("HANGAR_CONTEXT_DISPOSED", { pluginId, call });
  /** True while the context is live; on a disposed one, throws or (as onLateCall decides) returns false. */
  const assertLive = (call: string): boolean => {
    if (!disposed) return true;
    const error = disposedError(call);
    if ((deps.onLateCall?.(call, error) ?? "throw") === "throw") throw error;
    return false;
  };
  const enter = deps.enter ?? (<T>(_flow: PluginFlow | null, fn: () => T): T => fn());

  const checkChannel = (method: string, channel: unknown): string => {
    const fail = (problem: string): never => {
      throw createError("HANGAR_IPC_CHANNEL", "plugin", { pluginId, method, problem });
    };
    if (typeof channel !== "string") {
      return fail(
        `a ${channel === null ? "null" : typeof channel} channel; pass a channel name such as 'get-status'.`,
      );
    }
    if (channel.length === 0) return fail("an empty channel name; pass a name such as 'get-status'.");
    if (channel.length > maxChannelLength) {
      return fail(`a channel name of ${channel.length} characters; the limit is ${maxChannelLength}.`);
    }
    if (/\s/.test(channel)) {
      return fail(`the channel '${channel}', which contains whitespace; use a name such as 'get-status'.`);
    }
    if (channel.startsWith("plugin:")) {
      const bare = channel.startsWith(prefix) ? channel.slice(prefix.length) : undefined;
      return fail(
        `the channel '${channel}', but channel names are prefixed '${prefix}' automatically; ${bare ? `pass '${bare}' instead.` : "pass the name without the 'plugin:' prefix."}`,
      );
    }
    return channel;
  };

  const ipc: PluginIPCRegistrar = Object.freeze({
    handle(channel: string, handler: PluginIpcHandler): void {
      if (!assertLive(`ipc.handle('${String(channel)}')`)) return;
      const name = checkChannel("handle", channel);
      if (typeof handler !== "function") {
        throw new TypeError(
          `Plugin '${pluginId}' called ipc.handle('${name}', handler) with a ${typeof handler} handler; pass a function (payload) => result.`,
        );
      }
      const full = prefix + name;
      // The transport sees only the payload; a failure is logged here (the renderer gets only its text). The
      // handler runs as this context's code: an error escaping its continuations (a throw in a timer it set, a
      // promise it forgot) rejects the invoke, or is logged once the invoke has been answered.
      const wrapped: IpcHandler = (payload) =>
        new Promise((resolve, reject) => {
          let settled = false;
          let lateErrors = 0;
          const fail = (error: unknown): void => {
            if (settled) return;
            settled = true;
            deps.logger.error("ipc", `The handler for '${name}' failed`, error);
            reject(error);
          };
          const flow: PluginFlow = {
            fail(error) {
              if (!settled) fail(error);
              else if (++lateErrors === 1) {
                deps.logger.error(
                  "ipc",
                  `The handler for '${name}' left code that failed after it answered`,
                  error,
                );
              }
              return true;
            },
          };
          enter(flow, () => {
            try {
              Promise.resolve(handler(payload)).then((value) => {
                if (settled) return;
                settled = true;
                resolve(value);
              }, fail);
            } catch (error) {
              fail(error);
            }
          });
        });
      deps.ipc.handle(full, wrapped); // a second handler throws Electron's own error: let it reach the plugin
      registrations.add(toDisposable(() => deps.ipc.removeHandler(full)));
    },
    send(channel: string, payload?: unknown): void {
      if (!assertLive(`ipc.send('${String(channel)}')`)) return;
      const name = checkChannel("send", channel);
      let copy: unknown;
      try {
        copy = structuredClone(payload);
      } catch (error) {
        throw createError(
          "HANGAR_IPC_UNCLONEABLE",
          "plugin",
          { pluginId, channel: name, reason: messageOf(error) },
          { cause: error },
        );
      }
      deps.ipc.send(prefix + name, copy);
    },
  });

  const server: PluginServerRegistrar = Object.freeze({
    registerRouter(path: string, router: PluginRouter): void {
      if (!assertLive(`server.registerRouter('${String(path)}')`)) return;
      registrations.add(deps.routes.register(pluginId, path, router));
    },
  });

  /** Undefined while live; on a disposed context, the rejected (or, when ignored, resolved) answer of a write. */
  const lateWrite = (call: string): Promise<void> | undefined => {
    if (!disposed) return undefined;
    try {
      return assertLive(call) ? undefined : Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  };

  // Reads keep working after dispose (onStop may have left something to read); writes do not.
  const config: PluginConfigStore = Object.freeze({
    get: <T = JsonValue>(key: string, defaultValue?: T) => deps.config.get<T>(key, defaultValue),
    getAll: () => deps.config.getAll(),
    set: (key: string, value: unknown) =>
      lateWrite(`config.set('${String(key)}')`) ?? deps.config.set(key, value),
    delete: (key: string) => lateWrite(`config.delete('${String(key)}')`) ?? deps.config.delete(key),
  });

  // Own frozen wrappers: the plugin must not be able to replace a method on an object the shell shares.
  const logger: PluginLogger = Object.freeze({
    debug: (tag: string, message: string, ...data: unknown[]) => deps.logger.debug(tag, message, ...data),
    info: (tag: string, message: string, ...data: unknown[]) => deps.logger.info(tag, message, ...data),
    warn: (tag: string, message: string, ...data: unknown[]) => deps.logger.warn(tag, message, ...data),
    error: (tag: string, message: string, ...data: unknown[]) => deps.logger.error(tag, message, ...data),
  });
  const auth: PluginAuthAccessor = Object.freeze({
    isAuthenticated: () => deps.auth.isAuthenticated(),
    getToken: () => deps.auth.getToken(),
  });

  const context: PluginContext = Object.freeze({
    pluginId,
    logger,
    config,
    ipc,
    auth,
    server,
    signal: controller.signal,
  });

  return Object.freeze({
    context,
    dispose(): void {
      if (disposed) return;
      disposed = true;
      // Registrations go first, so no new request reaches the plugin while its abort listeners clean up.
      registrations.dispose();
      controller.abort();
    },
    get disposed(): boolean {
      return disposed;
    },
  });
}

/**
 * Node reports an exception thrown by an AbortSignal listener as an uncaughtException, which would let a
 * plugin's cleanup code crash the shell. This wraps the listeners added to `signal` (addEventListener and
 * onabort) so that such an exception goes to `onError` instead.
 */
function guardAbortListeners(
  signal: AbortSignal,
  onError: (error: unknown) => void,
  enter: (fn: () => void) => void,
): void {
  const wrappers = new WeakMap<object, (event: Event) => void>();
  const wrap = (listener: EventListenerOrEventListenerObject): ((event: Event) => void) => {
    let wrapper = wrappers.get(listener);
    if (!wrapper) {
      wrapper = (event: Event) =>
        enter(() => {
          try {
            if (typeof listener === "function") listener.call(signal, event);
            else listener.handleEvent(event);
          } catch (error) {
            onError(error);
          }
        });
      wrappers.set(listener, wrapper);
    }
    return wrapper;
  };
  // Loosely typed on purpose: they forward whatever the caller passed, null and Node's own options included.
  type Forward = (type: string, listener: unknown, options?: unknown) => void;
  const add = signal.addEventListener.bind(signal) as Forward;
  const remove = signal.removeEventListener.bind(signal) as Forward;
  const onabort = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "onabort");
  let abortHandler: unknown = null;

  Object.defineProperties(signal, {
    addEventListener: {
      value: (
        type: string,
        listener: EventListenerOrEventListenerObject | null,
        options?: boolean | AddEventListenerOptions,
      ) => add(type, isListener(listener) ? wrap(listener) : listener, options),
    },
    removeEventListener: {
      value: (
        type: string,
        listener: EventListenerOrEventListenerObject | null,
        options?: boolean | EventListenerOptions,
      ) => remove(type, (isListener(listener) && wrappers.get(listener)) || listener, options),
    },
  });
  if (onabort?.set && onabort.get) {
    const setHandler = onabort.set;
    Object.defineProperty(signal, "onabort", {
      get: () => abortHandler,
      set: (handler: unknown) => {
        abortHandler = typeof handler === "function" ? handler : null;
        const guarded =
          typeof handler === "function"
            ? (event: Event) =>
                enter(() => {
                  try {
                    (handler as (this: AbortSignal, event: Event) => unknown).call(signal, event);
                  } catch (error) {
                    onError(error);
                  }
                })
            : null;
        setHandler.call(signal, guarded);
      },
    });
  }
}

function isListener(value: unknown): value is EventListenerOrEventListenerObject {
  return typeof value === "function" || (typeof value === "object" && value !== null);
}
