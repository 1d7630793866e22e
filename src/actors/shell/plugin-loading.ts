// Imports a plugin's background module for the plugin machine's loadPlugin actor: in the shell's thread, or in
// a worker thread of its own when it runs isolated (docs/isolation.md); module evaluation runs as its own code.
import { markReported, runInScope } from "../../containment/attribution.js";
import { FLOW_CLOSED, openFlow, type ShellContainment } from "../../containment/shell-containment.js";
import type { HangarLogger } from "../../context/logger.js";
import { createError, type ErrorCode, HangarError, hasHangarCode, messageOf } from "../../errors.js";
import type { IpcTransport } from "../../ipc/transport.js";
import type { IsolationHost } from "../../isolation/isolate.js";
import { PluginWorker } from "../../isolation/plugin-worker.js";
import { EMPTY_LIST, type PluginActorInput, type PluginLoadOutput } from "../../machines/plugin.machine.js";
import { readManifest } from "../../manifest/read-manifest.js";
import type { PluginManifest } from "../../manifest/schema.js";
import type { PluginBackgroundModule } from "../../sdk/types.js";
import { type LoadedPlugin, loadPlugin } from "../load-plugin.js";
import { settled, stateOf } from "../plugin-supervisor.js";
import type { PluginRegistry, PluginRuntime } from "./plugin-runtime.js";

/** What loading a plugin needs. */
export interface LoadDeps {
  plugins: PluginRegistry;
  containment: Pick<ShellContainment, "scope" | "lateCall" | "leftoverError">;
  /** Where a plugin runs unless its plugin.json sets `background.isolation`. */
  isolation: "none" | "worker";
  /** How long an isolated plugin's event loop may stay silent, in ms. */
  unresponsiveMs: number;
  ipc: IpcTransport;
  logger: HangarLogger;
  /** The current auth token, which an isolated plugin's worker is given. */
  token(): string | null;
  /** Where isolated plugins run: worker threads unless the host (Electron's utilityProcess) is given. */
  isolationHost?: IsolationHost | undefined;
  /** Test seam: sees each imported module; the one returned is the one the shell calls. */
  wrapModule?: ((pluginId: string, module: PluginBackgroundModule) => PluginBackgroundModule) | undefined;
}

/** The loadPlugin actor: imports plugin `input.pluginId`'s module as its own code, bounded by `signal`. */
export async function loadPluginModule(
  deps: LoadDeps,
  input: PluginActorInput,
  signal: AbortSignal,
): Promise<PluginLoadOutput> {
  const runtime = deps.plugins.runtime(input.pluginId)!;
  // Module evaluation runs as the plugin's code (scope without a context): its top-level timers are its own.
  const flow = openFlow();
  runtime.hook = flow;
  // A new import: an older failure's error must not be logged with this one's (a load timeout has none).
  runtime.lastFailure = undefined;
  try {
    const scope = deps.containment.scope(input.pluginId, input.generation, null, flow);
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
      runInScope(scope, () => loadRuntime(deps, runtime, input.generation, signal)),
      failed,
    ]);
  } catch (error) {
    // An import failure wraps the module's own error: its stack points into the plugin. A plugin.json or entry
    // problem's message names the file, the field and the fix; its cause (a ZodError's issue dump, JSON.parse's
    // SyntaxError, an ENOENT) points nowhere in the plugin's code, so it is not logged as the error.
    const code = hasHangarCode(error) ? error.code : "";
    if (code.startsWith("HANGAR_MANIFEST_") || code.startsWith("HANGAR_ENTRY_"))
      runtime.lastFailure = undefined;
    else runtime.lastFailure = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    throw error;
  } finally {
    flow.close();
    if (runtime.hook === flow) runtime.hook = null;
  }
}

async function loadRuntime(
  deps: LoadDeps,
  runtime: PluginRuntime,
  generation: number,
  signal: AbortSignal,
): Promise<PluginLoadOutput> {
  const { discovered } = runtime;
  // A duplicate id stays an error until the shell restarts: the first folder owns the id.
  if (discovered.error?.code === "HANGAR_MANIFEST_DUPLICATE_ID") throw discovered.error;
  // The first load uses the manifest (and real path) discovery has just read; every later one (an update)
  // reads them again.
  const first = !runtime.loadedOnce && discovered.manifest !== null;
  const manifest = (first ? discovered.manifest : null) ?? (await readManifest(discovered.folder));
  runtime.loadedOnce = true;
  runtime.module = null;
  // A reload replaces the worker: the new generation is imported in a fresh thread.
  await runtime.worker?.terminate();
  runtime.worker = null;
  const isolation = manifest.background?.isolation ?? deps.isolation;
  const loaded =
    isolation === "worker" && manifest.background
      ? await loadIsolated(deps, runtime, manifest, generation, signal)
      : await loadPlugin(discovered.folder, {
          generation,
          manifest,
          ...(first ? { realFolder: discovered.realFolder } : {}),
          warn: (message) => deps.logger.forPlugin(discovered.id).warn("loader", message),
          debug: (message) => deps.logger.forPlugin(discovered.id).debug("loader", message),
        });
  if (loaded.manifest.id !== discovered.id) {
    throw createError(
      "HANGAR_MANIFEST_INVALID",
      "idChanged",
      { pluginId: discovered.id, folder: discovered.folder, newId: loaded.manifest.id },
      { phase: "load" },
    );
  }
  runtime.module =
    loaded.module && deps.wrapModule ? deps.wrapModule(discovered.id, loaded.module) : loaded.module;
  runtime.entryFile = loaded.entryFile;
  const background = loaded.manifest.background;
  return {
    version: loaded.manifest.version,
    name: loaded.manifest.name ?? loaded.manifest.id,
    background: loaded.module !== null,
    dependsOn: loaded.manifest.dependsOn ?? EMPTY_LIST,
    hasOnResume: typeof loaded.module?.onResume === "function",
    timeouts: {
      ...(background?.loadTimeoutMs ? { load: background.loadTimeoutMs } : {}),
      ...(background?.startTimeoutMs ? { start: background.startTimeoutMs } : {}),
      ...(background?.stopTimeoutMs ? { stop: background.stopTimeoutMs } : {}),
      ...(background?.resumeTimeoutMs ? { resume: background.resumeTimeoutMs } : {}),
    },
    ...(background?.restart ? { restart: background.restart } : {}),
    ...(background?.entryModule ? { entry: background.entryModule } : {}),
    ...(runtime.worker ? { isolated: true } : {}),
    loadMs: loaded.loadMs,
  };
}

