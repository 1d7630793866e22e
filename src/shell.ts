// The composition root: createShell wires the pure machines to the actors and services that do the I/O.
import { createActor, type InspectionEvent, type Observer } from "xstate";
import { PluginSupervisor } from "./actors/plugin-supervisor.js";
import { providePluginMachine } from "./actors/shell/plugin-actors.js";
import { type PluginRegistry, workerStatuses } from "./actors/shell/plugin-runtime.js";
import { createPluginView } from "./actors/shell/plugin-view.js";
import { createShellControl, topState } from "./actors/shell/shell-control.js";
import { provideShellMachine } from "./actors/shell/shell-steps.js";
import { realClock } from "./base/timers.js";
import { runInScope } from "./containment/attribution.js";
import { ShellContainment } from "./containment/shell-containment.js";
import type { ConfigBackend } from "./context/config-backend.js";
import type { LogOptions } from "./context/logger.js";
import { createShellServices } from "./context/shell-services.js";
import { messageOf } from "./errors.js";
import { createInspector, type InspectorOptions } from "./inspector/inspector.js";
import { combineObservers } from "./inspector/recorder.js";
import type { IpcTransport } from "./ipc/transport.js";
import type { WebSocketIpc } from "./ipc/websocket.js";
import type { IsolationHost } from "./isolation/isolate.js";
import type { PluginTimeouts } from "./machines/plugin.machine.js";
import type { shellMachine } from "./machines/shell.machine.js";
import { createShellApp } from "./server/app.js";
import { createHttpServer } from "./server/http-server.js";
import { createOriginPolicy } from "./server/origin-policy.js";
import { RouteTable } from "./server/route-table.js";
import { parseShellOptions } from "./shell-options.js";
import { createShellPageRouter } from "./shell-page/routes.js";
import type { PluginStatus, ShellStatus } from "./status.js";
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
  /**
   * Where isolated plugins run: by default each in a Node worker thread; in Electron, `utilityProcessHost(
   * utilityProcess)` from hangar/electron runs each in a utility process instead; headless, `childProcessHost()`
   * runs each in a forked Node process, where even an out-of-heap abort ends only that plugin (docs/isolation.md).
   */
  isolationHost?: IsolationHost;
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

