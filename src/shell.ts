// The composition root: createShell wires the pure machines to the actors and services that do the I/O.
import { realpathSync } from "node:fs";
import path from "node:path";
import { createActor, fromPromise, type InspectionEvent, type Observer } from "xstate";
import { Fleet, isBusy, stateOf as pluginStateOf, statusOf, untilSnapshot } from "./actors/fleet.js";
import { type LoadedPlugin, loadPlugin } from "./actors/load-plugin.js";
import { AsyncDisposableStore } from "./base/disposable.js";
import { createSecretRegistry } from "./base/redact.js";
import { type PluginScope, registerPluginFolder, runInScope } from "./containment/attribution.js";
import { FLOW_CLOSED, type OpenFlow, openFlow, ShellContainment } from "./containment/shell-containment.js";
import { createAuthState } from "./context/auth-state.js";
import type { ConfigBackend } from "./context/config-backend.js";
import { createConfigFeed } from "./context/config-feed.js";
import { createFileConfigBackend } from "./context/config-file.js";
import { leaseConfigWriter } from "./context/config-writer.js";
import { lockDataDir } from "./context/data-dir-lock.js";
import { createLogger, type HangarLogger, type LogOptions } from "./context/logger.js";
import { createPluginContext, type PluginContextHandle } from "./context/plugin-context.js";
import { registerUiChannels } from "./context/ui-channels.js";
import { createError, errorMessage, HangarError, hasHangarCode, messageOf, phaseCodes } from "./errors.js";
import { createInspector, type InspectorOptions } from "./inspector/inspector.js";
import { combineObservers } from "./inspector/recorder.js";
import { createMemoryIpc } from "./ipc/memory.js";
import type { IpcTransport } from "./ipc/transport.js";
import { configEventChannel } from "./ipc/ui-protocol.js";
import type { WebSocketIpc } from "./ipc/websocket.js";
import { PluginWorker } from "./isolation/plugin-worker.js";
import {
  type PluginActorInput,
  type PluginLoadOutput,
  type PluginRunOutput,
  type PluginTimeouts,
  pluginMachine,
} from "./machines/plugin.machine.js";
import { shellMachine } from "./machines/shell.machine.js";
import { type DiscoveredPlugin, discoverPlugins, listPluginFolders } from "./manifest/discover.js";
import { readManifest } from "./manifest/read-manifest.js";
import type { PluginManifest } from "./manifest/schema.js";
import { manifestWarnings } from "./manifest/schema.js";
import type { PluginBackgroundModule } from "./sdk/types.js";
import { createShellApp } from "./server/app.js";
import { createHttpServer } from "./server/http-server.js";
import { createOriginPolicy } from "./server/origin-policy.js";
import type { PluginView } from "./server/plugin-view.js";
import { RouteTable } from "./server/route-table.js";
import { parseShellOptions } from "./shell-options.js";
import { createShellPageRouter } from "./shell-page/routes.js";
import type { PluginStatus, ShellState, ShellStatus } from "./status.js";
import { testHooksOf } from "./testing/shell-hooks.js";

/** Supplies the shell's initial auth state. Failure or timeout: the shell continues unauthenticated. */
export interface AuthProvider {
  init(): Promise<{ token: string | null }>;
}

/** Options of createShell (SPEC §5). Every field has a default. */
export interface ShellOptions {
  /** Folders holding plugin folders, or plugin folders themselves. Default `["./plugins"]`. */
  plugins?: string[];
  /** Where headless config files live. Default `./.hangar`. */
  dataDir?: string;
  /**
   * Default `{ host: "127.0.0.1", port: 2066, allowedOrigins: [] }`; port 0 picks a free port.
   * `token`: when set, every `/api/*` request must send `Authorization: Bearer <token>` (never logged).
   * `bodyLimit`: largest request body in bytes, default 1 MiB. See docs/server.md.
   */
  server?: { host?: string; port?: number; allowedOrigins?: string[]; token?: string; bodyLimit?: number };
  /** Default: no token. */
  auth?: AuthProvider;
  /** Default: in-memory (createMemoryIpc). */
  ipc?: IpcTransport;
  /** Default: JSON files under `<dataDir>/config`. */
  config?: ConfigBackend;
  /**
   * In ms. Defaults: load 10 000, start 10 000, stop 5 000, resume 10 000, auth 10 000, shutdown 15 000,
   * unresponsive 5 000 (how long an isolated plugin's event loop may stay silent before its worker is ended,
   * docs/isolation.md). plugin.json's `background.loadTimeoutMs`/`startTimeoutMs`/… override them per plugin.
   */
  timeouts?: Partial<PluginTimeouts & { auth: number; shutdown: number; unresponsive: number }>;
  /**
   * Where plugins run unless their plugin.json sets `background.isolation`: `"none"` (default) in the shell's
   * thread, `"worker"` each in its own worker thread with a heap limit and a watchdog (docs/isolation.md).
   */
  isolation?: "none" | "worker";
  /** An XState inspection observer: it sees the shell actor and every plugin actor. */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Serve the offline live inspector at `/_hangar/inspect` (docs/inspector.md). Default: off. */
  inspector?: boolean | InspectorOptions;
  /** Log format, level and destination. Default: human-readable lines on stdout at level info. */
  log?: LogOptions;
  /**
   * Serve the shell page at `/`: every plugin with its live state, and each plugin's `ui.entry` mounted with
   * its provider (docs/ui.md). Plugin UIs reach IPC through a WebSocket bridge, so pass `ipc:
   * createWebSocketIpc()` too. Default: off (`hangar run` turns it on).
   */
  shellPage?: boolean;
  /**
   * Install process-level `uncaughtException`/`unhandledRejection` handlers and a guarded `process.exit`
   * while the shell runs (SPEC §11, docs/lifecycle.md "Containment"). Errors from a plugin's code become that
   * plugin's failure; errors from no plugin keep Node's meaning (logged, graceful shutdown, exit 1) unless
   * the host has listeners of its own, which then decide. Default `true`; `false` for an embedder that owns
   * the process's error handling (hooks, routes and IPC handlers are still contained).
   */
  containProcessErrors?: boolean;
}

