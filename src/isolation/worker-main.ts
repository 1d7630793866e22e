// The entry of an isolated plugin's worker thread (or Electron utility process, or child process): imports the plugin, runs its hooks with a PluginContext
// whose services forward to the shell, answers heartbeats, and serves the plugin's routers to requests that arrive
// as messages on its port (nothing listens: no other local process can reach the plugin).
import { AsyncLocalStorage } from "node:async_hooks";
import type http from "node:http";
import { performance } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import type express from "express";
import { importPluginModule } from "../actors/plugin-module.js";
import type { Disposable } from "../base/disposable.js";
import { toDisposable } from "../base/disposable.js";
import { assertConfigKey, copyConfigValue } from "../context/config-value.js";
import { createPluginContext, type PluginContextHandle, type PluginFlow } from "../context/plugin-context.js";
import { createHandlerRegistry } from "../ipc/handler-registry.js";
import { assertJsonPayload, jsonFailureReason } from "../ipc/json-payload.js";
import type { IpcTransport } from "../ipc/transport.js";
import type {
  PluginAuthAccessor,
  PluginBackgroundModule,
  PluginConfigStore,
  PluginLogger,
  PluginRouter,
} from "../sdk/types.js";
import { RouteRequestFlow } from "../server/request-flow.js";
import type { RouteRegistry } from "../server/route-registry.js";
import { RouteTable } from "../server/route-table.js";
import { CONSOLE_BYTES_PER_SECOND, limitConsoleOutput } from "./console-budget.js";
import { PortHttpServer, type RequestMount } from "./port-http.js";
import {
  type ConfigOp,
  ERROR_MARK,
  type FromWorker,
  type LogLevel,
  reviveError,
  serialiseError,
  type ToWorker,
  type WorkerBoot,
} from "./protocol.js";

/** The way to the shell: a worker's parentPort, or in an Electron utility process, `process.parentPort`. */
interface ShellLink {
  boot: WorkerBoot;
  /** `transfer` moves ArrayBuffers between threads; a utility process copies them (it transfers only ports). */
  post(message: FromWorker, transfer?: ArrayBuffer[]): void;
  listen(listener: (message: ToWorker) => void): void;
  /** Ends this worker for an error that escaped the plugin's live code, after telling the shell what it was. */
  die(error: unknown, origin: Origin): void;
}

type Origin = "uncaughtException" | "unhandledRejection";

/** Electron's `process.parentPort` in a utility process: messages arrive as `{ data }` events. */
interface UtilityParentPort {
  on(event: "message", listener: (event: { data: unknown }) => void): unknown;
  postMessage(message: unknown): void;
}

/** process.exit as hangar found it: a plugin may replace the global one. */
const exitProcess = process.exit.bind(process);

/**
 * The IPC channel of a process forked by childProcessHost, as a parent port. The process belongs to the shell: when
 * the channel closes (the shell exited, or was killed), it exits too. A terminal's Ctrl+C reaches the whole process
 * group: the process ignores it, and the shell, which handles it, stops the plugin in order (onStop runs).
 */
function forkedParentPort(send: NonNullable<typeof process.send>): UtilityParentPort {
  process.title = "hangar-isolate";
  process.on("disconnect", () => exitProcess(0));
  process.on("SIGINT", () => {});
  return {
    on: (_event, listener) => process.on("message", (data) => listener({ data })),
    postMessage: (message) => {
      // Not connected: the shell is gone, and 'disconnect' ends this process.
      if (process.connected) send(message, undefined, undefined, () => {});
    },
  };
}

