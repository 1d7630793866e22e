// The shell's side of one isolated plugin: spawns its worker thread, watches its heartbeat, forwards its
// context calls to the shell's real context, and ends it when it hangs, crashes or the shell is done with it.

import { realpath } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { clearInterval, clearTimeout, setInterval, setTimeout } from "../base/timers.js";
import { createError, type ErrorCode, type HangarError, messageOf } from "../errors.js";
import type { IpcTransport } from "../ipc/transport.js";
import { resolveEntryModule } from "../manifest/read-manifest.js";
import type { PluginManifest } from "../manifest/schema.js";
import type { PluginBackgroundModule, PluginContext, PluginLogger } from "../sdk/types.js";
import type { WorkerStatus } from "../status.js";
import { ISOLATE_SIGNAL, type Isolate, type IsolationHost, workerThreadHost } from "./isolate.js";
import { PortRequestForwarder } from "./port-forwarder.js";
import {
  type ConfigOp,
  ERROR_MARK,
  type FromWorker,
  type HookName,
  reviveError,
  type SerialisedError,
  serialiseError,
  type ToWorker,
  type WorkerBoot,
} from "./protocol.js";

/** How long a released worker gets to exit by itself before it is terminated, in ms. */
const RELEASE_GRACE_MS = 250;

/** How many disposed contexts a worker's shell side remembers, to name what disposed a leftover's context. */
const RETIRED_CONTEXTS = 8;

/** Default heap limit of an isolated plugin, in MB (SPEC §12). */
export const DEFAULT_MEMORY_LIMIT_MB = 512;

/**
 * A worker whose last heartbeat reported a heap use of at least this share of its `memoryLimitMb` is near its limit:
 * V8's last collections before it gives up stop the event loop, for seconds when the machine is short of CPU (a
 * process at 64 MB, starved at a load average of 20, was silent over 5 s before V8 aborted it).
 */
const NEAR_HEAP_LIMIT = 0.75;
/**
 * How many times `timeouts.unresponsive` the watchdog waits for a worker near its heap limit, so that running out of
 * memory is reported as such ("ran out of memory") rather than as a busy loop; still silent then, it is ended.
 */
const NEAR_HEAP_LIMIT_PATIENCE = 3;

/** What a PluginWorker needs from the shell. */
export interface PluginWorkerOptions {
  pluginId: string;
  folder: string;
  manifest: PluginManifest;
  generation: number;
  /** `timeouts.unresponsive`: how long the worker's event loop may stay silent, in ms. */
  unresponsiveMs: number;
  /**
   * The plugin's load timeout (`timeouts.load`, or plugin.json's `background.loadTimeoutMs`), in ms. Booting the
   * worker and importing the plugin are each given this long, counted apart: a boot that does not finish is
   * HANGAR_WORKER_BOOT_TIMEOUT (the machine is overloaded, not the plugin's fault), an import that does not settle
   * after the boot is HANGAR_LOAD_TIMEOUT. Without it, the caller bounds the whole load itself.
   */
  loadTimeoutMs?: number;
  /** The shell's IPC transport: invokes on the plugin's channels are forwarded to the worker. */
  ipc: IpcTransport;
  /** The plugin's logger in the shell: the worker's log records end here. */
  logger: PluginLogger;
  /** The shell's current auth token (later changes are pushed with {@link PluginWorker.setToken}). */
  token(): string | null;
  /**
   * A leftover in the worker called a disposed context (`context` is the shell's twin of it, or null when it is
   * long gone); the worker ignored the call. The shell warns, as for an in-process leftover (SPEC §11).
   */
  onLateCall?(context: PluginContext | null, call: string): void;
  /**
   * An error escaped a leftover of a disposed context in the worker (`context` as for {@link onLateCall}); the
   * worker and the running generation carry on. The shell warns, as for an in-process leftover (SPEC §11).
   */
  onLeftoverError?(
    context: PluginContext | null,
    error: Error,
    origin: "uncaughtException" | "unhandledRejection",
  ): void;
  /** The worker died or hung while no hook was running: the plugin crashed in phase `run`. */
  onCrash(code: ErrorCode, message: string, error: HangarError): void;
  /**
   * The state the plugin settles in after {@link onCrash} (`backoff` when the restart policy starts it again, else
   * `errored`): requests that were in flight answer 503 with it, as the status will show. Default: `errored`.
   */
  stateAfterCrash?(): Promise<string>;
  /** Where the plugin runs: a worker thread (default) or, in Electron, a utility process. */
  host?: IsolationHost;
}