/** A running (or runnable) shell. See SPEC §5. */
export interface Shell {
  /** Resolves when every plugin is settled; rejects only on shell failure (e.g. `HANGAR_PORT_IN_USE`). */
  start(): Promise<void>;
  /** Graceful and idempotent: stops plugins (dependents first), closes the server, flushes config. */
  stop(): Promise<void>;
  /** Applies an OTA update; `changed` names plugins whose code changed (they are re-imported). */
  update(options?: { changed?: string[] }): Promise<void>;
  status(): ShellStatus;
  setAuth(auth: { token: string | null }): void;
  clearAuth(): void;
  /**
   * Restarts one plugin (SPEC §11): a running plugin runs onStop, then onStart with a fresh context; an
   * errored, stopped or backing-off plugin starts again at once, its restart count reset. Resolves with its
   * status once it settles (running, or errored with the cause). Rejects with `HANGAR_PLUGIN_UNKNOWN` for
   * an id the shell does not have, `HANGAR_SHELL_STATE` unless the shell is running.
   */
  restartPlugin(id: string): Promise<PluginStatus>;
  /** Stops one plugin, the plugins that depend on it first; it stays `stopped` until started. Errors as restartPlugin. */
  stopPlugin(id: string): Promise<PluginStatus>;
  /**
   * Starts a stopped, loaded or errored plugin, the plugins it depends on first (`HANGAR_DEPENDENCY_FAILED`
   * when one of them does not run). A running plugin is left as it is. Errors as restartPlugin.
   */
  startPlugin(id: string): Promise<PluginStatus>;
  /** The XState root actor of the shell (subscribe, inspect). */
  readonly actor: ReturnType<typeof createActor<typeof shellMachine>>;
}

/** Everything the shell keeps about one plugin outside its machine: functions and handles never go in snapshots. */
interface PluginRuntime {
  discovered: DiscoveredPlugin;
  module: PluginBackgroundModule | null;
  entryFile: string | null;
  context: PluginContextHandle | null;
  /** Whether the module was loaded before (later loads re-read plugin.json). */
  loadedOnce: boolean;
  /** The scope of code run under the live context (null while there is none). */
  scope: PluginScope | null;
  /** The hook (or load) in flight: an error escaping the plugin's code while it runs fails it. */
  hook: OpenFlow | null;
  /** What the plugin's code (or its import) threw in its latest failure: logged with its stack. */
  lastFailure: unknown;
  /** The plugin's worker thread when it runs isolated (docs/isolation.md); null in-process. */
  worker: PluginWorker | null;
}

const hookNames = { start: "onStart", stop: "onStop", resume: "onResume" } as const;

/** How long a plugin worker gets, once the shell is done with it, to run its abort listeners and exit. */
const WORKER_EXIT_GRACE_MS = 250;