async function connect(): Promise<ShellLink> {
  if (parentPort) {
    const port = parentPort;
    return {
      boot: workerData as WorkerBoot,
      post: (message, transfer) => port.postMessage(message, transfer),
      listen: (listener) => port.on("message", listener),
      // The message is delivered before the worker's 'exit' (Node drains the port first); the thread stops here.
      die: (error, origin) => {
        try {
          port.postMessage({ t: "fatal", error: serialiseError(error), origin } satisfies FromWorker);
        } finally {
          exitProcess(1);
        }
      },
    };
  }
  const utilityPort = (process as unknown as { parentPort?: UtilityParentPort }).parentPort;
  // Forked by childProcessHost (child-process-host.ts): messages on the process's IPC channel.
  const port: UtilityParentPort | undefined =
    utilityPort ?? (process.send ? forkedParentPort(process.send.bind(process)) : undefined);
  if (!port) {
    throw new Error(
      "hangar's isolate entry runs in a worker thread, an Electron utility process or a process forked by childProcessHost",
    );
  }
  // The host sends `boot` first; whatever follows waits until the module below listens.
  const queued: ToWorker[] = [];
  let deliver: ((message: ToWorker) => void) | null = null;
  let booted: (boot: WorkerBoot) => void = () => {};
  const boot = new Promise<WorkerBoot>((resolve) => {
    booted = resolve;
  });
  port.on("message", ({ data }) => {
    const message = data as ToWorker;
    if (message.t === "boot") booted(message.boot);
    else if (deliver) deliver(message);
    else queued.push(message);
  });
  // An error that escapes the plugin ends a worker thread with an 'error' event the shell reads; a process only
  // has an exit code, so it says what the error was first (the shell ends it on receipt).
  const fatal = (error: unknown, origin: Origin): void => {
    try {
      port.postMessage({ t: "fatal", error: serialiseError(error), origin } satisfies FromWorker);
    } finally {
      setTimeout(() => exitProcess(1), 1_000).unref();
    }
  };
  return {
    die: fatal,
    boot: await boot,
    post: (message) => port.postMessage(message),
    listen: (listener) => {
      deliver = listener;
      for (const message of queued.splice(0)) listener(message);
    },
  };
}

const link = await connect();
const { boot } = link;
const { pluginId } = boot;
// What the plugin would read in-process: the shell's command line, not this isolate's own (a worker thread has
// `[node]`, a forked process `[node, worker-main.js]`).
process.argv = [...boot.argv];
// In `ps`, a forked isolate names its plugin.
if (process.title === "hangar-isolate") process.title = `hangar:${pluginId}`;

let token = boot.token;
let module: PluginBackgroundModule | null = null;
const contexts = new Map<number, PluginContextHandle>();
const pendingCalls = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
let nextCallId = 1;

const post = (message: FromWorker): void => link.post(message);

// ---- which context escaped code belongs to (SPEC §11, as src/containment does in-process) ----

/**
 * What the code running now belongs to: the id of its context, entered around each hook, IPC handler and route, and
 * inherited by the timers, listeners and promises they create (0 is the module's own code: its evaluation,
 * module-level timers, which belong to the live plugin); and, inside a route's request or an IPC handler's invoke,
 * that call's flow, which an escaped error fails first (as in-process, src/containment). A worker runs one plugin,
 * so no stack-frame fallback is needed.
 */
interface WorkerScope {
  contextId: number;
  flow: PluginFlow | null;
}
const scopes = new AsyncLocalStorage<WorkerScope>();
const MODULE_SCOPE: WorkerScope = { contextId: 0, flow: null };
const contextScopes = new Map<number, WorkerScope>();
/** The scope of a context's own code (a hook, a timer it set), outside any request or invoke. */
function scopeOf(contextId: number): WorkerScope {
  let scope = contextScopes.get(contextId);
  if (!scope) {
    scope = { contextId, flow: null };
    contextScopes.set(contextId, scope);
  }
  return scope;
}

/** True when `contextId` names a context that has been disposed (a leftover's scope); 0 never is. */
function isDisposed(contextId: number): boolean {
  if (contextId === 0) return false;
  const handle = contexts.get(contextId);
  return !handle || handle.disposed;
}

/**
 * An error escaped the plugin's code. From a leftover of a disposed context (a promise forgotten in onStop that
 * rejects later, a timer of an earlier generation) it is the shell's warning, as in-process, and the worker (with
 * the running generation) carries on. From live code it ends the worker: the plugin crashed.
 */
