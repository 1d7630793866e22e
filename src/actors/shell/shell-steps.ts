// The shell machine as createShell runs it: its invoked steps (auth, listening, discovery, start-up, updates,
// shutdown) and its actions, given what they need (XState's setup()/.provide(): behaviour as data).
import { fromPromise } from "xstate";
import type { AsyncDisposableStore } from "../../base/disposable.js";
import { runInSlice } from "../../base/time-slice.js";
import type { ConfigBackend } from "../../context/config-backend.js";
import { leaseConfigWriter } from "../../context/config-writer.js";
import { lockDataDir } from "../../context/data-dir-lock.js";
import type { ShellLogger } from "../../context/logger.js";
import { errorMessage, messageOf } from "../../errors.js";
import type { WebSocketIpc } from "../../ipc/websocket.js";
import { shellMachine } from "../../machines/shell.machine.js";
import { discoverPlugins, listPluginFolders } from "../../manifest/discover.js";
import type { ShellHttpServer } from "../../server/http-server.js";
import type { OriginPolicy } from "../../server/origin-policy.js";
import { addPlugin, applyRescan, type PluginFolderDeps, removeVanished } from "./plugin-folders.js";
import { terminateWorkers } from "./plugin-runtime.js";

/** How long a plugin worker gets, once the shell is done with it, to run its abort listeners and exit. */
const WORKER_EXIT_GRACE_MS = 250;

/** What the shell's steps reach. */
export interface ShellStepDeps extends PluginFolderDeps {
  log: ShellLogger;
  /** The folders holding plugin folders (createShell's `plugins`, resolved). */
  pluginFolders: string[];
  authProvider: { init(): Promise<{ token: string | null } | null | undefined> };
  setToken(token: string | null): void;
  authenticated(): boolean;
  /** Everything the shell opens; released newest first on every way out. */
  resources: AsyncDisposableStore;
  config: ConfigBackend;
  /** The data folder the shell locks before listening; null when the host passed its own config backend. */
  dataDir: string | null;
  httpServer: ShellHttpServer;
  /** How long requests in flight get to finish when the server closes, in ms. */
  closeGraceMs: number;
  /** The whole shutdown's budget, in ms. */
  shutdownTimeout: number;
  /** A transport served on the shell's server (the WebSocket bridge), attached once it listens; null: none. */
  bridge: Pick<WebSocketIpc, "attach" | "close"> | null;
  /** The Host/Origin policy of HTTP, applied to the bridge's upgrades too. */
  originPolicy: OriginPolicy;
  /** The session token (`server.token`), or null. */
  token: string | null;
  /** The inspector's live feeds, closed with the server; null without an inspector. */
  closeInspectorFeeds: (() => void) | null;
  /** Records why the shutdown was not clean (status shows it). */
  noteShutdownProblem(problem: string): void;
}

/** The shell machine with createShell's implementations provided. */
export function provideShellMachine(deps: ShellStepDeps): typeof shellMachine {
  const { log, plugins, resources, config } = deps;
  return shellMachine.provide({
    actors: {
      initAuth: fromPromise(async ({ signal }) => {
        const result = await deps.authProvider.init();
        // A provider that answers after the auth timeout is ignored: the shell already went on without it.
        if (!signal.aborted) deps.setToken(result?.token ?? null);
        return { authenticated: deps.authenticated() };
      }),
      listen: fromPromise(() => listen(deps)),
      // Each plugin's import begins here; `startPlugins` starts each one as soon as it (and what it needs) loaded.
      // Each registration (actor created and started, its import begun) is a task of its own in a time slice,
      // in discovery's order, so that a hundred plugins do not hold the thread for one long turn.
      discoverPlugins: fromPromise(async () => {
        const found = await discoverPlugins(deps.pluginFolders);
        await Promise.all(found.map((plugin) => runInSlice(() => addPlugin(deps, plugin))));
      }),
      startPlugins: fromPromise(({ signal }) => plugins.startAll(signal)),
      updatePlugins: fromPromise<void, { changed: string[]; generation: number }>(({ input, signal }) =>
        update(deps, input.changed, input.generation, signal),
      ),
      stopPlugins: fromPromise(() => plugins.stopAll()),
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
        const message = errorMessage("HANGAR_SHUTDOWN_TIMEOUT", { budgetMs: deps.shutdownTimeout });
        log.error(`HANGAR_SHUTDOWN_TIMEOUT: ${message}`, { code: "HANGAR_SHUTDOWN_TIMEOUT" });
        deps.noteShutdownProblem(`the whole shutdown exceeded its budget of ${deps.shutdownTimeout} ms`);
        plugins.forceStop(message);
        void terminateWorkers(plugins);
        void resources.abort();
        void config.flush().catch((error: unknown) => log.error(`config flush failed: ${messageOf(error)}`));
      },
      releasePlugins: () => {
        plugins.releaseAll();
        void terminateWorkers(plugins);
      },
      releaseResources: () => void resources.dispose(deps.shutdownTimeout),
    },
  });
}

