// Ties a shell's shutdown to Electron's quit: hold the first quit until every plugin's onStop has run.

import type { Disposable } from "../base/disposable.js";
import { toDisposable } from "../base/disposable.js";
import { clearTimeout, setTimeout } from "../base/timers.js";
import { createError, messageOf } from "../errors.js";
import type { Shell } from "../shell.js";
import type { ElectronApp, ElectronQuitEvent } from "./electron-types.js";

/** Exit codes `attachToElectronApp` passes to `app.exit`. */
export const ElectronExitCodes = {
  /** Every plugin stopped, the server closed and config was flushed. */
  stopped: 0,
  /** Quit was forced (a second quit request while stopping) or shutdown failed or overran: plugins may not have stopped. */
  forced: 1,
} as const;

/** Options of {@link attachToElectronApp}. */
export interface AttachToElectronAppOptions {
  /**
   * How long to wait for `shell.stop()` before exiting anyway (exit code 1). The shell bounds its own
   * shutdown by `timeouts.shutdown`; this is a last guard, so the default is that budget plus 5 s for
   * closing the server and flushing config.
   */
  timeoutMs?: number;
  /** Where the quit sequence reports what it does. Default: `console`. */
  logger?: Pick<Console, "info" | "error">;
}

/** Extra time past the shell's own shutdown budget for the steps after it (server close, config flush). */
const AFTER_BUDGET_MS = 5_000;

/**
 * Stops `shell` when the Electron app quits. On the first `before-quit` the quit is held (prevented
 * once), `shell.stop()` runs every plugin's onStop, and then `app.exit(0)` ends the app. A second quit
 * request while stopping forces `app.exit(1)` at once; shutdown never runs twice. When the shell is
 * already stopped (you called `shell.stop()` yourself, e.g. before `autoUpdater.quitAndInstall()`) or
 * failed to start, the quit goes ahead untouched. Returns a Disposable that removes the listener.
 */
export function attachToElectronApp(
  app: ElectronApp,
  shell: Shell,
  options: AttachToElectronAppOptions = {},
): Disposable {
  if (typeof app?.on !== "function" || typeof app.exit !== "function") {
    throw createError("HANGAR_SHELL_OPTIONS", "electronApp");
  }
  if (typeof shell?.stop !== "function") {
    throw createError("HANGAR_SHELL_OPTIONS", "electronShell");
  }
  if (options.timeoutMs !== undefined && !(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
    throw createError("HANGAR_SHELL_OPTIONS", "electronTimeout", { timeoutMs: options.timeoutMs });
  }
  const logger = options.logger ?? console;
  const timeoutMs = options.timeoutMs ?? shell.actor.getSnapshot().context.shutdownTimeout + AFTER_BUDGET_MS;
  let phase: "idle" | "stopping" | "exited" = "idle";

  const exit = (code: number): void => {
    phase = "exited";
    app.exit(code);
  };

  async function stopThenExit(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const overran = new Promise<"overran">((resolve) => {
      timer = setTimeout(() => resolve("overran"), timeoutMs);
    });
    try {
      const outcome = await Promise.race([shell.stop().then(() => "stopped" as const), overran]);
      if (phase !== "stopping") return; // a second quit already forced the exit
      if (outcome === "overran") {
        logger.error(
          `hangar: shell.stop() did not finish within ${timeoutMs} ms; exiting without waiting any longer. ` +
            "Make onStop settle sooner, or raise timeouts.shutdown.",
        );
        exit(ElectronExitCodes.forced);
        return;
      }
      const shutdown = shell.status().shutdown;
      if (shutdown && !shutdown.clean) {
        logger.error(`hangar: the shutdown was not clean (${shutdown.problem}); exiting with code 1.`);
        exit(ElectronExitCodes.forced);
        return;
      }
      exit(ElectronExitCodes.stopped);
    } catch (error) {
      if (phase !== "stopping") return;
      logger.error(`hangar: shell.stop() failed while quitting: ${messageOf(error)}`);
      exit(ElectronExitCodes.forced);
    } finally {
      clearTimeout(timer);
    }
  }

  const onBeforeQuit = (event: ElectronQuitEvent): void => {
    if (phase === "exited") return;
    if (phase === "stopping") {
      // The user asked twice: do not make them wait for plugins a second time.
      logger.error("hangar: quit requested again while plugins were stopping; exiting without waiting.");
      exit(ElectronExitCodes.forced);
      return;
    }
    const state = shell.status().state;
    if (state === "stopped" || state === "failed") return; // nothing left to stop: let the quit go ahead
    event.preventDefault();
    phase = "stopping";
    logger.info("hangar: stopping plugins before quitting (quit again to force).");
    void stopThenExit();
  };

  app.on("before-quit", onBeforeQuit);
  return toDisposable(() => {
    app.removeListener("before-quit", onBeforeQuit);
  });
}