function escaped(error: unknown, origin: Origin): void {
  const scope = scopes.getStore() ?? MODULE_SCOPE;
  // Code a route or an IPC handler started: it fails that request or invoke while it waits, and is logged once
  // after it was answered; the plugin runs on (as in-process: src/server/app.ts, src/context/plugin-context.ts).
  try {
    if (scope.flow?.fail(error)) return;
  } catch {
    // A flow never throws; should it, the error is the plugin's crash below.
  }
  const { contextId } = scope;
  if (!isDisposed(contextId)) {
    link.die(error, origin);
    return;
  }
  try {
    post({ t: "leftover-error", contextId, origin, error: serialiseError(error) });
  } catch {
    // Reporting a leftover never ends the worker.
  }
}
process.on("uncaughtException", (error) => escaped(error, "uncaughtException"));
process.on("unhandledRejection", (reason) => escaped(reason, "unhandledRejection"));

// ---- services the worker's PluginContext forwards to the shell ----

/** Errors keep their class, code and stack across the clone (a structured clone would drop the code). */
function cloneable(value: unknown): unknown {
  return value instanceof Error ? { [ERROR_MARK]: serialiseError(value) } : value;
}

function describe(value: unknown): unknown {
  try {
    return structuredClone(cloneable(value));
  } catch (error) {
    try {
      return `[${typeof value} that cannot be sent to the shell's logger: ${(error as Error).message}]`;
    } catch {
      return "[a value that cannot be sent to the shell's logger]";
    }
  }
}

function log(level: LogLevel, tag: string, message: string, data: unknown[]): void {
  try {
    post({ t: "log", level, tag: String(tag), message: String(message), data: data.map(cloneable) });
  } catch {
    // Something in `data` cannot be cloned (a function, a throwing getter, a revoked proxy): send each alone.
    try {
      post({ t: "log", level, tag: String(tag), message: String(message), data: data.map(describe) });
    } catch {
      // A log call never throws (SPEC §3).
    }
  }
}

const logger: PluginLogger = {
  debug: (tag, message, ...data) => log("debug", tag, message, data),
  info: (tag, message, ...data) => log("info", tag, message, data),
  warn: (tag, message, ...data) => log("warn", tag, message, data),
  error: (tag, message, ...data) => log("error", tag, message, data),
};

// The plugin's console output reaches the shell through its main thread: bounded, so that a flood cannot stall
// the shell or grow its memory (console-budget.ts, docs/isolation.md "Console output").
limitConsoleOutput([process.stdout, process.stderr], {
  onDrop: ({ bytes, writes, totalBytes }) =>
    logger.warn(
      "hangar",
      `Console output over ${CONSOLE_BYTES_PER_SECOND / 1024} kB/s is dropped: ${writes} write(s), ` +
        `${Math.ceil(bytes / 1024)} kB dropped (${Math.ceil(totalBytes / 1024)} kB in all). Fix: log through ` +
        "ctx.logger, or write less to the console (this warning repeats at most once a minute).",
    ),
});

function callShell(contextId: number, op: ConfigOp, args: unknown[]): Promise<unknown> {
  const id = nextCallId++;
  return new Promise((resolve, reject) => {
    pendingCalls.set(id, { resolve, reject });
    post({ t: "config", id, contextId, op, args });
  });
}

/** Validates as the shell's store does (so the error is thrown here, with the same text), then asks the shell. */
function configFor(contextId: number): PluginConfigStore {
  return {
    get: async <T>(key: string, defaultValue?: T) => {
      assertConfigKey(pluginId, "get", key);
      return (await callShell(contextId, "get", [key, defaultValue])) as T | undefined;
    },
    getAll: async () =>
      (await callShell(contextId, "getAll", [])) as Awaited<ReturnType<PluginConfigStore["getAll"]>>,
    set: async (key: string, value: unknown) => {
      assertConfigKey(pluginId, "set", key);
      await callShell(contextId, "set", [key, copyConfigValue(pluginId, key, value)]);
    },
    delete: async (key: string) => {
      assertConfigKey(pluginId, "delete", key);
      await callShell(contextId, "delete", [key]);
    },
  };
}

const auth: PluginAuthAccessor = {
  isAuthenticated: () => token !== null,
  getToken: () => token,
};

