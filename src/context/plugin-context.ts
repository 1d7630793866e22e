// Builds the PluginContext a plugin receives, and owns everything registered through it until it is disposed.
import { type Disposable, DisposableStore, toDisposable } from "../base/disposable.js";
import type { PluginFlow } from "../containment/attribution.js";
import { createError, type HangarError, messageOf } from "../errors.js";
import { NESTING_LIMIT_TEXT, nestedDeeperThan } from "../ipc/nesting.js";
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

/** A request or invoke that code runs for (src/containment/attribution.ts), for layers that may not import containment. */
export type { PluginFlow };

/** What the shell hands over to build one plugin's context. */
export interface PluginContextDeps {
  pluginId: string;
  /** The plugin's logger, or a function that makes it: then called once, on first use. */
  logger: PluginLogger | (() => PluginLogger);
  /** The plugin's config store, or a function that opens it: then called once, on first use. */
  config: PluginConfigStore | (() => PluginConfigStore);
  /** The shared transport; the context prefixes channels with `plugin:{pluginId}:`. */
  ipc: IpcTransport;
  auth: PluginAuthAccessor;
  routes: RouteRegistry;
  /**
   * Told when releasing a registration, or (without {@link onAbortListenerError}) a listener on `ctx.signal`,
   * throws during dispose. Default: the plugin's own logger, tag `hangar`.
   */
  onDisposeError?: (error: unknown) => void;
  /**
   * Told when a listener the plugin added on `ctx.signal` throws as the context closes. Default:
   * {@link onDisposeError} when given, else the plugin's own logger (tag `hangar`) with a sentence naming the
   * plugin, the call and the fix ({@link abortListenerThrew}).
   */
  onAbortListenerError?: (error: unknown) => void;
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
  /**
   * Told when an IPC handler fails (its invoke is rejected with `error`); `channel` is the name the plugin
   * gave. The shell logs it as one failure record (HANGAR_IPC_HANDLER_FAILED). Default: the plugin's own
   * logger, tag `ipc`.
   */
  onHandlerFailure?: (channel: string, error: unknown) => void;
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

/** The log line for a listener on `ctx.signal` that threw as the plugin's context closed. */
export function abortListenerThrew(pluginId: string): string {
  return (
    `Plugin '${pluginId}': a listener it added with ctx.signal.addEventListener('abort', …) threw while its ` +
    "context closed; hangar went on closing it. Catch errors inside the plugin's abort listeners."
  );
}

const passThrough = <T>(_flow: PluginFlow | null, fn: () => T): T => fn();

/**
 * Creates a plugin's context. The context and every service on it are frozen.
 *
 * Each part is built on first use (issue 13: heap per idle plugin): a context whose plugin never reads
 * `ctx.ipc` holds no IPC wrapper, one that never registers anything holds no registration store, and one that
 * never reads `ctx.signal` holds no AbortController (so disposing it dispatches no abort event). What a plugin
 * sees does not change: the same frozen service on every read, and a signal first read after disposal is
 * already aborted.
 */
export function createPluginContext(deps: PluginContextDeps): PluginContextHandle {
  return new ContextOwner(deps);
}

/** The handle: owns the context's registrations and its signal, and builds its services on first use. */
class ContextOwner implements PluginContextHandle {
  readonly context: PluginContext;
  readonly #deps: PluginContextDeps;
  #disposed = false;
  #registrations: DisposableStore | null = null;
  #controller: AbortController | null = null;
  /** Services built so far (null until the first is read: most idle plugins read none). */
  #services: Partial<Record<"logger" | "config" | "ipc" | "auth" | "server", object>> | null = null;
  #logger: PluginLogger | null = null;
  #config: PluginConfigStore | null = null;

  constructor(deps: PluginContextDeps) {
    this.#deps = deps;
    this.context = new LiveContext(deps.pluginId, this);
    Object.freeze(this);
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    // Registrations go first, so no new request reaches the plugin while its abort listeners clean up.
    this.#registrations?.dispose();
    this.#registrations = null;
    this.#controller?.abort();
  }