export function createShell(options: ShellOptions = {}): Shell {
  const settings = parseShellOptions(options);
  // Test-only seams (hangar/testing, race tests): a clock, a planted bug, a module observer. Empty in production.
  const testHooks = testHooksOf(options);
  const services = createShellServices({
    serverToken: settings.server.token,
    log: settings.log,
    ipc: options.ipc,
    config: options.config,
    dataDir: settings.dataDir,
    isKnownPlugin: (id) => plugins.get(id) !== undefined,
    onConfigWarning: (id, message) => plugins.get(id)?.send({ type: "WARN", message }),
  });
  const { auth, secrets, logger, log, ipc } = services;
  const routes = new RouteTable();
  // The one registry of plugins: each one's actor and what the shell keeps beside it.
  const plugins: PluginRegistry = new PluginSupervisor(log, {
    // A stopped isolated plugin gives its worker back; starting it again spawns a fresh one (docs/isolation.md).
    stopped: (runtime) => void runtime.worker?.release(),
  });
  const containment = new ShellContainment({
    pluginLogger: (id) => logger.forPlugin(id),
    shellLogger: log,
    actor: (id) => plugins.get(id),
    current: (id) => plugins.runtime(id),
    stop: () => shell.stop(),
    noteFailure: (id, error) => {
      const runtime = plugins.runtime(id);
      if (runtime) runtime.lastFailure = error;
    },
  });
  /** Why the shutdown was not clean (budget overrun); null while clean. */
  let shutdownProblem: string | null = null;
  // Isolated plugins see auth changes as in-process ones do: pushed to every worker.
  auth.onChange((token) => {
    for (const runtime of plugins.runtimes()) runtime.worker?.setToken(token);
  });

  const view = createPluginView({
    plugins,
    secrets,
    shellState: () => topState(shellActor.getSnapshot().value),
    restart: (id) => shell.restartPlugin(id),
  });
  // One Host/Origin policy for HTTP and for a transport served on this server (the WebSocket bridge).
  const { allowedOrigins, token, bodyLimit } = settings.server;
  const originPolicy = createOriginPolicy({ port: () => httpServer.port(), allowedOrigins });
  const update = (changed: string[]) => shell.update({ changed });
  const inspector = options.inspector
    ? createInspector(options.inspector, {
        secrets: secrets.list,
        update,
        logger: log,
        workers: () => workerStatuses(plugins),
      })
    : null;
  const inspect = combineObservers(options.inspect, inspector?.observer);
  const shellPage = options.shellPage
    ? createShellPageRouter({
        plugins: () =>
          plugins.runtimes().map(({ discovered: { id, folder, manifest } }) => ({
            id,
            folder,
            ui: (manifest as { ui?: unknown } | null)?.ui,
          })),
      })
    : null;
  const app = createShellApp({
    port: () => httpServer.port(),
    ...{ allowedOrigins, originPolicy, token, bodyLimit, routes, update },
    plugins: view,
    pluginLogger: (id) => logger.forPlugin(id),
    shellLogger: log,
    enterPlugin: (pluginId, flow, request) => {
      const scope = plugins.runtime(pluginId)?.scope;
      if (scope) runInScope({ ...scope, flow }, () => request.run());
      else request.run();
    },
    extraRoutes: [inspector?.router, shellPage].filter((router) => router != null),
  });
  const httpServer = createHttpServer(app, { host: settings.server.host, port: settings.server.port });

  // What the machines' implementations share; each takes the part it needs.
  const host = { ...services, plugins, containment, routes, originPolicy, token, httpServer, inspect };
  const pluginMachine = providePluginMachine({
    ...host,
    auth: auth.accessor,
    isolation: settings.isolation,
    unresponsiveMs: settings.unresponsiveTimeout,
    token: () => auth.token(),
    wrapModule: testHooks.wrapModule,
    isolationHost: settings.isolationHost,
  });
  const bridge = ipc as IpcTransport & Partial<WebSocketIpc>;
  const shellActor = createActor(
    provideShellMachine({
      ...host,
      machine: testHooks.pluginMachine?.(pluginMachine) ?? pluginMachine,
      timeouts: settings.pluginTimeouts,
      clockFor: (id) => testHooks.pluginClock?.(id) ?? testHooks.clock ?? realClock,
      stopping: () => control.stopping(),
      pluginFolders: settings.plugins,
      isolation: settings.isolation,
      authProvider: settings.auth,
      authenticated: () => auth.token() !== null,
      dataDir: options.config ? null : settings.dataDir,
      closeGraceMs: settings.closeGraceMs,
      shutdownTimeout: settings.shutdownTimeout,
      bridge: typeof bridge.attach === "function" ? (bridge as WebSocketIpc) : null,
      closeInspectorFeeds: inspector ? () => inspector.closeFeeds() : null,
      noteShutdownProblem: (problem) => {
        shutdownProblem ??= problem;
      },
    }),
    {
      id: "shell",
      input: { timeouts: { auth: settings.authTimeout, shutdown: settings.shutdownTimeout } },
      ...(inspect ? { inspect } : {}),
      // Not the global setTimeout, which an in-process plugin may have replaced (src/base/timers.ts).
      clock: testHooks.clock ?? realClock,
    },
  );
  // An error subscriber keeps a defect from being rethrown as an uncaughtException (it would kill Electron main).
  shellActor.subscribe({
    // However the shell ends (stopped before it started, failed to listen), its UI channels go with it.
    next: (snapshot) => {
      if (["stopped", "failed"].includes(topState(snapshot.value))) services.uiChannels.dispose();
    },
    error: (error) =>
      log.error(`hangar shell actor failed: ${messageOf(error)}`, { code: "HANGAR_INTERNAL" }),
  });
  const control = createShellControl({
    ...host,
    actor: shellActor,
    containProcessErrors: settings.containProcessErrors,
    shutdownTimeout: settings.shutdownTimeout,
    authenticated: () => auth.token() !== null,
    view,
    serverUrl: () => httpServer.url(),
    inspectorUrl: inspector ? (url) => inspector.pageUrl(url) : null,
    shellPage: shellPage !== null,
    shutdownProblem: () => shutdownProblem,
  });
  const { stopping: _stopping, ...methods } = control;
  const shell: Shell = { actor: shellActor, ...methods };
  return shell;
}
