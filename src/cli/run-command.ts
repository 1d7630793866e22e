// `hangar run`: starts a shell on plugin folders, prints a summary, and shuts it down on SIGINT/SIGTERM.
import { createError } from "../errors.js";
import type { LogLevel } from "../index.js";
import { childProcessHost, createShell, createWebSocketIpc } from "../index.js";
import { IPC_PATH } from "../ipc/ws-protocol.js";
import { type ExitCode, ExitCodes, exitCodeOf, type Output } from "./output.js";
import { formatSummary } from "./summary.js";
import { warnAboutUiEntries } from "./ui-warnings.js";
import type { PluginWatcher } from "./watch.js";

/** Options of `hangar run`, as parsed by commander. */
export interface RunOptions {
  port: number;
  host: string;
  dataDir: string;
  json?: boolean;
  /** Serve the live inspector at /_hangar/inspect and print its URL. */
  inspect?: boolean;
  /** The session token every /api request must carry (`server.token`). Default: HANGAR_SERVER_TOKEN. */
  token?: string;
  /** Browser origins allowed besides the server's own (`server.allowedOrigins`). */
  allowOrigin?: string[];
  /** Lowest log level written. Default `info`. */
  logLevel?: LogLevel;
  /** Update a plugin when its files change. */
  watch?: boolean;
  /** Where plugins run unless their plugin.json says otherwise (docs/isolation.md). */
  isolation?: "none" | "worker";
  /** Where isolated plugins run: a worker thread each (default) or a forked Node process each (docs/isolation.md). */
  isolationHost?: "thread" | "process";
}

/** A SIGINT/SIGTERM that bin/hangar.js caught while the CLI was still being imported. */
export interface EarlySignal {
  /** The signal, or null when none came. */
  readonly received: NodeJS.Signals | null;
  /** Removes bin/hangar.js's listeners (the command has its own, or wants Node's default back). */
  release(): void;
}

/**
 * Runs a shell until SIGINT/SIGTERM, then stops it gracefully. Resolves with the exit code; a second
 * signal while stopping exits the process at once with 130. A signal that came while hangar was being
 * imported (`early`) stops it before any plugin is touched, as a clean stop (exit 0).
 */