  /** The service `name`, built on its first read and the same frozen object on every later one. */
  service<K extends keyof PluginContext & ("logger" | "config" | "ipc" | "auth" | "server")>(
    name: K,
  ): PluginContext[K] {
    this.#services ??= {};
    let service = this.#services[name];
    if (service === undefined) {
      service = Object.freeze(this.#build(name));
      this.#services[name] = service;
    }
    return service as PluginContext[K];
  }

  signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      const deps = this.#deps;
      guardAbortListeners(
        this.#controller.signal,
        (error) => this.#onAbortListenerError(error),
        (fn) => (deps.enter ? deps.enter(null, fn) : fn()),
      );
      if (this.#disposed) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  /** The shell's logger for this plugin (resolved once). */
  #log(): PluginLogger {
    if (this.#logger === null) {
      // Called on `deps` (not destructured): the deps may be an object whose methods read `this`.
      const deps = this.#deps;
      this.#logger = typeof deps.logger === "function" ? deps.logger() : deps.logger;
    }
    return this.#logger;
  }

  /** The plugin's config store (opened once). */
  #store(): PluginConfigStore {
    if (this.#config === null) {
      const deps = this.#deps;
      this.#config = typeof deps.config === "function" ? deps.config() : deps.config;
    }
    return this.#config;
  }

  // Methods, not arrow fields: two closures fewer per context; bound where handed out (issue 13).
  #onDisposeError(error: unknown): void {
    if (this.#deps.onDisposeError) this.#deps.onDisposeError(error);
    else
      this.#log().error(
        "hangar",
        "Releasing something this plugin registered failed while its context closed",
        error,
      );
  }