// IPC handlers run here; the shell registers a forwarder on its transport for each channel.
const handlers = createHandlerRegistry();
const channelPrefix = `plugin:${pluginId}:`;
function ipcFor(contextId: number): IpcTransport {
  return {
    handle(channel, handler) {
      handlers.handle(channel, (payload) => scopes.run(scopeOf(contextId), () => handler(payload)));
      post({ t: "ipc-handle", contextId, channel: channel.slice(channelPrefix.length) });
    },
    removeHandler: (channel) => handlers.removeHandler(channel),
    send: (channel, payload) => {
      // A JSON transport refuses in the shell what JSON cannot carry: throw that here, at the plugin's call.
      if (boot.ipcPayloads === "json") assertJsonPayload(channel, payload);
      post({ t: "ipc-send", contextId, channel: channel.slice(channelPrefix.length), payload });
    },
  };
}

// ---- routes: the plugin's routers, served to the shell as messages on the port ----

const routeChecks = new RouteTable();
/** Each mounted router, with the id of the context that registered it (its code runs in that context's scope). */
const mounts = new Map<number, { router: PluginRouter; contextId: number }>();
let nextMountId = 1;
/** Which mount a request is for. */
const MOUNT = Symbol("hangar.mount");
type MountedRequest = http.IncomingMessage & { [MOUNT]?: RequestMount };
let routeApp: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | null = null;

/** One Express app in front of every mount: it gives the plugin's routers Express's req and res. */
async function appReady(): Promise<(req: http.IncomingMessage, res: http.ServerResponse) => void> {
  if (routeApp) return routeApp;
  const app = (await expressReady())();
  app.disable("x-powered-by");
  app.use((req, res) => {
    const mount = (req as MountedRequest)[MOUNT]!;
    const mounted = mounts.get(mount.mountId);
    const done = (err?: unknown): void => {
      if (err !== undefined && err !== null && err !== "router" && err !== "route") {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (portHttp.drop(mount.id)) post({ t: "http-error", id: mount.id, error: serialiseError(err) });
        return;
      }
      if (res.headersSent) return;
      if (portHttp.drop(mount.id)) post({ t: "http-next", id: mount.id });
    };
    if (!mounted) return done();
    const flow = new RequestFlow(req, res, mount.baseUrl, done);
    req.baseUrl = mount.baseUrl;
    const router = mounted.router as unknown as (...args: unknown[]) => unknown;
    try {
      const returned = scopes.run({ contextId: mounted.contextId, flow }, () => router(req, res, done));
      if (typeof (returned as PromiseLike<unknown> | null)?.then === "function") {
        (returned as PromiseLike<unknown>).then(undefined, (error: unknown) =>
          done(error ?? new Error("Rejected promise")),
        );
      }
    } catch (error) {
      done(error);
    }
  });
  routeApp = app as unknown as (req: http.IncomingMessage, res: http.ServerResponse) => void;
  return routeApp;
}

/** One request in the plugin's scope, with the rule and words of in-process (src/server/request-flow.ts). */
class RequestFlow extends RouteRequestFlow implements PluginFlow {
  readonly #route: string;
  constructor(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    baseUrl: string,
    readonly done: (error?: unknown) => void,
  ) {
    super(res);
    // As the shell names it (the path before the router rewrites req.url): `POST /api/audit/flight`.
    const url = req.url ?? "/";
    const query = url.indexOf("?");
    const rest = query === -1 ? url : url.slice(0, query);
    this.#route = `${req.method} ${rest === "/" && baseUrl ? baseUrl : baseUrl + rest}`;
  }

  protected route(): string {
    return this.#route;
  }

  protected failRequest(error: unknown): void {
    this.done(error ?? new Error(`Route ${this.#route} failed with ${String(error)}`));
  }

  protected logLate(message: string, error: unknown): void {
    logger.error("http", message, error);
  }
}

/** Requests arrive as messages on the port and are served by the app. */
const portHttp = new PortHttpServer(
  (message, transfer) => link.post(message, transfer),
  (req, res, mount) => {
    (req as MountedRequest)[MOUNT] = mount;
    // The app is ready before any route is announced to the shell (routesFor waits for it).
    routeApp!(req, res);
  },
);

