// The shell's public methods (SPEC §5): each sends the shell actor an event and waits, with XState's waitFor,
// for the state that answers it; manual control of one plugin goes to the supervisor.
import type { Actor } from "xstate";
import type { AsyncDisposableStore } from "../../base/disposable.js";
import type { SecretRegistry } from "../../base/redact.js";
import { prototypeThenWarning, removePrototypeThen } from "../../containment/prototype-then.js";
import type { ShellContainment } from "../../containment/shell-containment.js";
import { createError, HangarError } from "../../errors.js";
import type { shellMachine } from "../../machines/shell.machine.js";
import type { PluginView } from "../../server/plugin-view.js";
import type { PluginStatus, ShellState, ShellStatus } from "../../status.js";
import { settled, statusOf } from "../plugin-supervisor.js";
import type { PluginRegistry } from "./plugin-runtime.js";

/** What the shell's methods reach. */
export interface ShellControlDeps {
  actor: Actor<typeof shellMachine>;
  plugins: PluginRegistry;
  containment: Pick<ShellContainment, "install" | "markStopped" | "unattributedFailure">;
  /** Whether to install the process-level handlers while the shell runs (createShell's option). */
  containProcessErrors: boolean;
  resources: AsyncDisposableStore;
  /** The whole shutdown's budget, in ms. */
  shutdownTimeout: number;
  secrets: Pick<SecretRegistry, "redact">;
  logger: { flush(): void; shell: { warn(message: string, data?: Record<string, unknown>): void } };
  setToken(token: string | null): void;
  authenticated(): boolean;
  view: Pick<PluginView, "list">;
  /** The HTTP server's base URL (null until listening). */
  serverUrl(): string | null;
  /** The inspector page's URL for a server URL; null when the shell serves no inspector. */
  inspectorUrl: ((serverUrl: string | null) => string | null) | null;
  /** Whether the shell page is served. Its URL in status() never carries the session token (docs/server.md). */
  shellPage: boolean;
  /** Why the shutdown was not clean (budget overrun); null while clean. */
  shutdownProblem(): string | null;
}

/** The shell's state as SPEC §5 names it: the top-level state of the shell machine. */
export function topState(value: unknown): ShellState {
  return (typeof value === "string" ? value : Object.keys(value as object)[0]) as ShellState;
}

function isFinal(state: ShellState): boolean {
  return state === "stopped" || state === "failed" || state === "shuttingDown";
}