/**
 * True when plugin `pluginId` loads in a worker of its own (its plugin.json as discovery read it, or the shell's
 * default): its worker's boot and its import then each get the load timeout (PluginWorkerOptions.loadTimeoutMs).
 */
export function loadsIsolated(deps: Pick<LoadDeps, "plugins" | "isolation">, pluginId: string): boolean {
  const runtime = deps.plugins.runtime(pluginId);
  if (!runtime) return false;
  if (runtime.worker) return true;
  const background = runtime.discovered.manifest?.background;
  return background !== undefined && (background.isolation ?? deps.isolation) === "worker";
}

/** Loads a plugin in its own worker thread; its module here is a proxy whose hooks run in the worker. */
async function loadIsolated(
  deps: LoadDeps,
  runtime: PluginRuntime,
  manifest: PluginManifest,
  generation: number,
  signal: AbortSignal,
): Promise<LoadedPlugin> {
  const started = performance.now();
  const pluginId = runtime.discovered.id;
  const worker = new PluginWorker({
    pluginId,
    folder: runtime.discovered.folder,
    manifest,
    generation,
    unresponsiveMs: deps.unresponsiveMs,
    // The limit the plugin machine counts the load against (shell default or plugin.json), for boot and import apart.
    ...loadLimit(deps, pluginId),
    ipc: deps.ipc,
    logger: deps.logger.forPlugin(pluginId),
    token: deps.token,
    ...(deps.isolationHost ? { host: deps.isolationHost } : {}),
    onCrash: (code: ErrorCode, message: string, error: Error) => {
      // A worker can outlive its plugin's actor briefly (a stopped plugin's worker ends with the shell).
      const actor = deps.plugins.get(pluginId);
      // The crash's one record, with the fields of every failure record (docs/cli.md) and the worker's stack.
      const state = actor ? stateOf(actor.getSnapshot()) : "running";
      // The plugin's own error when it threw; a hang or an exit has none (the message says which).
      const cause = error.cause instanceof Error ? { err: error.cause } : {};
      deps.logger.shell.error(message, { pluginId, state, phase: "run", code, ...cause });
      // That record says it all: the IPC invokes the crash rejects next are not logged once more each.
      markReported(error);
      runtime.lastFailure = error.cause;
      // Its stack travels with the event: the inspector's errors view shows it (a hang or an exit has none).
      const stack = error.cause instanceof Error ? error.cause.stack : undefined;
      if (actor?.getSnapshot().status === "active")
        actor.send({ type: "CRASH", code, message, ...(stack ? { stack } : {}) });
    },
    onLateCall: (context, call) => {
      const error = createError("HANGAR_CONTEXT_DISPOSED", { pluginId, call });
      deps.containment.lateCall(pluginId, context ?? {}, call, error);
    },
    onLeftoverError: (context, error, origin) =>
      deps.containment.leftoverError(pluginId, context ?? {}, error, origin),
    // After a crash the plugin runs onStop (at once: its worker is gone), then settles in backoff or errored.
    stateAfterCrash: async () => {
      const actor = deps.plugins.get(pluginId);
      if (!actor) return "errored";
      const after = await settled(actor, (snapshot) => stateOf(snapshot) !== "stopping", {
        timeout: 1_000,
      });
      return stateOf(after);
    },
  });
  runtime.worker = worker;
  const result = await worker.load(signal);
  const module = worker.module(result.hasOnResume);
  return { manifest, module, entryFile: result.entryFile, loadMs: performance.now() - started };
}

function loadLimit(deps: LoadDeps, pluginId: string): { loadTimeoutMs?: number } {
  const limit = deps.plugins.get(pluginId)?.getSnapshot().context.timeouts.load;
  return limit === undefined ? {} : { loadTimeoutMs: limit };
}