/** Routes registered during a hook: the hook is reported done only once they can be reached. */
const listening = new Set<Promise<unknown>>();

function routesFor(contextId: number): RouteRegistry {
  return {
    register(id: string, mountPath: string, router: PluginRouter): Disposable {
      // The same checks and errors as in-process, thrown at the call (HANGAR_ROUTE_NAMESPACE, TypeError).
      const checked = routeChecks.register(id, mountPath, router);
      const mountId = nextMountId++;
      mounts.set(mountId, { router, contextId });
      const normalised = mountPath.length > 1 && mountPath.endsWith("/") ? mountPath.slice(0, -1) : mountPath;
      const ready = appReady().then(
        () => post({ t: "route", contextId, mountId, path: normalised }),
        (error: unknown) => logger.error("hangar", "The plugin's HTTP server could not start", error),
      );
      listening.add(ready);
      void ready.finally(() => listening.delete(ready));
      return toDisposable(() => {
        checked.dispose();
        mounts.delete(mountId);
      });
    },
  };
}

// ---- IPC results ----

/**
 * Sends a handler's result to the shell. A value the port cannot clone (a function in it, a symbol, an object too
 * deep) goes through the rule the shell's WebSocket bridge applies to in-process handlers (src/ipc/websocket.ts):
 * JSON, so functions vanish (`{ f() {} }` arrives as `{}`), and a value JSON cannot encode fails the invoke with
 * the same sentence. Cloneable values cross as they are, and the shell's transport applies its own rule to them.
 */
function answerInvoke(id: number, channel: string, value: unknown): void {
  try {
    post({ t: "invoke-done", id, ok: true, value });
    return;
  } catch {
    // Not cloneable: the JSON rule below.
  }
  let sendable: unknown;
  try {
    const text = JSON.stringify(value);
    sendable = text === undefined ? undefined : JSON.parse(text);
  } catch (error) {
    post({
      t: "invoke-done",
      id,
      ok: false,
      error: serialiseError(
        new TypeError(
          `The handler for '${channel}' returned a value that cannot be sent as JSON (${jsonFailureReason(value, error)}). ` +
            "Return plain JSON data from handlers that WebSocket clients call.",
        ),
      ),
    });
    return;
  }
  post({ t: "invoke-done", id, ok: true, value: sendable });
}

// ---- hooks ----

function openContext(contextId: number): PluginContextHandle {
  let handle = contexts.get(contextId);
  if (!handle) {
    handle = createPluginContext({
      pluginId,
      logger,
      config: configFor(contextId),
      ipc: ipcFor(contextId),
      auth,
      routes: routesFor(contextId),
      // A leftover (a timer or listener of an earlier context) calling it: SPEC §11 makes that a warning, never a
      // crash of the running generation. A throw here would escape the leftover and end the worker, so the call
      // is ignored, and the shell warns as it does in-process. (A hook still running on its disposed context has
      // outlived its timeout, and its worker is ended anyway.)
      onLateCall: (call) => {
        post({ t: "late-call", contextId, call });
        return "ignore";
      },
      // A failed handler's error goes back with its invoke: the shell logs its one failure record.
      onHandlerFailure: () => {},
      // An IPC handler runs with its invoke's flow: code it left behind fails the invoke while it waits, and is
      // logged once after it was answered (plugin-context.ts), as in-process; the plugin runs on.
      enter: (flow, fn) => scopes.run(flow ? { contextId, flow } : scopeOf(contextId), fn),
    });
    contexts.set(contextId, handle);
  }
  return handle;
}

/** The context onStop stops (the latest one not disposed), or 0 when none is left. */
function liveContextId(): number {
  let live = 0;
  for (const [id, handle] of contexts) if (!handle.disposed) live = id;
  return live;
}

/** Runs one hook in the scope of the context it belongs to (onStop: the one it stops). */
function runHook(hook: "start" | "stop" | "resume", contextId: number): Promise<void> {
  return scopes.run(scopeOf(hook === "stop" ? liveContextId() : contextId), () => callHook(hook, contextId));
}