/** Claims the data folder first (so that its lock is released last), then listens. */
async function listen(deps: ShellStepDeps): Promise<{ url: string }> {
  const { resources, httpServer } = deps;
  if (deps.dataDir !== null) await claimDataDir(deps, deps.dataDir);
  // Released after the server (a request in flight during its close grace is still answered) and before
  // the data folder (the last config write of an isolated plugin's abort listener still lands).
  resources.add("plugin workers", () => terminateWorkers(deps.plugins, WORKER_EXIT_GRACE_MS));
  resources.add("HTTP server", (signal) => {
    signal.addEventListener("abort", () => httpServer.forceClose(), { once: true });
    return httpServer.close(deps.closeGraceMs);
  });
  const { url } = await httpServer.listen();
  if (deps.bridge) {
    const { bridge, originPolicy, token } = deps;
    const { isAllowedHost, isAllowedOrigin } = originPolicy;
    bridge.attach(httpServer.nodeServer(), { isAllowedHost, isAllowedOrigin, token, logger: deps.log });
    resources.add("WebSocket IPC bridge", () => bridge.close());
  }
  if (deps.closeInspectorFeeds) resources.add("inspector feeds", deps.closeInspectorFeeds);
  return { url };
}

/**
 * Takes the data folder for this shell (HANGAR_DATA_DIR_LOCKED when another shell has it) and the config
 * writer thread; both are released after the last write is flushed.
 */
async function claimDataDir(deps: ShellStepDeps, dataDir: string): Promise<void> {
  const { log, config } = deps;
  const lock = await lockDataDir(dataDir, {
    onCompromised: (error) =>
      log.error(`The data-folder lock was lost: ${error.message}`, { code: "HANGAR_DATA_DIR_LOCKED" }),
  });
  const endLease = leaseConfigWriter();
  deps.resources.add("data folder", async (signal) => {
    const flushed = config.flush().catch((error: unknown) => {
      log.error(`config flush failed: ${messageOf(error)}`);
    });
    // Out of budget: the writes in flight still land, but the folder is free at once for the next shell.
    if (signal.aborted) void flushed.then(endLease);
    else await flushed.then(endLease);
    await lock.release();
  });
}

/**
 * An OTA update (SPEC §4). The folders are listed first (a readdir per path, no manifest read): a plugin whose
 * folder is gone is removed before the others update, so it is not restarted once more on its way out (a folder
 * deleted under `hangar run --watch`). The manifests of new folders are read while the known plugins update; the
 * new plugins are added once read. Each plugin starts as soon as it and what it depends on have loaded.
 */
async function update(
  deps: ShellStepDeps,
  changed: string[],
  generation: number,
  signal: AbortSignal,
): Promise<void> {
  const { plugins, log } = deps;
  const cannotRescan = (error: unknown): null => {
    log.warn(`could not rescan the plugin folders, so none was added or removed: ${messageOf(error)}`);
    return null;
  };
  const folders = await listPluginFolders(deps.pluginFolders).catch(cannotRescan);
  if (folders !== null) await removeVanished(deps, new Set(folders));
  // Manifests are read only when a folder is new: most updates add and remove nothing.
  const knownFolders = new Set(plugins.runtimes().map((runtime) => runtime.discovered.folder));
  const scanning =
    folders === null || folders.every((folder) => knownFolders.has(folder))
      ? Promise.resolve(null)
      : discoverPlugins(deps.pluginFolders).catch(cannotRescan);
  const known = changed.filter((id) => plugins.get(id) !== undefined);
  // Every known plugin is sent its update before anything starts; then each starts as soon as it and what it
  // depends on have loaded, and the new folders are added meanwhile: a re-import that hangs holds up only
  // itself and its dependents, not the other plugins of the update (nor the new ones) for its load timeout.
  await plugins.sendUpdate(known, generation, signal);
  if (signal.aborted) return;
  const adding = scanning.then(async (found) => {
    // Shutdown began meanwhile: nothing is added, as any update is dropped then.
    if (found === null || signal.aborted) return;
    await applyRescan(deps, found, generation);
    for (const id of changed) {
      if (!plugins.get(id)) log.warn(`update names unknown plugin '${id}'; ignored`);
    }
    if (!signal.aborted) await plugins.startAll(signal);
  });
  await Promise.all([plugins.startAll(signal), adding]);
}