export async function runCommand(
  dirs: string[],
  options: RunOptions,
  output: Output,
  early: EarlySignal = { received: null, release() {} },
): Promise<ExitCode> {
  if (early.received) {
    const signal = early.received;
    // bin/hangar.js's listeners stay until the process exits: a second signal still forces exit with 130.
    output.event(
      "stopping",
      { signal, startup: true },
      `Received ${signal} while hangar was starting: no plugin was started.`,
    );
    output.event("stopped", { clean: true }, "Stopped.");
    return ExitCodes.ok;
  }
  const token = process.env.HANGAR_AUTH_TOKEN;
  const serverToken = options.token ?? (process.env.HANGAR_SERVER_TOKEN || undefined);
  const shell = createShell({
    // Relative paths are resolved against the working directory by the shell itself.
    plugins: dirs,
    dataDir: options.dataDir,
    server: {
      host: options.host,
      port: options.port,
      allowedOrigins: options.allowOrigin ?? [],
      ...(serverToken ? { token: serverToken } : {}),
    },
    ...(token ? { auth: { init: async () => ({ token }) } } : {}),
    // The WebSocket bridge, so a UI (the shell page, hangar/client) can reach the plugins' IPC channels.
    ipc: createWebSocketIpc(),
    shellPage: true,
    log: {
      format: options.json ? "json" : "pretty",
      level: options.logLevel ?? "info",
      destination: process.stdout,
    },
    // With a session token, only callers that hold it reach /api: the inspector may then act, not only watch.
    ...(options.inspect ? { inspector: { allowActions: serverToken !== undefined } } : {}),
    ...(options.isolation ? { isolation: options.isolation } : {}),
    ...(options.isolationHost === "process" ? { isolationHost: childProcessHost() } : {}),
  });
  let watcher: PluginWatcher | null = null;

  let beginStopping: (stopping: Promise<ExitCode>) => void = () => {};
  const stopped = new Promise<ExitCode>((settle) => {
    beginStopping = settle;
  });
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      output.event("forced", { signal }, `Received ${signal} again: exiting without waiting for plugins.`);
      process.exit(ExitCodes.forced);
    }
    signalled = true;
    output.event(
      "stopping",
      { signal },
      `Received ${signal}: stopping plugins (press Ctrl+C again to force).`,
    );
    beginStopping(
      Promise.resolve(watcher?.close())
        .then(() => shell.stop())
        .then(
          () => {
            // A shutdown that ran out of budget (a plugin released with HANGAR_SHUTDOWN_TIMEOUT) is not clean.
            const shutdown = shell.status().shutdown;
            if (shutdown && !shutdown.clean) {
              output.event(
                "stopped",
                { clean: false, problem: shutdown.problem },
                `Stopped, not cleanly: ${shutdown.problem}.`,
              );
              return ExitCodes.failure;
            }
            output.event("stopped", { clean: true }, "Stopped.");
            return ExitCodes.ok;
          },
          (error: unknown) => {
            output.error(error);
            return ExitCodes.failure;
          },
        ),
    );
  };
  // Installed before start, so that a signal during start-up stops what has started (SPEC §4).
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // While the shell runs, its listening server keeps the event loop alive: the loop empties only when code other
  // than hangar's closed it (in-process, a plugin can reach every handle). Say so and stop, instead of a silent
  // exit 0 (HANGAR_SERVER_CLOSED).
  let serverUrl = "";
  const onLoopEmpty = (): void => {
    if (signalled) return;
    signalled = true;
    output.error(createError("HANGAR_SERVER_CLOSED", { url: serverUrl || "its port" }));
    beginStopping(
      shell.stop().then(
        () => ExitCodes.failure,
        (error: unknown) => {
          output.error(error);
          return ExitCodes.failure;
        },
      ),
    );
  };
  void stopped.then(() => process.off("beforeExit", onLoopEmpty));
  early.release();

  try {
    await shell.start();
  } catch (error) {
    // A start cut short by our own shutdown is not a start failure: report how the shutdown went.
    if (signalled) return stopped;
    output.error(error);
    await shell.stop().catch((stopError: unknown) => output.error(stopError));
    return exitCodeOf(error);
  }
  if (signalled) return stopped;

  if (options.watch) {
    // Loaded only for --watch: chokidar is not on the start-up path of a plain `hangar run`.
    const { watchPlugins } = await import("./watch.js");
    watcher = watchPlugins({
      roots: dirs,
      dataDir: options.dataDir,
      update: async (changed) => {
        output.event(
          "watch",
          { changed },
          `Files changed${changed.length ? ` in ${changed.join(", ")}` : ""}: updating.`,
        );
        await shell.update({ changed });
      },
      uiChanged: (changed) =>
        output.event(
          "watch-ui",
          { changed },
          `UI files changed in ${changed.join(", ")}: the shell page reloads the UI; the background keeps running.`,
        ),
      onError: (error) => output.error(error),
    });
    await watcher.ready;
  }

  const status = shell.status();
  serverUrl = status.server.url ?? "";
  process.on("beforeExit", onLoopEmpty);
  const inspector = status.inspector?.url;
  const shellPage = status.shellPage?.url;
  // The one place a session token is printed: the human line, once, so the page can be opened (as Jupyter prints
  // its URL). The --json summary, like status(), never carries it: it ends up in CI logs and telemetry.
  const shellPageLink =
    shellPage && serverToken ? `${shellPage}#token=${encodeURIComponent(serverToken)}` : shellPage;
  output.event(
    "summary",
    {
      state: status.state,
      url: status.server.url,
      ipc: ipcUrl(status.server.url),
      plugins: status.plugins,
      ...(inspector ? { inspector } : {}),
      ...(shellPage ? { shellPage } : {}),
    },
    `\n${formatSummary(status)}\n\nListening on ${status.server.url} (Ctrl+C to stop)` +
      (shellPageLink ? `\nShell page: ${shellPageLink}` : "") +
      `\nIPC bridge: ${ipcUrl(status.server.url)}` +
      (options.watch ? "\nWatching the plugin folders for changes." : "") +
      (inspector ? `\nInspector: ${inspector}` : ""),
  );
  await warnAboutUiEntries(dirs, output);
  return stopped;
}

/** The WebSocket URL of the IPC bridge on a server at `serverUrl`. */
function ipcUrl(serverUrl: string | null): string | null {
  return serverUrl === null ? null : `${serverUrl.replace(/^http/, "ws")}${IPC_PATH}`;
}