export function createShell(options: ShellOptions = {}): Shell {
  const settings = parseShellOptions(options);
  // Test-only seams (hangar/testing, race tests): a clock, a planted bug, a module observer. Empty in production.
  const testHooks = testHooksOf(options);
  const auth = createAuthState(null);
  // Every token held this run (each auth token, current or earlier, and the server's) never leaves the shell:
  // not in a log line, a status, the CLI's output, the inspector or an exported session.
  const secrets = createSecretRegistry([settings.server.token]);
  const setToken = (token: string | null): void => {
    secrets.add(token);
    auth.set(token);
  };
  const logger: HangarLogger = createLogger({ ...settings.log, secrets: secrets.list });
  const log = logger.shell;
  const ipc = options.ipc ?? createMemoryIpc();
  const storedConfig =
    options.config ??
    createFileConfigBackend({
      dataDir: settings.dataDir,
      onWarning: (pluginId, message) => {
        logger.forPlugin(pluginId).warn("config", message);
        fleet.get(pluginId)?.send({ type: "WARN", message });
      },
    });
  // Everything the shell opens (the data-folder lock, the server, the IPC bridge, the inspector's feeds) is
  // released by this one store, newest first, on every way out: shutdown, forced release, failed start-up.
  const resources = new AsyncDisposableStore(({ name, error }) =>
    log.error(`Releasing the shell's ${name} failed: ${messageOf(error)}`, { code: "HANGAR_INTERNAL" }),
  );
  // Every config write, the background's or a UI's, goes through the feed, which tells the plugin's UIs.
  const configFeed = createConfigFeed(storedConfig, {
    publish: (change) => {
      try {
        ipc.send(configEventChannel(change.pluginId), change);
      } catch (error) {
        logger
          .forPlugin(change.pluginId)
          .error("config", "telling the UI about a config change failed", error);
      }
    },
  });
  const config = configFeed.backend;
  const uiChannels = registerUiChannels(ipc, {
    feed: configFeed,
    isKnownPlugin: (id) => fleet.get(id) !== undefined,
    authenticated: () => auth.token() !== null,
    onAuthChange: (listener) => auth.onChange(listener),
  });
  resources.add("UI channels", () => uiChannels.dispose());
  const routes = new RouteTable();
  const runtimes = new Map<string, PluginRuntime>();
  const fleet = new Fleet(log, (id) => runtimes.get(id)?.lastFailure);
  const containment = new ShellContainment({
    pluginLogger: (id) => logger.forPlugin(id),
    shellLogger: log,
    actor: (id) => fleet.get(id),
    current: (id) => {
      const runtime = runtimes.get(id);
      return runtime ? { context: runtime.context, hook: runtime.hook } : undefined;
    },
    stop: () => shell.stop(),
  });
  /** Why the shutdown was not clean (budget overrun, or an error from no plugin); null while clean. */
  let shutdownProblem: string | null = null;

  // Isolated plugins see auth changes as in-process ones do: pushed to every worker.
  auth.onChange((token) => {
    for (const runtime of runtimes.values()) runtime.worker?.setToken(token);
  });
  /**
   * Ends every plugin worker: on stop, forced release and failed start no worker survives the shell. On a graceful
   * stop each gets a moment to run its abort listeners; a hung one is terminated regardless.
   */
  const terminateWorkers = (graceMs = 0) =>
    Promise.all([...runtimes.values()].map((runtime) => runtime.worker?.terminate(graceMs))).then(() => {});
  /** A status with the plugin's worker, when it has a running one. */
  const withWorker = (status: PluginStatus): PluginStatus => {
    const worker = runtimes.get(status.id)?.worker?.status();
    return worker ? { ...status, worker } : status;
  };

  const pluginView: PluginView = {
    shellState: () => topState(shellActor.getSnapshot().value),
    list: () => secrets.redactData(fleet.statuses().map(withWorker)),
    get: (id) => {
      const actor = fleet.get(id);
      return actor ? secrets.redactData(withWorker(statusOf(actor.getSnapshot()))) : undefined;
    },
    restart: async (id) => (fleet.get(id) ? shell.restartPlugin(id) : undefined),
    isBusy: (id) => {
      const actor = fleet.get(id);
      return actor ? isBusy(actor.getSnapshot()) : false;
    },
    stateOf: (id) => {
      const actor = fleet.get(id);
      return actor ? pluginStateOf(actor.getSnapshot()) : undefined;
    },
    async waitUntilSettled(id, timeoutMs) {
      const actor = fleet.get(id);
      if (!actor) return undefined;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([untilSnapshot(actor, (s) => !isBusy(s)), timeout]);
      clearTimeout(timer);
      return secrets.redactData(statusOf(actor.getSnapshot()));
    },
  };

  // One Host/Origin policy for HTTP and for a transport served on this server (the WebSocket bridge).
  const originPolicy = createOriginPolicy({
    port: () => httpServer.port(),
    allowedOrigins: settings.server.allowedOrigins,
  });
  const serverIpc = ipc as IpcTransport & Partial<Pick<WebSocketIpc, "attach" | "close">>;
  const inspector = options.inspector
    ? createInspector(options.inspector, {
        secrets: secrets.list,
        update: (changed) => shell.update({ changed }),
        logger: log,
      })
    : null;
  const inspect = combineObservers(options.inspect, inspector?.observer);
  const app = createShellApp({
    port: () => httpServer.port(),
    allowedOrigins: settings.server.allowedOrigins,
    originPolicy,
    token: settings.server.token,
    bodyLimit: settings.server.bodyLimit,
    plugins: pluginView,
    routes,
    pluginLogger: (id) => logger.forPlugin(id),
    shellLogger: log,
    enterPlugin: (pluginId, flow, fn) => {
      const scope = runtimes.get(pluginId)?.scope;
      if (scope) runInScope({ ...scope, flow }, fn);
      else fn();
    },
    extraRoutes: [
      ...(inspector ? [inspector.router] : []),
      ...(options.shellPage
        ? [
            createShellPageRouter({
              plugins: () =>
                [...runtimes.values()].map(({ discovered }) => ({
                  id: discovered.id,
                  folder: discovered.folder,
                  ui: (discovered.manifest as { ui?: unknown } | null)?.ui,
                })),
            }),
          ]
        : []),
    ],
    update: (changed) => shell.update({ changed }),
  });
  const httpServer = createHttpServer(app, { host: settings.server.host, port: settings.server.port });

  /**
   * Takes the data folder for this shell (HANGAR_DATA_DIR_LOCKED when another shell has it) and the config
   * writer thread; both are released after the last write is flushed.
   */
  async function claimDataDir(): Promise<void> {
    const lock = await lockDataDir(settings.dataDir, {
      onCompromised: (error) =>
        log.error(`The data-folder lock was lost: ${error.message}`, { code: "HANGAR_DATA_DIR_LOCKED" }),
    });
    const endLease = leaseConfigWriter();
    resources.add("data folder", async (signal) => {
      const flushed = config.flush().catch((error: unknown) => {
        log.error(`config flush failed: ${messageOf(error)}`);
      });
      // Out of budget: the writes in flight still land, but the folder is free at once for the next shell.
      if (signal.aborted) void flushed.then(endLease);
      else await flushed.then(endLease);
      await lock.release();
    });
  }

  /** Runs one of a plugin's hooks, turning every failure into a HangarError that names plugin, phase and cause. */
  async function runHook(
    pluginId: string,
    phase: "start" | "stop" | "resume",
    signal: AbortSignal,
  ): Promise<{ startedAt: string; durationMs: number }> {
    const runtime = runtimes.get(pluginId)!;
    const module = runtime.module;
    const hook = hookNames[phase];
    // Let the transition into starting/stopping/resuming be observed (and logged) before the hook runs.
    await Promise.resolve();
    const started = performance.now();
    // The hook runs as the plugin's code: what it schedules inherits the scope, and an error escaping it
    // while the hook is in flight fails the hook (SPEC §11).
    const flow = openFlow();
    runtime.hook = flow;
    try {
      if (!module) throw new Error("the plugin has no background module loaded");
      if (runtime.worker) {
        // Isolated: the signal aborts when the hook times out, and the worker is ended (a busy loop included).
        await runtime.worker.runHook(phase, runtime.context?.context ?? null, signal);
      } else {
        const scope = runtime.scope ?? containment.scope(pluginId, generationOf(pluginId), null);
        const call = (): Promise<void> | void => {
          if (phase === "stop") return module.onStop();
          const context = runtime.context?.context;
          if (!context) throw new Error("no plugin context was created");
          if (phase === "start") return module.onStart(context);
          return module.onResume?.(context);
        };
        await Promise.race([runInScope({ ...scope, flow }, () => Promise.resolve().then(call)), flow.failed]);
      }
    } catch (cause) {
      runtime.lastFailure = cause;
      throw hookFailure(pluginId, phase, hook, runtime.entryFile, cause);
    } finally {
      flow.close();
      if (runtime.hook === flow) runtime.hook = null;
    }
    return { startedAt: new Date().toISOString(), durationMs: Math.round(performance.now() - started) };
  }

  const providedPluginMachine = pluginMachine.provide({
    actors: {
      loadPlugin: fromPromise<PluginLoadOutput, PluginActorInput>(async ({ input, signal }) => {
        const runtime = runtimes.get(input.pluginId)!;
        // Module evaluation runs as the plugin's code (scope without a context): its top-level timers are its own.
        const flow = openFlow();
        runtime.hook = flow;
        try {
          const scope = containment.scope(input.pluginId, input.generation, null, flow);
          const failed = flow.failed.catch((cause: unknown) => {
            // Closed after the import settled: nobody is racing this any more.
            if (cause === FLOW_CLOSED) return undefined as never;
            const error = createError(
              "HANGAR_LOAD_FAILED",
              "evaluation",
              { pluginId: input.pluginId, reason: messageOf(cause) },
              { phase: "load", cause },
            );
            // A coded cause (process.exit refused, say) keeps its code; the sentence says where it happened.
            throw hasHangarCode(cause)
              ? new HangarError(cause.code, error.message, { pluginId: input.pluginId, phase: "load", cause })
              : error;
          });
          return await Promise.race([
            runInScope(scope, () => loadRuntime(runtime, input.generation, signal)),
            failed,
          ]);
        } catch (error) {
          // An import failure wraps the module's own error: its stack points into the plugin.
          runtime.lastFailure = error instanceof Error && error.cause instanceof Error ? error.cause : error;
          throw error;
        } finally {
          flow.close();
          if (runtime.hook === flow) runtime.hook = null;
        }
      }),
      runOnStart: fromPromise<PluginRunOutput, PluginActorInput>(({ input, signal }) =>
        runHook(input.pluginId, "start", signal),
      ),
      runOnResume: fromPromise<PluginRunOutput, PluginActorInput>(({ input, signal }) =>
        runHook(input.pluginId, "resume", signal),
      ),
      runOnStop: fromPromise<{ durationMs: number }, PluginActorInput>(({ input, signal }) =>
        runHook(input.pluginId, "stop", signal),
      ),
    },
    actions: {
      createContext: ({ context }) =>
        guarded(context.pluginId, "createContext", () => openContext(context.pluginId)),
      disposeContext: ({ context, event, self }) =>
        guarded(context.pluginId, "disposeContext", () =>
          // `self` still shows the state being left (which stop, which step), the event what ended it.
          closeContext(
            context.pluginId,
            disposalReason(event.type, JSON.stringify(self.getSnapshot().value), context),
          ),
        ),
    },
  });

  const runnablePluginMachine = testHooks.pluginMachine?.(providedPluginMachine) ?? providedPluginMachine;

  async function loadRuntime(
    runtime: PluginRuntime,
    generation: number,
    signal: AbortSignal,
  ): Promise<PluginLoadOutput> {
    const { discovered } = runtime;
    // A duplicate id stays an error until the shell restarts: the first folder owns the id.
    if (discovered.error?.code === "HANGAR_MANIFEST_DUPLICATE_ID") throw discovered.error;
    // The first load uses the manifest discovery has just read; every later one (an update) reads it again.
    const manifest =
      (runtime.loadedOnce ? null : discovered.manifest) ?? (await readManifest(discovered.folder));
    runtime.loadedOnce = true;
    runtime.module = null;
    // A reload replaces the worker: the new generation is imported in a fresh thread.
    await runtime.worker?.terminate();
    runtime.worker = null;
    const isolation = manifest.background?.isolation ?? settings.isolation;
    const loaded =
      isolation === "worker" && manifest.background
        ? await loadIsolated(runtime, manifest, generation, signal)
        : await loadPlugin(discovered.folder, { generation, manifest });
    if (loaded.manifest.id !== discovered.id) {
      throw createError(
        "HANGAR_MANIFEST_INVALID",
        "idChanged",
        { pluginId: discovered.id, folder: discovered.folder, newId: loaded.manifest.id },
        { phase: "load" },
      );
    }
    runtime.module =
      loaded.module && testHooks.wrapModule
        ? testHooks.wrapModule(discovered.id, loaded.module)
        : loaded.module;
    runtime.entryFile = loaded.entryFile;
    const background = loaded.manifest.background;
    return {
      version: loaded.manifest.version,
      name: loaded.manifest.name ?? loaded.manifest.id,
      background: loaded.module !== null,
      dependsOn: loaded.manifest.dependsOn ?? [],
      hasOnResume: typeof loaded.module?.onResume === "function",
      timeouts: {
        ...(background?.loadTimeoutMs ? { load: background.loadTimeoutMs } : {}),
        ...(background?.startTimeoutMs ? { start: background.startTimeoutMs } : {}),
        ...(background?.stopTimeoutMs ? { stop: background.stopTimeoutMs } : {}),
        ...(background?.resumeTimeoutMs ? { resume: background.resumeTimeoutMs } : {}),
      },
      ...(background?.restart ? { restart: background.restart } : {}),
      ...(background?.entryModule ? { entry: background.entryModule } : {}),
      loadMs: loaded.loadMs,
    };
  }

  /** Loads a plugin in its own worker thread; its module here is a proxy whose hooks run in the worker. */
  async function loadIsolated(
    runtime: PluginRuntime,
    manifest: PluginManifest,
    generation: number,
    signal: AbortSignal,
  ): Promise<LoadedPlugin> {
    const started = performance.now();
    const pluginId = runtime.discovered.id;
    const pluginLogger = logger.forPlugin(pluginId);
    const worker = new PluginWorker({
      pluginId,
      folder: runtime.discovered.folder,
      manifest,
      generation,
      unresponsiveMs: settings.unresponsiveTimeout,
      ipc,
      logger: pluginLogger,
      token: () => auth.token(),
      onCrash: (code, message) => {
        // A worker can outlive its plugin's actor briefly (a stopped plugin's worker ends with the shell).
        const actor = fleet.get(pluginId);
        if (actor?.getSnapshot().status === "active") actor.send({ type: "CRASH", code, message });
      },
    });
    runtime.worker = worker;
    const result = await worker.load(signal);
    const unreachable = () => {
      throw new Error("an isolated plugin's hooks run in its worker");
    };
    const module: PluginBackgroundModule = { onStart: unreachable, onStop: unreachable };
    if (result.hasOnResume) module.onResume = unreachable;
    return { manifest, module, entryFile: result.entryFile, loadMs: performance.now() - started };
  }

  function openContext(pluginId: string): void {
    const runtime = runtimes.get(pluginId)!;
    if (runtime.context) closeContext(pluginId, "a new context replacing it");
    let scope: PluginScope | null = null;
    const handle = createPluginContext({
      pluginId,
      // Made on first use: a plugin that never logs or reads its config holds neither (issue 13).
      logger: () => logger.forPlugin(pluginId),
      config: () => config.store(pluginId),
      ipc,
      auth: auth.accessor,
      routes,
      onDisposeError: (error) =>
        logger.forPlugin(pluginId).error("hangar", "releasing a registration failed", error),
      enter: (flow, fn) => (scope ? runInScope({ ...scope, flow }, fn) : fn()),
      onLateCall: (call, error) => containment.lateCall(pluginId, handle, call, error),
    });
    scope = containment.scope(pluginId, generationOf(pluginId), handle);
    runtime.context = handle;
    runtime.scope = scope;
  }

  function closeContext(pluginId: string, reason: string): void {
    const runtime = runtimes.get(pluginId)!;
    const handle = runtime.context;
    runtime.context = null;
    runtime.scope = null;
    if (handle) containment.noteDisposed(handle, reason);
    handle?.dispose();
  }

  function generationOf(pluginId: string): number {
    return fleet.get(pluginId)?.getSnapshot().context.generation ?? 0;
  }

  /** Actions must never throw: a throwing action would put the actor in error (and reach uncaughtException). */
  function guarded(pluginId: string, what: string, run: () => void): void {
    try {
      run();
    } catch (error) {
      logger.forPlugin(pluginId).error("hangar", `${what} failed`, error);
    }
  }

  function addPlugin(discovered: DiscoveredPlugin, generation = 0): void {
    const background = discovered.manifest?.background;
    const loadTimeout = background?.loadTimeoutMs;
    runtimes.set(discovered.id, {
      discovered,
      module: null,
      entryFile: null,
      context: null,
      loadedOnce: false,
      scope: null,
      hook: null,
      lastFailure: undefined,
      worker: null,
    });
    // Stack attribution for code reached through shared emitters (SPEC §11): the folder, and its real path.
    registerPluginFolder(discovered.folder, containment, discovered.id);
    try {
      // The native realpath is one system call; the JavaScript one lstat()s every path component (issue 13).
      const real = realpathSync.native(discovered.folder);
      if (real !== discovered.folder) registerPluginFolder(real, containment, discovered.id);
    } catch {
      // A folder that vanished has nothing left to attribute.
    }
    const actor = createActor(runnablePluginMachine, {
      id: `plugin:${discovered.id}`,
      input: {
        pluginId: discovered.id,
        // The load timeout applies to the first import already: discovery has read plugin.json.
        timeouts:
          loadTimeout === undefined
            ? settings.pluginTimeouts
            : { ...settings.pluginTimeouts, load: loadTimeout },
        generation,
        ...(background?.entryModule ? { entry: background.entryModule } : {}),
        // A valid plugin.json names the plugin even when its module then fails to import.
        ...(discovered.manifest && !discovered.error
          ? { version: discovered.manifest.version, name: discovered.manifest.name ?? discovered.manifest.id }
          : {}),
      },
      ...(inspect ? { inspect } : {}),
      ...withClock(testHooks.pluginClock?.(discovered.id) ?? testHooks.clock),
    });
    fleet.add(actor);
    actor.start();
    // A misspelt key hangar would otherwise ignore in silence (`dependOn`): in the log and in status.
    for (const warning of discovered.manifest && !discovered.error
      ? manifestWarnings(discovered.manifest)
      : []) {
      logger.forPlugin(discovered.id).warn("manifest", warning);
      actor.send({ type: "WARN", message: warning });
    }
    // Discovered after shell.stop() was called: not worth importing.
    if (stopPromise) actor.send({ type: "STOP" });
  }

  /**
   * An update rescans the plugin folders (SPEC §4): a plugin whose folder is gone is stopped and removed, a new
   * folder is loaded (the update then starts it). A folder whose id is already taken by another folder waits
   * until that one is gone. New plugins are loaded here; the caller starts them.
   */
  async function applyRescan(found: DiscoveredPlugin[], generation: number): Promise<void> {
    const folders = new Set(found.map((plugin) => plugin.folder));
    for (const [id, runtime] of runtimes) {
      if (folders.has(runtime.discovered.folder)) continue;
      await fleet.remove(id);
      closeContext(id, "its folder being removed");
      runtimes.delete(id);
    }
    const known = new Set([...runtimes.values()].map((runtime) => runtime.discovered.folder));
    for (const plugin of found) {
      if (known.has(plugin.folder)) continue;
      if (runtimes.has(plugin.id)) {
        log.warn(
          `found ${plugin.folder}, but its id '${plugin.id}' is taken by ${runtimes.get(plugin.id)!.discovered.folder}; ` +
            "it is loaded once that folder is gone (or give it another id)",
        );
        continue;
      }
      // The update's generation: a folder that comes back at the same path gets a fresh module instance.
      addPlugin(plugin, generation);
    }
    await fleet.loadAll();
  }

  const providedShellMachine = shellMachine.provide({
    actors: {
      initAuth: fromPromise(async ({ signal }) => {
        const result = await settings.auth.init();
        // A provider that answers after the auth timeout is ignored: the shell already went on without it.
        if (!signal.aborted) setToken(result?.token ?? null);
        return { authenticated: auth.token() !== null };
      }),
      // Claims the data folder first (so the lock is released last), then listens.
      listen: fromPromise(async () => {
        if (!options.config) await claimDataDir();
        // Released after the server (a request in flight during its close grace is still answered) and before
        // the data folder (the last config write of an isolated plugin's abort listener still lands).
        resources.add("plugin workers", () => terminateWorkers(WORKER_EXIT_GRACE_MS));
        resources.add("HTTP server", (signal) => {
          signal.addEventListener("abort", () => httpServer.forceClose(), { once: true });
          return httpServer.close(settings.closeGraceMs);
        });
        const { url } = await httpServer.listen();
        if (typeof serverIpc.attach === "function") {
          const { isAllowedHost, isAllowedOrigin } = originPolicy;
          const token = settings.server.token;
          serverIpc.attach(httpServer.nodeServer(), { isAllowedHost, isAllowedOrigin, token, logger: log });
          resources.add("WebSocket IPC bridge", () => serverIpc.close?.());
        }
        if (inspector) resources.add("inspector feeds", () => inspector.closeFeeds());
        return { url };
      }),
      loadPlugins: fromPromise(async () => {
        const discovered = await discoverPlugins(settings.plugins);
        for (const plugin of discovered) addPlugin(plugin);
        await fleet.loadAll();
      }),
      startPlugins: fromPromise(({ signal }) => fleet.startAll(signal)),
      updatePlugins: fromPromise<void, { changed: string[]; generation: number }>(
        async ({ input, signal }) => {
          // The folders are read while the known plugins update; what appeared or vanished is applied after.
          const scanning = listPluginFolders(settings.plugins).then(
            (folders) => {
              // Manifests are read only when the set of folders changed: most updates add and remove nothing.
              const known = new Set([...runtimes.values()].map((runtime) => runtime.discovered.folder));
              const same = folders.length === known.size && folders.every((folder) => known.has(folder));
              return same ? null : discoverPlugins(settings.plugins);
            },
            (error: unknown) => {
              log.warn(
                `could not rescan the plugin folders, so none was added or removed: ${messageOf(error)}`,
              );
              return null;
            },
          );
          const known = input.changed.filter((id) => fleet.get(id) !== undefined);
          await fleet.updateAll(known, input.generation, signal);
          const found = await scanning;
          // Shutdown began meanwhile: nothing is added, as any update is dropped then.
          if (found === null || signal.aborted) return;
          await applyRescan(found, input.generation);
          for (const id of input.changed) {
            if (!fleet.get(id)) log.warn(`update names unknown plugin '${id}'; ignored`);
          }
          if (!signal.aborted) await fleet.startAll(signal);
        },
      ),
      stopPlugins: fromPromise(() => fleet.stopAll()),
      // The shutdown's own budget (the machine's `after`) cuts this short through forceRelease.
      closeServer: fromPromise(() => resources.dispose()),
      flushConfig: fromPromise(() => config.flush()),
    },
    actions: {
      reportAuthProblem: (_, params) => log.warn(`${params.code}: ${params.message}`, { code: params.code }),
      reportStepFailure: (_, params) =>
        log.error(`shell step ${params.step} failed: ${messageOf(params.error)}`, {
          code: "HANGAR_INTERNAL",
        }),
      forceRelease: () => {
        const message = errorMessage("HANGAR_SHUTDOWN_TIMEOUT", { budgetMs: settings.shutdownTimeout });
        log.error(`HANGAR_SHUTDOWN_TIMEOUT: ${message}`, { code: "HANGAR_SHUTDOWN_TIMEOUT" });
        shutdownProblem ??= `the whole shutdown exceeded its budget of ${settings.shutdownTimeout} ms`;
        fleet.forceStop(message);
        void terminateWorkers();
        void resources.abort();
        void config.flush().catch((error: unknown) => log.error(`config flush failed: ${messageOf(error)}`));
      },
      releasePlugins: () => {
        fleet.releaseAll();
        void terminateWorkers();
      },
      releaseResources: () => void resources.dispose(settings.shutdownTimeout),
    },
  });

  const shellActor = createActor(providedShellMachine, {
    id: "shell",
    input: { timeouts: { auth: settings.authTimeout, shutdown: settings.shutdownTimeout } },
    ...(inspect ? { inspect } : {}),
    ...(testHooks.clock ? { clock: testHooks.clock } : {}),
  });
  // An error subscriber keeps a defect from being rethrown as an uncaughtException (it would kill Electron main).
  shellActor.subscribe({
    // However the shell ends (stopped before it started, failed to listen), its UI channels go with it.
    next: (snapshot) => {
      const state = topState(snapshot.value);
      if (state === "stopped" || state === "failed") uiChannels.dispose();
    },
    error: (error) =>
      log.error(`hangar shell actor failed: ${messageOf(error)}`, { code: "HANGAR_INTERNAL" }),
  });

  let actorStarted = false;
  let startPromise: Promise<void> | null = null;
  let stopPromise: Promise<void> | null = null;

  function ensureActorStarted(): void {
    if (actorStarted) return;
    actorStarted = true;
    if (settings.containProcessErrors) containment.install();
    // Once the shell has stopped (or failed), the process handlers go and late calls are ignored.
    const ended = (snapshot: { value: unknown; status: string }) =>
      snapshot.status !== "active" || ["stopped", "failed"].includes(topState(snapshot.value));
    const subscription = shellActor.subscribe({
      next: (snapshot) => {
        if (ended(snapshot)) {
          containment.markStopped();
          subscription.unsubscribe();
        }
      },
      error: () => containment.markStopped(),
      complete: () => containment.markStopped(),
    });
    shellActor.start();
  }

  function untilShell(predicate: (state: ShellState) => boolean): Promise<ShellState> {
    return new Promise((resolve) => {
      const check = () => {
        const snapshot = shellActor.getSnapshot();
        const state = topState(snapshot.value);
        if (predicate(state) || snapshot.status !== "active") {
          subscription?.unsubscribe();
          resolve(state);
          return true;
        }
        return false;
      };
      let subscription: { unsubscribe(): void } | undefined;
      if (check()) return;
      subscription = shellActor.subscribe({ next: check, error: check, complete: check });
    });
  }

  /** Runs a manual control of one plugin (restart/stop/start) once the id and the shell state allow it. */
  async function controlPlugin(
    method: "restartPlugin" | "stopPlugin" | "startPlugin",
    id: string,
    run: () => Promise<void>,
  ): Promise<PluginStatus> {
    const state = topState(shellActor.getSnapshot().value);
    if (state !== "running") {
      throw createError("HANGAR_SHELL_STATE", "pluginControl", { method, pluginId: id, state });
    }
    const actor = fleet.get(id);
    if (!actor) {
      const known = fleet.ids().join(", ") || "none";
      throw createError("HANGAR_PLUGIN_UNKNOWN", "shell", { pluginId: id, known });
    }
    await run();
    return statusOf(actor.getSnapshot());
  }

  function failureOf(): HangarError {
    const failure = shellActor.getSnapshot().context.failure;
    if (failure) return new HangarError(failure.code, secrets.redact(failure.message));
    return createError("HANGAR_INTERNAL", "shellActorStopped");
  }

  /** The page's address; with a session token, carried in the fragment (never sent to a server). */
  function shellPageUrl(): string | null {
    const base = httpServer.url();
    if (base === null) return null;
    const token = settings.server.token;
    return `${base}/${token ? `#token=${encodeURIComponent(token)}` : ""}`;
  }

  const shell: Shell = {
    actor: shellActor,

    start() {
      if (!startPromise) {
        if (stopPromise) {
          return Promise.reject(createError("HANGAR_SHELL_STATE", "startAfterStop"));
        }
        startPromise = (async () => {
          ensureActorStarted();
          shellActor.send({ type: "START" });
          const state = await untilShell((s) => s === "running" || isFinal(s));
          // Only a shell failure rejects; a stop during start-up simply ends it (SPEC §5).
          if (state === "failed" || shellActor.getSnapshot().context.failure) {
            // The port and the data folder are free again when start() rejects: a new shell can take them.
            await resources.dispose(settings.shutdownTimeout);
            throw failureOf();
          }
        })();
      }
      return startPromise;
    },

    stop() {
      if (!stopPromise) {
        stopPromise = (async () => {
          ensureActorStarted();
          // Booting waits for every import; one that never settles must not hold the shutdown (SPEC §4).
          fleet.beginShutdown();
          if (shellActor.getSnapshot().status === "active") shellActor.send({ type: "STOP" });
          await untilShell((s) => s === "stopped" || s === "failed");
          // `stopped` is not final for a plugin (startPlugin may leave it): end every actor now, so no
          // timer of theirs (a restart window's expiry) outlives the shell. Their snapshots stay readable.
          fleet.releaseAll();
          // Whatever way the shell ended (stopped, failed start-up, forced release), nothing it opened stays open.
          await resources.dispose(settings.shutdownTimeout);
          logger.flush();
        })();
      }
      return stopPromise;
    },

    async update(request = {}) {
      const changed = request.changed ?? [];
      const before = topState(shellActor.getSnapshot().value);
      if (!["booting", "starting", "running", "updating"].includes(before)) {
        throw createError("HANGAR_SHELL_STATE", "update", { state: before });
      }
      shellActor.send({ type: "UPDATE", changed });
      // The update (queued or merged with others) is done when the shell is back in `running` with none pending.
      const state = await untilShell(
        (s) => (s === "running" && shellActor.getSnapshot().context.pendingUpdate === null) || isFinal(s),
      );
      if (state !== "running") {
        throw createError("HANGAR_SHELL_STATE", "updateDropped", { state });
      }
    },

    status() {
      const state = topState(shellActor.getSnapshot().value);
      const problem = shutdownProblem ?? containment.unattributedFailure;
      return {
        state,
        ...(state === "stopped" || state === "failed"
          ? { shutdown: problem ? { clean: false, problem } : { clean: true } }
          : {}),
        plugins: pluginView.list(),
        server: { url: httpServer.url() },
        ...(inspector ? { inspector: { url: inspector.pageUrl(httpServer.url()) } } : {}),
        ...(options.shellPage ? { shellPage: { url: shellPageUrl() } } : {}),
      };
    },

    setAuth({ token }) {
      setToken(token);
      if (shellActor.getSnapshot().status === "active") {
        shellActor.send({ type: "AUTH.CHANGED", authenticated: auth.token() !== null });
      }
    },

    clearAuth() {
      shell.setAuth({ token: null });
    },

    restartPlugin: (id) => controlPlugin("restartPlugin", id, () => fleet.restartOne(id)),
    stopPlugin: (id) => controlPlugin("stopPlugin", id, () => fleet.stopWithDependents(id)),
    startPlugin: (id) => controlPlugin("startPlugin", id, () => fleet.startWithDependencies(id)),
  };
  return shell;
}

