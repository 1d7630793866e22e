// `hangar run`: starts a shell on plugin folders, prints a summary, and shuts it down on SIGINT/SIGTERM.
import { createShell } from "../index.js";
import { type ExitCode, ExitCodes, exitCodeOf, type Output } from "./output.js";
import { formatSummary } from "./summary.js";

/** Options of `hangar run`, as parsed by commander. */
export interface RunOptions {
  port: number;
  host: string;
  dataDir: string;
  json?: boolean;
  /** Serve the live inspector at /_hangar/inspect and print its URL. */
  inspect?: boolean;
  /** Where plugins run unless their plugin.json says otherwise (docs/isolation.md). */
  isolation?: "none" | "worker";
}

/**
 * Runs a shell until SIGINT/SIGTERM, then stops it gracefully. Resolves with the exit code; a second
 * signal while stopping exits the process at once with 130.
 */
export async function runCommand(dirs: string[], options: RunOptions, output: Output): Promise<ExitCode> {
  const token = process.env.HANGAR_AUTH_TOKEN;
  const shell = createShell({
    // Relative paths are resolved against the working directory by the shell itself.
    plugins: dirs,
    dataDir: options.dataDir,
    server: { host: options.host, port: options.port },
    ...(token ? { auth: { init: async () => ({ token }) } } : {}),
    log: { format: options.json ? "json" : "pretty", level: "info", destination: process.stdout },
    ...(options.inspect ? { inspector: true } : {}),
    ...(options.isolation ? { isolation: options.isolation } : {}),
  });

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
      shell.stop().then(
        () => {
          output.event("stopped", {}, "Stopped.");
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

  const status = shell.status();
  const inspector = status.inspector?.url;
  output.event(
    "summary",
    {
      state: status.state,
      url: status.server.url,
      plugins: status.plugins,
      ...(inspector ? { inspector } : {}),
    },
    `\n${formatSummary(status)}\n\nListening on ${status.server.url} (Ctrl+C to stop)` +
      (inspector ? `\nInspector: ${inspector}` : ""),
  );
  return stopped;
}