/** What loading in the worker reports. */
export interface WorkerLoadResult {
  hasOnResume: boolean;
  entryFile: string;
  loadMs: number;
}

type Phase = "load" | HookName | "run";

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const hookNames = { start: "onStart", stop: "onStop", resume: "onResume" } as const;

/**
 * One isolated plugin's worker, across its whole life in the shell: the worker is spawned by {@link load}, and
 * spawned again (a fresh module instance) when a hook is asked of it after it died.
 */
export class PluginWorker {
  readonly #options: PluginWorkerOptions;
  readonly #memoryLimitMb: number;
  readonly #host: IsolationHost;
  #worker: Isolate | null = null;
  #alive = false;
  /** Set when hangar ends the worker itself (shutdown, a hook timeout): its exit is not a crash. */
  #ending = false;
  #phase: Phase = "load";
  #threadId: number | null = null;
  #heapUsedBytes: number | null = null;
  #lagMs: number | null = null;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #hookInFlight = 0;
  /** Hooks posted to the worker that it has not begun yet (a busy worker never reads their message). */
  #hooksNotBegun = new Set<number>();
  /** IPC invokes in flight to the worker: their channel (as the plugin named it) and when each was sent. */
  #invokes = new Map<number, { channel: string; sentAt: number }>();
  #load: Pending | null = null;
  /** The boot's, then the import's limit while a load is in flight ({@link PluginWorkerOptions.loadTimeoutMs}). */
  #loadTimer: NodeJS.Timeout | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  /** Settles when the worker being ended has exited. */
  #closing: Promise<void> | null = null;
  /** Settles when the current worker has exited. */
  #exited: Promise<void> = Promise.resolve();
  /** The uncaught error a utility process reported before exiting. */
  #fatal: Error | null = null;
  /** Whether {@link #fatal} was thrown or a rejected promise nobody handled. */
  #fatalOrigin: "uncaughtException" | "unhandledRejection" | undefined;
  /** The worker is importing part of hangar (Express): its silence is not the plugin's. */
  #importing = false;
  /** What the worker's `booted` message starts: the import's limit. */
  #onBooted: (() => void) | null = null;
  #onPong: ((message: Extract<FromWorker, { t: "pong" }>) => void) | null = null;
  #contextId = 0;
  #contextIds = new WeakMap<PluginContext, number>();
  #contexts = new Map<number, PluginContext>();
  /** The latest disposed contexts, so a leftover's warning can say what disposed its context. */
  #retired = new Map<number, PluginContext>();
  #hookSignal: AbortSignal | undefined;
  readonly #forwarder: PortRequestForwarder;

