// Watches one plugin from inside a test shell: every hook call and how it settled, every context the plugin
// received, what it registered through each, and every call it made on a context after that was disposed.
import { fileURLToPath } from "node:url";
import type {
  PluginBackgroundModule,
  PluginConfigStore,
  PluginContext,
  PluginIPCRegistrar,
  PluginServerRegistrar,
} from "../sdk/types.js";

/** A lifecycle hook of a background module. */
export type HookName = "onStart" | "onStop" | "onResume";

/** One call of a hook. */
export interface HookRecord {
  hook: HookName;
  /** The lifecycle path that was running when the hook was called. */
  path: string;
  /** Which module instance it was called on: 1 for the first import, 2 after the harness' reload update. */
  instance: number;
  context: ContextRecord | null;
  outcome: "pending" | "resolved" | "rejected";
  error: unknown;
  /** Whether the hook's context was still live when it settled (false: the shell had given up on it). */
  liveAtSettle: boolean | null;
  /** Set by the harness when it made this hook time out: the hook may go on running after that. */
  late: boolean;
  /** Settles (never rejects) when the hook does. */
  settled: Promise<void>;
}

/** A call the plugin made on a context after that context was disposed. */
export interface LateCall {
  /** E.g. `ipc.send('position-update')`. */
  call: string;
  /** Where in the plugin the call was made: the first stack frame outside hangar. */
  at: string | null;
  /** The hook of this plugin that had not settled yet when the call was made, if any. */
  duringHook: HookRecord | null;
}

/** One context the plugin received, and what it did with it. */
export interface ContextRecord {
  serial: number;
  path: string;
  hook: HookName;
  signal: AbortSignal;
  /** Mount paths registered successfully through this context. */
  routes: string[];
  /** IPC channels handled successfully through this context (without the `plugin:{id}:` prefix). */
  channels: string[];
  lateCalls: LateCall[];
}

/** Called right after a hook was invoked, before its promise is returned to the shell. */
export type HookInterceptor = (record: HookRecord) => void;

// Stack frames name this file by URL (native ESM) or by path (transpiled runs): skip both forms.
const ownFiles = [import.meta.url, fileURLToPath(import.meta.url)];

/** Records everything one plugin does; `wrap` is given to the shell as its `wrapModule` test hook. */
export class PluginObserver {
  readonly hooks: HookRecord[] = [];
  readonly contexts: ContextRecord[] = [];
  /** The lifecycle path now running; recorded with every hook and context. */
  path = "";
  /** Told of each hook call as it happens (to stop the shell mid-start, or fire a timeout). */
  onCall: HookInterceptor | null = null;
  /** Awaited after a hook settles and before the shell learns the outcome (to make a hook look slow). */
  beforeSettle: ((record: HookRecord) => Promise<void>) | null = null;
  /** The import generation the shell loads next: 0 at first, 1 during the harness' reload update. */
  generation = 0;
  /** How many times the shell imported (or re-used) the plugin's module. */
  imports = 0;
  /** Whether the plugin's module defines onResume. */
  hasOnResume = false;
  /** Runs each hook call, so that what it creates can be attributed to it (HookResources.run). */
  scope: (<T>(hook: HookName, call: () => T) => T) | null = null;
  readonly #pluginId: string;

  constructor(pluginId: string) {
    this.#pluginId = pluginId;
  }