/** The methods of `Shell` (src/shell.ts), over the shell actor. */
export function createShellControl(deps: ShellControlDeps) {
  const { actor, plugins, containment, resources } = deps;
  let actorStarted = false;
  let startPromise: Promise<void> | null = null;
  let stopPromise: Promise<void> | null = null;

  function ensureActorStarted(): void {
    if (actorStarted) return;
    actorStarted = true;
    if (deps.containProcessErrors) containment.install();
    // Once the shell has stopped (or failed), the process handlers go and late calls are ignored.
    const ended = (snapshot: { value: unknown; status: string }) =>
      snapshot.status !== "active" || ["stopped", "failed"].includes(topState(snapshot.value));
    const subscription = actor.subscribe({
      next: (snapshot) => {
        if (ended(snapshot)) {
          containment.markStopped();
          subscription.unsubscribe();
        }
      },
      error: () => containment.markStopped(),
      complete: () => containment.markStopped(),
    });
    actor.start();
  }

  /** Resolves with the shell's state once `predicate` holds for it, or once the shell actor has ended. */
  async function untilShell(predicate: (state: ShellState) => boolean): Promise<ShellState> {
    return topState((await settled(actor, (snapshot) => predicate(topState(snapshot.value)))).value);
  }

  /** Runs a manual control of one plugin (restart/stop/start) once the id and the shell state allow it. */
  async function controlPlugin(
    method: "restartPlugin" | "stopPlugin" | "startPlugin",
    id: string,
    run: () => Promise<void>,
  ): Promise<PluginStatus> {
    const state = topState(actor.getSnapshot().value);
    if (state !== "running") {
      throw createError("HANGAR_SHELL_STATE", "pluginControl", { method, pluginId: id, state });
    }
    const plugin = plugins.get(id);
    if (!plugin) {
      const known = plugins.ids().join(", ") || "none";
      throw createError("HANGAR_PLUGIN_UNKNOWN", "shell", { pluginId: id, known });
    }
    await run();
    return statusOf(plugin.getSnapshot());
  }

  function failureOf(): HangarError {
    const failure = actor.getSnapshot().context.failure;
    if (failure) return new HangarError(failure.code, deps.secrets.redact(failure.message));
    return createError("HANGAR_INTERNAL", "shellActorStopped");
  }

  /**
   * The page's address, without the session token: status() is what apps ship to telemetry and CI logs, so no
   * token appears in it (docs/server.md, "Where the token appears"). Whoever set server.token adds `#token=…`.
   */
  function shellPageUrl(): string | null {
    const base = deps.serverUrl();
    return base === null ? null : `${base}/`;
  }

  const control = {
    /** True once shell.stop() was called. */
    stopping: () => stopPromise !== null,

    start(): Promise<void> {
      if (!startPromise) {
        if (stopPromise) {
          return Promise.reject(createError("HANGAR_SHELL_STATE", "startAfterStop"));
        }
        startPromise = (async () => {
          ensureActorStarted();
          actor.send({ type: "START" });
          const state = await untilShell((s) => s === "running" || isFinal(s));
          // Only a shell failure rejects; a stop during start-up simply ends it (SPEC §5).
          if (state === "failed" || actor.getSnapshot().context.failure) {
            // The port and the data folder are free again when start() rejects: a new shell can take them.
            await resources.dispose(deps.shutdownTimeout);
            throw failureOf();
          }
        })();
      }
      return startPromise;
    },

    stop(): Promise<void> {
      if (!stopPromise) {
        // Before anything awaits: a plugin's Object.prototype.then would hijack every promise of the shutdown.
        const patched = removePrototypeThen();
        if (patched) deps.logger.shell.warn(prototypeThenWarning(patched));
        stopPromise = (async () => {
          ensureActorStarted();
          // Start-up waits for imports; one that never settles must not hold the shutdown (SPEC §4).
          plugins.beginShutdown();
          if (actor.getSnapshot().status === "active") actor.send({ type: "STOP" });
          await untilShell((s) => s === "stopped" || s === "failed");
          // `stopped` is not final for a plugin (startPlugin may leave it): end every actor now, so no
          // timer of theirs (a restart window's expiry) outlives the shell. Their snapshots stay readable.
          plugins.releaseAll();
          // Whatever way the shell ended (stopped, failed start-up, forced release), nothing it opened stays open.
          await resources.dispose(deps.shutdownTimeout);
          deps.logger.flush();
        })();
      }
      return stopPromise;
    },

    async update(request: { changed?: string[] } = {}): Promise<void> {
      const changed = request.changed ?? [];
      const before = topState(actor.getSnapshot().value);
      if (!["booting", "starting", "running", "updating"].includes(before)) {
        throw createError("HANGAR_SHELL_STATE", "update", { state: before });
      }
      actor.send({ type: "UPDATE", changed });
      // The update (queued or merged with others) is done when the shell is back in `running` with none pending.
      const state = await untilShell(
        (s) => (s === "running" && actor.getSnapshot().context.pendingUpdate === null) || isFinal(s),
      );
      if (state !== "running") {
        throw createError("HANGAR_SHELL_STATE", "updateDropped", { state });
      }
    },

    status(): ShellStatus {
      const state = topState(actor.getSnapshot().value);
      const problem = deps.shutdownProblem() ?? containment.unattributedFailure;
      const serverUrl = deps.serverUrl();
      return {
        state,
        ...(state === "stopped" || state === "failed"
          ? { shutdown: problem ? { clean: false, problem } : { clean: true } }
          : {}),
        plugins: deps.view.list(),
        server: { url: serverUrl },
        ...(deps.inspectorUrl ? { inspector: { url: deps.inspectorUrl(serverUrl) } } : {}),
        ...(deps.shellPage ? { shellPage: { url: shellPageUrl() } } : {}),
      };
    },

    setAuth({ token }: { token: string | null }): void {
      deps.setToken(token);
      if (actor.getSnapshot().status === "active") {
        actor.send({ type: "AUTH.CHANGED", authenticated: deps.authenticated() });
      }
    },

    clearAuth(): void {
      control.setAuth({ token: null });
    },

    restartPlugin: (id: string) => controlPlugin("restartPlugin", id, () => plugins.restartOne(id)),
    stopPlugin: (id: string) => controlPlugin("stopPlugin", id, () => plugins.stopWithDependents(id)),
    startPlugin: (id: string) => controlPlugin("startPlugin", id, () => plugins.startWithDependencies(id)),
  };
  return control;
}
