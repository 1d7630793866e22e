// Creates and disposes each plugin's context for the plugin machine's createContext/disposeContext actions:
// the context lives while the plugin is `active`, and code run under it carries the plugin's scope.
import { type PluginFlow, type PluginScope, runInScope, wasReported } from "../../containment/attribution.js";
import type { ShellContainment } from "../../containment/shell-containment.js";
import type { ConfigBackend } from "../../context/config-backend.js";
import type { HangarLogger } from "../../context/logger.js";
import {
  abortListenerThrew,
  createPluginContext,
  type PluginContextDeps,
  type PluginContextHandle,
} from "../../context/plugin-context.js";
import { errorMessage, type HangarError, messageOf } from "../../errors.js";
import type { IpcTransport } from "../../ipc/transport.js";
import type { PluginAuthAccessor, PluginConfigStore, PluginLogger } from "../../sdk/types.js";
import type { RouteTable } from "../../server/route-table.js";
import { stateOf } from "../plugin-supervisor.js";
import { generationOf, type PluginRegistry, type PluginRuntime } from "./plugin-runtime.js";

/** The services a plugin's context is made of, and where its scope and late calls are reported. */
export interface ContextDeps {
  plugins: PluginRegistry;
  containment: Pick<ShellContainment, "scope" | "lateCall" | "noteDisposed" | "reportLeftovers">;
  logger: HangarLogger;
  config: ConfigBackend;
  ipc: IpcTransport;
  auth: PluginAuthAccessor;
  routes: RouteTable;
}

/** Gives plugin `pluginId` a fresh context (disposing one it still had). */
export function openContext(deps: ContextDeps, pluginId: string): void {
  const runtime = deps.plugins.runtime(pluginId)!;
  if (runtime.context) closeContext(deps, runtime, "a new context replacing it");
  const services = new ShellContextServices(deps, pluginId);
  const handle = createPluginContext(services);
  const scope = deps.containment.scope(pluginId, generationOf(deps.plugins, pluginId), handle);
  services.handle = handle;
  services.scope = scope;
  runtime.context = handle;
  runtime.scope = scope;
}

/**
 * What one plugin's context is built from, as one object whose methods are shared by every plugin (issue 13:
 * heap per idle plugin; seven closures and their scope per plugin before). The logger and the config store
 * are made on first use: a plugin that never logs or reads its config holds neither.
 */
class ShellContextServices implements PluginContextDeps {
  /** The context these services belong to, and the scope code run under it carries (set once both exist). */
  handle: PluginContextHandle | null = null;
  scope: PluginScope | null = null;
  readonly #deps: ContextDeps;

  constructor(
    deps: ContextDeps,
    readonly pluginId: string,
  ) {
    this.#deps = deps;
  }

  // Read through the shared deps, not copied into each plugin's services (issue 13: three slots per plugin).
  get ipc(): IpcTransport {
    return this.#deps.ipc;
  }

  get auth(): PluginAuthAccessor {
    return this.#deps.auth;
  }

  get routes(): RouteTable {
    return this.#deps.routes;
  }

  logger(): PluginLogger {
    return this.#deps.logger.forPlugin(this.pluginId);
  }

  config(): PluginConfigStore {
    return this.#deps.config.store(this.pluginId);
  }

  onDisposeError(error: unknown): void {
    this.logger().error("hangar", "releasing a registration failed", error);
  }

  onAbortListenerError(error: unknown): void {
    this.logger().error("hangar", abortListenerThrew(this.pluginId), error);
  }

  enter<T>(flow: PluginFlow | null, fn: () => T): T {
    return this.scope ? runInScope({ ...this.scope, flow }, fn) : fn();
  }

  onLateCall(call: string, error: HangarError): "throw" | "ignore" {
    return this.#deps.containment.lateCall(this.pluginId, this.handle!, call, error);
  }

  /** One failure record with the fields of every other (docs/cli.md), phase `request` as a route's. */
  onHandlerFailure(channel: string, error: unknown): void {
    // Already reported: an isolated plugin's crash, which rejects every invoke waiting on its worker.
    if (wasReported(error)) return;
    const { pluginId } = this;
    const actor = this.#deps.plugins.get(pluginId);
    this.#deps.logger.shell.error(
      errorMessage("HANGAR_IPC_HANDLER_FAILED", { pluginId, channel, reason: messageOf(error) }),
      {
        pluginId,
        state: actor ? stateOf(actor.getSnapshot()) : "running",
        phase: "request",
        code: "HANGAR_IPC_HANDLER_FAILED",
        err: error,
      },
    );
  }
}

/** Disposes the plugin's context, if it has one; `reason` completes "disposed by" in a leftover's warning. */
export function closeContext(
  deps: Pick<ContextDeps, "containment">,
  runtime: PluginRuntime,
  reason: string,
): void {
  const handle = runtime.context;
  runtime.context = null;
  runtime.scope = null;
  if (handle) {
    deps.containment.noteDisposed(handle, reason);
    // An isolated plugin's worker reports its leftovers by the context object it was handed.
    deps.containment.noteDisposed(handle.context, reason);
  }
  handle?.dispose();
  // In-process only: an isolated plugin's timers live in its worker, which a stopped plugin gives back.
  if (handle && !runtime.worker) deps.containment.reportLeftovers(runtime.discovered.id, handle, reason);
}

/** What disposed a plugin's context, in words that follow "disposed by" in a leftover's warning. */
export function disposalReason(eventType: string, leaving: string, context: object): string {
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