  /** A listener the plugin added on `ctx.signal` threw when the context closed: the plugin's bug, said so. */
  #onAbortListenerError(error: unknown): void {
    const deps = this.#deps;
    if (deps.onAbortListenerError) deps.onAbortListenerError(error);
    else if (deps.onDisposeError) deps.onDisposeError(error);
    else this.#log().error("hangar", abortListenerThrew(deps.pluginId), error);
  }

  /** Owns `item` until the context is disposed (released at once when it already is). */
  #own(item: Disposable): void {
    if (this.#disposed) {
      try {
        item.dispose();
      } catch (error) {
        this.#onDisposeError(error);
      }
      return;
    }
    this.#registrations ??= new DisposableStore((error) => this.#onDisposeError(error));
    this.#registrations.add(item);
  }

  /** True while the context is live; on a disposed one, throws or (as onLateCall decides) returns false. */
  #assertLive(call: string): boolean {
    if (!this.#disposed) return true;
    const { pluginId } = this.#deps;
    const error = createError("HANGAR_CONTEXT_DISPOSED", { pluginId, call });
    if ((this.#deps.onLateCall?.(call, error) ?? "throw") === "throw") throw error;
    return false;
  }

  /**
   * The logger for one ctx.logger call. On a disposed context the call is reported as a late call (a leftover
   * timer that only logs is warned about like one that writes config, SPEC §11) but never throws, and the
   * line is still printed: a log line is harmless, and it may be what shows where the leftover is.
   */
  #loggerFor(level: keyof PluginLogger, tag: string): PluginLogger {
    if (this.#disposed) {
      try {
        this.#assertLive(`logger.${level}('${String(tag)}')`);
      } catch {
        // Reported by onLateCall; a logger call does not throw.
      }
    }
    return this.#log();
  }

  /** Undefined while live; on a disposed context, the rejected (or, when ignored, resolved) answer of a write. */
  #lateWrite(call: string): Promise<void> | undefined {
    if (!this.#disposed) return undefined;
    try {
      return this.#assertLive(call) ? undefined : Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #build(name: "logger" | "config" | "ipc" | "auth" | "server"): object {
    const deps = this.#deps;
    switch (name) {
      case "logger":
        // Own frozen wrappers: the plugin must not be able to replace a method on an object the shell shares.
        return {
          debug: (tag: string, message: string, ...data: unknown[]) =>
            this.#loggerFor("debug", tag).debug(tag, message, ...data),
          info: (tag: string, message: string, ...data: unknown[]) =>
            this.#loggerFor("info", tag).info(tag, message, ...data),
          warn: (tag: string, message: string, ...data: unknown[]) =>
            this.#loggerFor("warn", tag).warn(tag, message, ...data),
          error: (tag: string, message: string, ...data: unknown[]) =>
            this.#loggerFor("error", tag).error(tag, message, ...data),
        } satisfies PluginLogger;
      case "auth":
        return {
          isAuthenticated: () => deps.auth.isAuthenticated(),
          getToken: () => deps.auth.getToken(),
        } satisfies PluginAuthAccessor;
      case "config":
        // Reads keep working after dispose (onStop may have left something to read); writes do not.
        return {
          get: <T = JsonValue>(key: string, defaultValue?: T) => this.#store().get<T>(key, defaultValue),
          getAll: () => this.#store().getAll(),
          set: (key: string, value: unknown) =>
            this.#lateWrite(`config.set('${String(key)}')`) ?? this.#store().set(key, value),
          delete: (key: string) =>
            this.#lateWrite(`config.delete('${String(key)}')`) ?? this.#store().delete(key),
        } satisfies PluginConfigStore;
      case "server":
        return {
          registerRouter: (path: string, router: PluginRouter): void => {
            if (!this.#assertLive(`server.registerRouter('${String(path)}')`)) return;
            this.#own(deps.routes.register(deps.pluginId, path, router));
          },
        } satisfies PluginServerRegistrar;
      case "ipc":
        return this.#buildIpc();
    }
  }

  #buildIpc(): PluginIPCRegistrar {
    const deps = this.#deps;
    const { pluginId } = deps;
    const prefix = `plugin:${pluginId}:`;
    const enter: NonNullable<PluginContextDeps["enter"]> = deps.enter
      ? (flow, fn) => deps.enter!(flow, fn)
      : passThrough;
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

    return {
      handle: (channel: string, handler: PluginIpcHandler): void => {
        if (!this.#assertLive(`ipc.handle('${String(channel)}')`)) return;
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
              if (this.#deps.onHandlerFailure) this.#deps.onHandlerFailure(name, error);
              else this.#log().error("ipc", `The handler for '${name}' failed`, error);
              reject(error);
            };
            const flow: PluginFlow = {
              fail: (error) => {
                if (!settled) fail(error);
                else if (++lateErrors === 1) {
                  this.#log().error(
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
        this.#own(toDisposable(() => deps.ipc.removeHandler(full)));
      },
      send: (channel: string, payload?: unknown): void => {
        if (!this.#assertLive(`ipc.send('${String(channel)}')`)) return;
        const name = checkChannel("send", channel);
        // hangar's one nesting limit, checked rather than left to V8's stack: a worker thread's clone reaches far
        // deeper than the shell's main thread can take, so a deep payload would fail apart from the call.
        if (nestedDeeperThan(payload)) {
          throw createError("HANGAR_IPC_UNCLONEABLE", "plugin", {
            pluginId,
            channel: name,
            reason: `it is ${NESTING_LIMIT_TEXT}`,
          });
        }
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
    };
  }
}

/**
 * The PluginContext a plugin receives, frozen. Its services are own enumerable accessors (so `{ ...ctx }` and
 * `Object.keys(ctx)` see every member) whose getter functions are shared by every context: each context costs
 * two slots, and a service is built only when first read.
 */
class LiveContext implements PluginContext {
  declare readonly logger: PluginLogger;
  declare readonly config: PluginConfigStore;
  declare readonly ipc: PluginIPCRegistrar;
  declare readonly auth: PluginAuthAccessor;
  declare readonly server: PluginServerRegistrar;
  declare readonly signal: AbortSignal;
  readonly pluginId: string;
  readonly #owner: ContextOwner;

  static readonly #members: PropertyDescriptorMap = {
    logger: { enumerable: true, get: LiveContext.#service("logger") },
    config: { enumerable: true, get: LiveContext.#service("config") },
    ipc: { enumerable: true, get: LiveContext.#service("ipc") },
    auth: { enumerable: true, get: LiveContext.#service("auth") },
    server: { enumerable: true, get: LiveContext.#service("server") },
    signal: {
      enumerable: true,
      get(this: LiveContext) {
        return this.#owner.signal();
      },
    },
  };

  static #service(name: "logger" | "config" | "ipc" | "auth" | "server") {
    return function (this: LiveContext) {
      return this.#owner.service(name);
    };
  }

  constructor(pluginId: string, owner: ContextOwner) {
    this.pluginId = pluginId;
    this.#owner = owner;
    Object.defineProperties(this, LiveContext.#members);
    Object.freeze(this);
  }
}
Object.freeze(LiveContext.prototype);
Object.freeze(ContextOwner.prototype);

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