  constructor(options: PluginWorkerOptions) {
    this.#options = options;
    this.#memoryLimitMb = options.manifest.background?.memoryLimitMb ?? DEFAULT_MEMORY_LIMIT_MB;
    this.#host = options.host ?? workerThreadHost;
    this.#forwarder = new PortRequestForwarder(
      options.pluginId,
      (message, transfer) => this.#worker?.postMessage(message, transfer),
      () => this.#alive,
    );
  }

  /** Thread id, heap use and heartbeat lag while the worker runs; null when it is not running. */
  status(): WorkerStatus | null {
    if (!this.#alive || this.#threadId === null) return null;
    return {
      threadId: this.#threadId,
      ...(this.#worker?.pid ? { pid: this.#worker.pid } : {}),
      heapUsedBytes: this.#heapUsedBytes,
      lastHeartbeatLagMs: this.#lagMs,
      memoryLimitMb: this.#memoryLimitMb,
    };
  }

  /** Spawns the worker and imports the plugin in it. Rejects with the load error (phase `load`). */
  async load(signal?: AbortSignal): Promise<WorkerLoadResult> {
    const { folder, manifest } = this.#options;
    // Resolved here, where the manifest schema is loaded anyway: the worker then needs neither it nor zod.
    const entryFile = await resolveEntryModule(folder, manifest);
    const realFolder = await realpath(folder);
    signal?.throwIfAborted();
    this.#spawn(entryFile, realFolder);
    const loaded = new Promise<WorkerLoadResult>((resolve, reject) => {
      this.#load = { resolve: resolve as (value: unknown) => void, reject };
    });
    const { loadTimeoutMs, pluginId } = this.#options;
    if (loadTimeoutMs !== undefined) {
      this.#armLoadTimer(loadTimeoutMs, () =>
        createError("HANGAR_WORKER_BOOT_TIMEOUT", { pluginId, limitMs: loadTimeoutMs }, { phase: "load" }),
      );
      this.#onBooted = () => {
        this.#armLoadTimer(loadTimeoutMs, () => {
          const entry = manifest.background?.entryModule;
          return createError(
            "HANGAR_LOAD_TIMEOUT",
            { pluginId, file: entry ? ` '${entry}'` : "", limitMs: loadTimeoutMs },
            { phase: "load" },
          );
        });
      };
    }
    signal?.addEventListener("abort", () => {
      if (this.#phase === "load") void this.terminate();
    });
    return loaded;
  }

  /**
   * True when the worker has died or is being ended (a crash, a hook's timeout, a stopped plugin's release):
   * the plugin's module is gone, and the plugin machine loads it again before a start (its `needsLoad` guard).
   */
  gone(): boolean {
    return !this.#alive || this.#closing !== null;
  }

  /**
   * Runs a hook in the worker. A worker that died since is spawned (and its plugin imported) afresh; the shell's
   * plugin machine avoids that (it loads a gone worker's plugin in `loading` first), so this is only a fallback.
   */
  async runHook(hook: HookName, context: PluginContext | null, signal?: AbortSignal): Promise<void> {
    // A worker being released (the plugin was stopped) is let go first: a start then gets a fresh one.
    if (this.#closing) await this.#closing;
    if (!this.#alive) {
      // Nothing is running, so there is nothing to stop.
      if (hook === "stop") return;
      await this.load();
    }
    const contextId = context ? this.#bind(context) : 0;
    const id = this.#nextId++;
    this.#phase = hook;
    this.#hookInFlight++;
    const onAbort = () => {
      // The hook outlived its timeout (or the shutdown budget): end the worker, as a busy loop never returns.
      if (this.#pending.has(id)) void this.terminate();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await new Promise((resolve, reject) => {
        this.#pending.set(id, { resolve, reject });
        this.#hooksNotBegun.add(id);
        this.#post({ t: "hook", id, hook, contextId });
      });
    } finally {
      this.#hooksNotBegun.delete(id);
      signal?.removeEventListener("abort", onAbort);
      this.#hookInFlight--;
      if (this.#hookInFlight === 0) this.#phase = "run";
    }
  }

  /**
   * The plugin's module as the shell calls it: each hook runs in the worker. A hook called inside
   * {@link withHookSignal} ends the worker when that signal aborts (the hook's timeout, the shutdown budget).
   * Going through a module (rather than {@link runHook} directly) lets hangar/testing's `wrapModule` watch an
   * isolated plugin's hooks and context exactly as an in-process one's.
   */
  module(hasOnResume: boolean): PluginBackgroundModule {
    const module: PluginBackgroundModule = {
      onStart: (ctx) => this.runHook("start", ctx, this.#hookSignal),
      onStop: () => this.runHook("stop", null, this.#hookSignal),
    };
    if (hasOnResume) module.onResume = (ctx) => this.runHook("resume", ctx, this.#hookSignal);
    return module;
  }

  /** Calls `call` (which calls one hook of {@link module}, synchronously) with `signal` as that hook's signal. */
  withHookSignal<T>(signal: AbortSignal, call: () => T): T {
    this.#hookSignal = signal;
    try {
      return call();
    } finally {
      this.#hookSignal = undefined;
    }
  }

  /** Pushes the shell's auth token to the worker (SPEC §3: auth is live). */
  setToken(token: string | null): void {
    if (this.#alive) this.#post({ t: "auth", token });
  }

  /**
   * Gives back an idle worker: called when the plugin is `stopped`, so a stopped plugin costs no thread and no
   * memory. Starting it again spawns a new worker and imports the plugin afresh (a new module instance), as a
   * restart after a crash does.
   */
  release(): Promise<void> {
    if (this.#hookInFlight > 0) return Promise.resolve();
    return this.terminate(RELEASE_GRACE_MS);
  }

  /**
   * Ends the worker and forgets everything in flight. Harmless twice. With `graceMs`, the worker first gets that
   * long to dispose its contexts (abort listeners run) and exit; a busy or hung worker is then terminated.
   */
  terminate(graceMs = 0): Promise<void> {
    if (this.#closing) return this.#closing;
    const worker = this.#worker;
    if (!worker || !this.#alive) return Promise.resolve();
    this.#closing = this.#end(worker, graceMs).finally(() => {
      this.#closing = null;
    });
    return this.#closing;
  }

  async #end(worker: Isolate, graceMs: number): Promise<void> {
    this.#ending = true;
    if (graceMs > 0) {
      const exited = this.#exited;
      this.#post({ t: "close" });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    await worker.terminate();
  }

  /** Ties a shell-side context to a worker-side one: the worker's signal aborts when the shell's does. */
  #bind(context: PluginContext): number {
    let contextId = this.#contextIds.get(context);
    if (contextId === undefined) {
      contextId = ++this.#contextId;
      this.#contextIds.set(context, contextId);
      this.#contexts.set(contextId, context);
      const id = contextId;
      context.signal.addEventListener("abort", () => {
        this.#contexts.delete(id);
        this.#retired.set(id, context);
        if (this.#retired.size > RETIRED_CONTEXTS) this.#retired.delete(this.#retired.keys().next().value!);
        if (this.#alive) this.#post({ t: "dispose", contextId: id });
      });
    }
    return contextId;
  }

  #spawn(entryFile: string, folder: string): void {
    const { pluginId, manifest, generation } = this.#options;
    const boot: WorkerBoot = {
      pluginId,
      folder,
      entryFile,
      generation,
      manifest,
      token: this.#options.token(),
      ...(this.#options.ipc.payloads === "json" ? { ipcPayloads: "json" as const } : {}),
      argv: [...process.argv],
    };
    let settleExit = () => {};
    this.#exited = new Promise<void>((resolve) => {
      settleExit = resolve;
    });
    const worker: Isolate = this.#host.spawn({
      boot,
      name: `hangar:${pluginId}`,
      memoryLimitMb: this.#memoryLimitMb,
      onMessage: (message) => this.#receive(message),
      onExit: (exitCode, error) => {
        this.#died(worker, exitCode, error ?? this.#fatal);
        settleExit();
      },
    });
    this.#worker = worker;
    this.#alive = true;
    this.#ending = false;
    this.#fatal = null;
    this.#fatalOrigin = undefined;
    this.#importing = false;
    this.#phase = "load";
    this.#threadId = worker.threadId;
    this.#heapUsedBytes = null;
    this.#lagMs = null;
    this.#startHeartbeat(worker);
  }

  #startHeartbeat(worker: Isolate): void {
    const limit = this.#options.unresponsiveMs;
    const every = Math.max(50, Math.min(1_000, Math.floor(limit / 5)));
    let seq = 0;
    let answered = 0;
    const sentAt = new Map<number, number>();
    let lastTick = performance.now();
    let silentSince: number | null = null;
    let excusedUntil = 0;
    this.#onPong = (message) => {
      answered = Math.max(answered, message.seq);
      const sent = sentAt.get(message.seq);
      if (sent !== undefined) this.#lagMs = Math.round(performance.now() - sent);
      for (const key of sentAt.keys()) if (key <= message.seq) sentAt.delete(key);
      this.#heapUsedBytes = message.heapUsedBytes;
      silentSince = null;
    };
    const tick = () => {
      const now = performance.now();
      // When the shell's own thread was blocked, the answers may be waiting unread: judge on the next tick.
      const shellWasBlocked = now - lastTick > every * 3;
      lastTick = now;
      seq++;
      sentAt.set(seq, now);
      worker.postMessage({ t: "ping", seq });
      // Silence is counted from the first unanswered ping, but never from before the end of an excused stretch.
      if (answered < seq - 1) silentSince ??= Math.max(sentAt.get(answered + 1) ?? now, excusedUntil);
      // Loading is not judged: booting a worker, its TypeScript loader and the plugin's imports keep its thread
      // busy for a while on a loaded machine; the load timeout bounds it, as it does in-process. Nor is hangar
      // importing Express for the plugin's first route.
      if (this.#phase === "load" || this.#importing) {
        silentSince = null;
        excusedUntil = now;
      }
      if (shellWasBlocked || silentSince === null) return;
      const silentMs = Math.round(now - silentSince);
      if (silentMs < limit) return;
      if (this.#nearHeapLimit() && silentMs < limit * NEAR_HEAP_LIMIT_PATIENCE) return;
      this.#unresponsive(worker, silentMs, silentSince);
    };
    this.#heartbeat = setInterval(tick, every);
    this.#heartbeat.unref();
  }

  /** True when the worker's last heartbeat reported a heap use near its limit (see {@link NEAR_HEAP_LIMIT}). */
  #nearHeapLimit(): boolean {
    return (
      this.#heapUsedBytes !== null &&
      this.#heapUsedBytes >= NEAR_HEAP_LIMIT * this.#memoryLimitMb * 1024 * 1024
    );
  }

  #unresponsive(worker: Isolate, silentMs: number, silentSince: number): void {
    const { pluginId, unresponsiveMs } = this.#options;
    const phase = this.#phase;
    // A hook whose message the worker never read did not run: what blocked the worker was already running when
    // the hook was asked (a route or an invoke before onStop, say), and it is what the message names.
    const neverBegan = phase !== "run" && phase !== "load" && this.#hooksNotBegun.size > 0;
    const where =
      phase === "run"
        ? this.#servingWhen(silentSince)
        : neverBegan
          ? `${this.#servingWhen(silentSince)}, so ${hookNames[phase]} never began`
          : `in ${phase === "load" ? "loading" : hookNames[phase]}`;
    const error = createError(
      "HANGAR_PLUGIN_UNRESPONSIVE",
      { pluginId, silentMs, where, phase, limitMs: unresponsiveMs },
      { phase },
    );
    // The hook's failure then reads "could not run onStop", not "failed in onStop" (src/actors/shell/hooks.ts).
    if (neverBegan) Object.assign(error, { hookNeverBegan: true });
    this.#fail(worker, error);
  }

  /**
   * Where a worker that went silent at `since` while running was, as the watchdog's message says it: the HTTP
   * request or IPC invoke it was serving (the oldest one sent before the silence and not answered since), else
   * outside any hook, request and invoke.
   */
  #servingWhen(since: number): string {
    const serving = [
      ...this.#forwarder
        .unansweredSince(since)
        .map(({ label, sentAt }) => ({ what: `serving ${label}`, sentAt })),
      ...[...this.#invokes.values()]
        .filter(({ sentAt }) => sentAt <= since)
        .map(({ channel, sentAt }) => ({ what: `handling invoke '${channel}'`, sentAt })),
    ].sort((a, b) => a.sentAt - b.sentAt);
    if (serving.length === 0) {
      return "while running, outside any hook, request or invoke (in a timer, an event handler or a promise continuation)";
    }
    const others = serving.length - 1;
    return `while ${serving[0]!.what}${others > 0 ? ` (and ${others} more request${others > 1 ? "s or invokes" : " or invoke"} in flight)` : ""}`;
  }

  /** Ends the worker for a fault, and reports it: to the hook waiting on it, or as a crash while running. */
  #fail(worker: Isolate, error: HangarError): void {
    if (this.#worker !== worker || !this.#alive) return;
    this.#ending = true;
    void worker.terminate();
    // Logged once, elsewhere: by onCrash's receiver, or as the failure of the load or hook in flight.
    this.#settleDeath(error, true);
  }

  #died(worker: Isolate, exitCode: number, error: Error | null): void {
    if (this.#worker !== worker) return;
    if (!this.#alive) return;
    if (this.#ending) {
      this.#settleDeath(
        createError("HANGAR_PLUGIN_CRASHED", "workerEnded", { pluginId: this.#options.pluginId }),
        false,
      );
      return;
    }
    const { pluginId } = this.#options;
    const phase = this.#phase;
    const options = { phase, cause: error ?? undefined };
    const errorCode = (error as { code?: string } | null)?.code;
    const crash =
      errorCode === ISOLATE_SIGNAL
        ? createError(
            "HANGAR_PLUGIN_CRASHED",
            "workerSignal",
            { pluginId, phase, signal: String((error as { signal?: unknown }).signal) },
            { phase },
          )
        : errorCode === "ERR_WORKER_OUT_OF_MEMORY"
          ? createError(
              "HANGAR_PLUGIN_CRASHED",
              "workerOutOfMemory",
              { pluginId, phase, limitMb: this.#memoryLimitMb },
              options,
            )
          : error
            ? createError(
                "HANGAR_PLUGIN_CRASHED",
                "workerUncaught",
                {
                  pluginId,
                  phase,
                  cause:
                    this.#fatalOrigin === "unhandledRejection"
                      ? "a promise it did not handle rejected"
                      : "its code threw",
                  reason: messageOf(error).replace(/\.$/, ""),
                },
                options,
              )
            : createError("HANGAR_PLUGIN_CRASHED", "workerExited", { pluginId, phase, exitCode }, options);
    const message = crash.message;
    if (error) crash.stack = `${crash.name}: ${message}\n${error.stack ?? ""}`;
    // Logged once, elsewhere: by onCrash's receiver, or as the failure of the load or hook in flight.
    this.#settleDeath(crash, true);
  }

  /** (Re)starts the load's limit: when it passes with the load still in flight, the worker is ended with `error`. */
  #armLoadTimer(limitMs: number, error: () => HangarError): void {
    this.#clearLoadTimer();
    const worker = this.#worker;
    this.#loadTimer = setTimeout(() => {
      this.#loadTimer = null;
      if (worker && this.#load && this.#phase === "load") this.#fail(worker, error());
    }, limitMs);
    this.#loadTimer.unref();
  }

  #clearLoadTimer(): void {
    if (this.#loadTimer) clearTimeout(this.#loadTimer);
    this.#loadTimer = null;
    this.#onBooted = null;
  }

  /** Whatever waited on the worker gets `error`; a crash outside any hook goes to onCrash. */
  #settleDeath(error: HangarError, report: boolean): void {
    this.#clearLoadTimer();
    const phase = this.#phase;
    this.#alive = false;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    const load = this.#load;
    this.#load = null;
    // Outside any hook (phase `run`) the plugin crashed, even when IPC invokes were waiting on it: they fail too.
    // Reported first, so that requests in flight answer with the state it leads to (`backoff`, `errored`).
    const crashed = report && phase === "run" && !load;
    if (crashed) this.#options.onCrash(error.code, error.message, error);
    this.#forwarder.close((crashed && this.#options.stateAfterCrash?.()) || "errored");
    load?.reject(error);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#invokes.clear();
    this.#hooksNotBegun.clear();
    for (const waiter of pending) waiter.reject(error);
  }

  #post(message: ToWorker): void {
    this.#worker?.postMessage(message);
  }

  #receive(message: FromWorker): void {
    switch (message.t) {
      case "booted":
        this.#onBooted?.();
        return;
      case "loaded": {
        this.#clearLoadTimer();
        this.#phase = "run";
        const load = this.#load;
        this.#load = null;
        load?.resolve({
          hasOnResume: message.hasOnResume,
          entryFile: message.entryFile,
          loadMs: message.loadMs,
        });
        return;
      }
      case "load-failed": {
        this.#clearLoadTimer();
        const load = this.#load;
        this.#load = null;
        // The worker has nothing to run: end it; the load error is what the user sees.
        this.#ending = true;
        void this.#worker?.terminate();
        load?.reject(reviveError(message.error));
        return;
      }
      case "hook-begun":
        this.#hooksNotBegun.delete(message.id);
        return;
      case "hook-done":
      case "invoke-done": {
        const waiter = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        this.#invokes.delete(message.id);
        if (message.ok) waiter?.resolve("value" in message ? message.value : undefined);
        else waiter?.reject(reviveError(message.error));
        return;
      }
      case "log": {
        const data = message.data.map(reviveLogged);
        this.#options.logger[message.level](message.tag, message.message, ...data);
        return;
      }
      case "config":
        this.#config(message.id, message.contextId, message.op, message.args);
        return;
      case "ipc-handle":
        this.#handleIpc(message.contextId, message.channel);
        return;
      case "ipc-send": {
        const context = this.#contexts.get(message.contextId);
        try {
          context?.ipc.send(message.channel, message.payload);
        } catch (error) {
          this.#options.logger.error("ipc", `ipc.send('${message.channel}') failed`, error);
        }
        return;
      }
      case "route": {
        const context = this.#contexts.get(message.contextId);
        if (!context) return;
        try {
          context.server.registerRouter(message.path, this.#forwarder.forwarderFor(message.mountId));
        } catch (error) {
          this.#options.logger.error(
            "hangar",
            `Mounting the plugin's router at '${message.path}' failed`,
            error,
          );
        }
        return;
      }
      case "http-res":
      case "http-next":
      case "http-error":
      case "http-abort":
      case "http-ack":
        this.#forwarder.receive(message);
        return;
      case "pong":
        this.#onPong?.(message);
        return;
      case "importing":
        this.#importing = !message.done;
        return;
      case "late-call":
        this.#options.onLateCall?.(
          this.#contexts.get(message.contextId) ?? this.#retired.get(message.contextId) ?? null,
          message.call,
        );
        return;
      case "leftover-error":
        this.#options.onLeftoverError?.(
          this.#contexts.get(message.contextId) ?? this.#retired.get(message.contextId) ?? null,
          reviveError(message.error),
          message.origin,
        );
        return;
      case "fatal":
        // A worker thread or utility process reports its uncaught error before it exits: the crash names it, and it is ended now.
        this.#fatal = reviveError(message.error);
        this.#fatalOrigin = message.origin;
        void this.#worker?.terminate();
        return;
    }
  }

  #config(id: number, contextId: number, op: ConfigOp, args: unknown[]): void {
    const context = this.#contexts.get(contextId);
    const reply = (result: Promise<unknown>) =>
      result.then(
        (value) => this.#post({ t: "reply", id, ok: true, value }),
        (error: unknown) => this.#post({ t: "reply", id, ok: false, error: serialiseError(error) }),
      );
    if (!context) {
      void reply(
        Promise.reject(
          createError("HANGAR_CONTEXT_DISPOSED", {
            pluginId: this.#options.pluginId,
            call: `config.${op}()`,
          }),
        ),
      );
      return;
    }
    const config = context.config;
    const [key, value] = args as [string, unknown];
    void reply(
      op === "get"
        ? config.get(key, value)
        : op === "set"
          ? config.set(key, value)
          : op === "delete"
            ? config.delete(key)
            : config.getAll(),
    );
  }

  /** The shell's transport gets a forwarder; it goes when the shell's context is disposed. */
  #handleIpc(contextId: number, channel: string): void {
    const context = this.#contexts.get(contextId);
    if (!context) return;
    const full = `plugin:${this.#options.pluginId}:${channel}`;
    try {
      // Through the shell's context: it owns the forwarder (removed when it is disposed), as in-process.
      context.ipc.handle(channel, (payload) => this.#invoke(full, payload));
    } catch (error) {
      this.#options.logger.error("ipc", `Registering the handler for '${channel}' failed`, error);
    }
  }

  #invoke(channel: string, payload: unknown): Promise<unknown> {
    const name = channel.slice(`plugin:${this.#options.pluginId}:`.length);
    if (!this.#alive) {
      return Promise.reject(
        new Error(`Plugin '${this.#options.pluginId}' is not running (its worker ended).`),
      );
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#invokes.set(id, { channel: name, sentAt: performance.now() });
      try {
        this.#post({ t: "invoke", id, channel, payload });
      } catch (error) {
        this.#pending.delete(id);
        this.#invokes.delete(id);
        reject(error);
      }
    });
  }
}

function reviveLogged(value: unknown): unknown {
  if (typeof value === "object" && value !== null && ERROR_MARK in value) {
    return reviveError((value as Record<string, SerialisedError>)[ERROR_MARK]!);
  }
  return value;
}