  /** The shell's `wrapModule` hook: wraps the plugin under test, leaves any other plugin as it is. */
  readonly wrap = (pluginId: string, module: PluginBackgroundModule): PluginBackgroundModule => {
    if (pluginId !== this.#pluginId) return module;
    // The shell shares one module instance per import generation (across shells too); a reload starts the next.
    const instance = this.generation + 1;
    this.imports += 1;
    this.hasOnResume = typeof module.onResume === "function";
    const wrapped: PluginBackgroundModule = {
      onStart: (ctx) => this.#run("onStart", instance, ctx, (proxy) => module.onStart(proxy!)),
      onStop: () => this.#run("onStop", instance, undefined, () => module.onStop()),
    };
    const onResume = module.onResume;
    if (onResume) {
      wrapped.onResume = (ctx) => this.#run("onResume", instance, ctx, (proxy) => onResume(proxy!));
    }
    return wrapped;
  };

  /** Hooks called during `path`. */
  hooksOf(path: string): HookRecord[] {
    return this.hooks.filter((record) => record.path === path);
  }

  /** The hooks of this plugin that have not settled yet. */
  pending(): HookRecord[] {
    return this.hooks.filter((record) => record.outcome === "pending");
  }

  #run(
    hook: HookName,
    instance: number,
    ctx: PluginContext | undefined,
    call: (proxy: PluginContext | undefined) => void | Promise<void>,
  ): Promise<void> {
    const context = ctx ? this.#record(hook, ctx) : null;
    let markSettled: () => void = () => {};
    const record: HookRecord = {
      hook,
      path: this.path,
      instance,
      context,
      outcome: "pending",
      error: undefined,
      liveAtSettle: null,
      late: false,
      settled: new Promise<void>((resolve) => {
        markSettled = resolve;
      }),
    };
    this.hooks.push(record);
    let result: Promise<void>;
    try {
      const proxy = context ? this.#proxy(ctx!, context) : undefined;
      result = Promise.resolve(this.scope ? this.scope(hook, () => call(proxy)) : call(proxy));
    } catch (error) {
      result = Promise.reject(error);
    }
    const finish = async (): Promise<void> => {
      try {
        await result;
        record.outcome = "resolved";
      } catch (error) {
        record.outcome = "rejected";
        record.error = error;
      }
      record.liveAtSettle = context ? !context.signal.aborted : null;
      markSettled();
      if (this.beforeSettle) await this.beforeSettle(record);
      if (record.outcome === "rejected") throw record.error;
    };
    const outcome = finish();
    this.onCall?.(record);
    return outcome;
  }

  #record(hook: HookName, ctx: PluginContext): ContextRecord {
    const context: ContextRecord = {
      serial: this.contexts.length + 1,
      path: this.path,
      hook,
      signal: ctx.signal,
      routes: [],
      channels: [],
      lateCalls: [],
    };
    this.contexts.push(context);
    return context;
  }

  /** A context that behaves exactly like `ctx` (same errors), but records what the plugin does with it. */
  #proxy(ctx: PluginContext, record: ContextRecord): PluginContext {
    const late = (call: string): void => {
      if (!ctx.signal.aborted) return;
      const duringHook = this.hooks.find((hook) => hook.outcome === "pending") ?? null;
      record.lateCalls.push({ call, at: callSite(new Error().stack), duringHook });
    };
    const config: PluginConfigStore = Object.freeze({
      get: ctx.config.get,
      getAll: ctx.config.getAll,
      set: (key: string, value: unknown) => {
        late(`config.set('${String(key)}')`);
        return ctx.config.set(key, value);
      },
      delete: (key: string) => {
        late(`config.delete('${String(key)}')`);
        return ctx.config.delete(key);
      },
    });
    const ipc: PluginIPCRegistrar = Object.freeze({
      handle: (channel: string, handler: (payload: unknown) => unknown) => {
        late(`ipc.handle('${String(channel)}')`);
        ctx.ipc.handle(channel, handler);
        record.channels.push(channel);
      },
      send: (channel: string, payload?: unknown) => {
        late(`ipc.send('${String(channel)}')`);
        ctx.ipc.send(channel, payload);
      },
    });
    const server: PluginServerRegistrar = Object.freeze({
      registerRouter: (path: string, router: Parameters<PluginServerRegistrar["registerRouter"]>[1]) => {
        late(`server.registerRouter('${String(path)}')`);
        ctx.server.registerRouter(path, router);
        record.routes.push(path);
      },
    });
    return Object.freeze({
      pluginId: ctx.pluginId,
      logger: ctx.logger,
      auth: ctx.auth,
      signal: ctx.signal,
      config,
      ipc,
      server,
    });
  }
}

/** The first frame of `stack` outside this file and outside node's internals: where the plugin made the call. */
function callSite(stack: string | undefined): string | null {
  for (const line of (stack ?? "").split("\n").slice(1)) {
    const frame = line.trim().replace(/^at\s+/, "");
    if (ownFiles.some((file) => frame.includes(file)) || frame.includes("node:internal")) continue;
    return frame;
  }
  return null;
}