function hookFailure(
  pluginId: string,
  phase: "start" | "stop" | "resume",
  hook: string,
  entryFile: string | null,
  cause: unknown,
): HangarError {
  const where = entryFile ? ` (${path.basename(entryFile)})` : "";
  if (hasHangarCode(cause)) {
    // A coded cause keeps its code and its sentence (which says what to do); only where it happened is added.
    return new HangarError(cause.code, `Plugin '${pluginId}' failed in ${hook}${where}: ${cause.message}`, {
      pluginId,
      phase,
      cause,
    });
  }
  const parts = { pluginId, hook, where, reason: messageOf(cause) };
  return createError(phaseCodes[phase].failed, parts, { phase, cause });
}

function topState(value: unknown): ShellState {
  return (typeof value === "string" ? value : Object.keys(value as object)[0]) as ShellState;
}

function isFinal(state: ShellState): boolean {
  return state === "stopped" || state === "failed" || state === "shuttingDown";
}

function withClock<T>(clock: T | undefined): { clock?: T } {
  return clock ? { clock } : {};
}

/** What disposed a plugin's context, in words that follow "disposed by" in a leftover's warning. */
function disposalReason(eventType: string, leaving: string, context: object): string {
  if (eventType === "UPDATE") return "an update";
  if (eventType === "CRASH") return "a crash";
  if (eventType === "FORCE_STOP") return "the forced shutdown (HANGAR_SHUTDOWN_TIMEOUT)";
  if (eventType.startsWith("xstate.after.")) {
    const phase = ["load", "start", "stop", "resume"].find((p) => eventType.includes(`${p}Timeout`));
    return phase ? `a ${phase} timeout` : "a timeout";
  }
  if (eventType.startsWith("xstate.error.actor")) return "a failed hook";
  // onStop settled: why the plugin was stopping is in the state left (or, in older machines, `afterStop`).
  const { afterStop, stopRequested } = context as { afterStop?: string; stopRequested?: boolean };
  if (stopRequested) return "a stop (shell.stop() or the plugin stopping)";
  if (leaving.includes("afterCrash") || afterStop === "crashed") return "a crash";
  if (leaving.includes("toReload") || afterStop === "reload") return "an update";
  if (leaving.includes("toRestart") || afterStop === "restart") return "an update or restart";
  return "a stop (shell.stop() or the plugin stopping)";
}