async function callHook(hook: "start" | "stop" | "resume", contextId: number): Promise<void> {
  if (!module) throw new Error("the plugin's module is not loaded in its worker");
  if (hook === "stop") {
    try {
      await module.onStop();
    } finally {
      // SPEC §3: the context is disposed once onStop settles. The shell disposes it too, but its message comes
      // later: a timer onStop left behind must find the context disposed from now on, as in-process.
      for (const handle of contexts.values()) handle.dispose();
    }
  } else if (hook === "start") await module.onStart(openContext(contextId).context);
  else await module.onResume?.(openContext(contextId).context);
  await Promise.all(listening);
}

link.listen((message: ToWorker) => {
  switch (message.t) {
    case "ping":
      post({ t: "pong", seq: message.seq, heapUsedBytes: process.memoryUsage().heapUsed });
      return;
    case "hook":
      post({ t: "hook-begun", id: message.id });
      runHook(message.hook, message.contextId).then(
        () => post({ t: "hook-done", id: message.id, ok: true }),
        (error: unknown) => post({ t: "hook-done", id: message.id, ok: false, error: serialiseError(error) }),
      );
      return;
    case "dispose":
      contexts.get(message.contextId)?.dispose();
      contexts.delete(message.contextId);
      contextScopes.delete(message.contextId);
      return;
    case "auth":
      token = message.token;
      return;
    case "close":
      for (const handle of contexts.values()) handle.dispose();
      contexts.clear();
      // A macrotask later, so that abort listeners' own promise jobs run first.
      setImmediate(() => process.exit(0));
      return;
    case "invoke": {
      const handler = handlers.get(message.channel);
      Promise.resolve()
        .then(() => {
          if (!handler) throw new Error(`No handler registered for '${message.channel}'`);
          return handler(message.payload);
        })
        .then(
          (value) => answerInvoke(message.id, message.channel, value),
          (error: unknown) =>
            post({ t: "invoke-done", id: message.id, ok: false, error: serialiseError(error) }),
        )
        .catch((error: unknown) =>
          post({ t: "invoke-done", id: message.id, ok: false, error: serialiseError(error) }),
        );
      return;
    }
    case "http-req":
    case "http-body":
    case "http-ack":
    case "http-abort":
      portHttp.receive(message);
      return;
    case "boot":
      return;
    case "reply": {
      const call = pendingCalls.get(message.id);
      pendingCalls.delete(message.id);
      if (message.ok) call?.resolve(message.value);
      else call?.reject(reviveError(message.error));
      return;
    }
  }
});

// Express is imported at the first registerRouter, not before: a plugin without routes never pays for it
// (about 6 MB per worker, docs/isolation.md). A hook that registers a router is reported done once the import
// has finished and the route can be reached.
let expressImport: Promise<typeof express> | null = null;
function expressReady(): Promise<typeof express> {
  if (!expressImport) {
    // Evaluating Express's CommonJS tree blocks this thread for a while on a loaded machine: the shell's watchdog
    // does not count that against the plugin (it is hangar's own loading, as the plugin's import is).
    post({ t: "importing", done: false });
    expressImport = import("express").then((imported) => imported.default);
    void expressImport.finally(() => post({ t: "importing", done: true })).catch(() => {});
  }
  return expressImport;
}

// Test seam (test/isolation/worker-boot-timeout.test.ts): a boot slowed as on an overloaded machine.
const bootDelayMs = Number(process.env.HANGAR_TEST_WORKER_BOOT_DELAY_MS);
if (bootDelayMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, bootDelayMs);
// The shell's load timeout counts the plugin's import from here, not the worker's boot (which has its own limit).
post({ t: "booted" });
try {
  const started = performance.now();
  module = await scopes.run(MODULE_SCOPE, () =>
    importPluginModule({
      entryFile: boot.entryFile,
      folder: boot.folder,
      pluginId,
      generation: boot.generation,
    }),
  );
  post({
    t: "loaded",
    hasOnResume: typeof module.onResume === "function",
    entryFile: boot.entryFile,
    loadMs: performance.now() - started,
  });
} catch (error) {
  post({ t: "load-failed", error: serialiseError(error) });
}
