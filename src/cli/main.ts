// The `hangar` command line (bin/hangar.js runs the compiled file): parses arguments and calls the commands.
import { readFileSync } from "node:fs";
// node:timers' own function, not the global one a plugin can patch (as src/base/timers.ts does for the shell).
import { setImmediate } from "node:timers";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { DIAGRAM_FORMATS, type DiagramFormat } from "../graph/diagrams.js";
import { DEFAULT_DIAGRAM_DIR, writeDiagrams } from "../graph/write-diagrams.js";
import { type InitOptions, initCommand } from "./init-command.js";
import { createOutput, type ExitCode, ExitCodes, exitCodeOf, type Output } from "./output.js";
import { type EarlySignal, type RunOptions, runCommand } from "./run-command.js";
import { type UpdateOptions, updateCommand } from "./update-command.js";
import { validateCommand } from "./validate-command.js";

const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new InvalidArgumentError("Give an integer from 0 to 65535 (0 picks a free port).");
  }
  return port;
}

/** Told that `hangar run` is running (`begun`), then that it has started (`started`: its summary is out). */
type RunProgress = (event: "begun" | "started") => void;

/** `output`, telling `run` of the `summary` event: the moment `hangar run` has started. */
function withProgress(output: Output, run: RunProgress): Output {
  return {
    json: output.json,
    event(name, data, text) {
      output.event(name, data, text);
      if (name === "summary") run("started");
    },
    error: (error) => output.error(error),
  };
}

/**
 * The program, with every command's action resolving to its exit code through `settle`; `run` hears how far
 * `hangar run` has come (runCli then writes the code cache once it has started).
 */
function createProgram(settle: (code: ExitCode) => void, early: EarlySignal, run: RunProgress): Command {
  const program = new Command("hangar")
    .description("Runs and checks the background modules of desktop-shell plugins.")
    .version(version)
    // Throw instead of exiting, so usage errors leave with our code 2 rather than commander's 1.
    .exitOverride()
    .showHelpAfterError("(run 'hangar --help' for usage)")
    // `run` takes the early signal over with its own handlers; any other command gets Node's default back,
    // and a signal that came while it was loading ends it now, as it would have then.
    .hook("preAction", (_program, command) => {
      if (command.name() === "run") return;
      early.release();
      if (early.received) process.kill(process.pid, early.received);
    });

  program
    .command("run")
    .description("Start a shell on the plugins, print a summary, and run until SIGINT/SIGTERM.")
    .argument("[dirs...]", "plugin folders, or folders holding plugin folders", ["./plugins"])
    .addOption(new Option("--port <n>", "HTTP port (0 picks a free one)").default(2066).argParser(parsePort))
    .option("--host <h>", "HTTP host to listen on", "127.0.0.1")
    .option("--data-dir <dir>", "where plugin config is kept", "./.hangar")
    .option("--json", "JSON log lines and a JSON summary instead of the table")
    .addOption(
      new Option(
        "--isolation <mode>",
        "where plugins run unless plugin.json says: none (in-process) or worker",
      )
        .choices(["none", "worker"])
        .default("none"),
    )
    .addOption(
      new Option(
        "--isolation-host <host>",
        "where isolated plugins run: thread (a worker thread each) or process (a Node process each)",
      )
        .choices(["thread", "process"])
        .default("thread"),
    )
    .option(
      "--inspect",
      "serve the live inspector at /_hangar/inspect and print its URL (with its session token)",
    )
    .option("--token <t>", "session token every /api request must carry (default: $HANGAR_SERVER_TOKEN)")
    .option(
      "--allow-origin <origin>",
      "a browser origin allowed to call the server (repeatable)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .addOption(
      new Option("--log-level <level>", "lowest log level shown").choices(LOG_LEVELS).default("info"),
    )
    .option("--watch", "update a plugin when its files change (new and removed plugin folders too)")
    .addHelpText(
      "after",
      "\nHANGAR_AUTH_TOKEN, when set, is the auth token plugins see. HANGAR_SERVER_TOKEN is --token's default.",
    )
    .action(async (dirs: string[], options: RunOptions) => {
      run("begun");
      settle(await runCommand(dirs, options, withProgress(createOutput(options.json === true), run), early));
    });

  program
    .command("validate")
    .description("Check plugin manifests and module contracts without starting them.")
    .argument("[dirs...]", "plugin folders, or folders holding plugin folders", ["./plugins"])
    .option("--json", "print the results as JSON")
    .action(async (dirs: string[], options: { json?: boolean }) => {
      settle(await validateCommand(dirs, createOutput(options.json === true)));
    });

  program
    .command("update")
    .description("Ask a running shell for an OTA update; the named plugins are re-imported.")
    .argument("[ids...]", "plugins whose code changed")
    .addOption(new Option("--port <n>", "the shell's HTTP port").default(2066).argParser(parsePort))
    .option("--host <h>", "the shell's HTTP host", "127.0.0.1")
    .option("--token <t>", "the shell's session token (default: $HANGAR_SERVER_TOKEN)")
    .option("--json", "print the result as JSON")
    .action(async (ids: string[], options: UpdateOptions) => {
      settle(await updateCommand(ids, options, createOutput(options.json === true)));
    });

  program
    .command("init")
    .description(
      "Write a new plugin folder: plugin.json, background/index.ts, a lifecycle test, tsconfig.json.",
    )
    .argument("<dir>", "the folder to create (or an empty one)")
    .option("--id <id>", "the plugin's id (default: from the folder's name)")
    .action(async (dir: string, options: InitOptions) => {
      settle(await initCommand(dir, options, createOutput(false)));
    });

  program
    .command("graph")
    .description("Write the statechart diagrams of the plugin and shell machines.")
    .addOption(new Option("--format <format>", "diagram format").choices(DIAGRAM_FORMATS).default("all"))
    .option("--out <dir>", "folder to write into", DEFAULT_DIAGRAM_DIR)
    .action(async (options: { format: DiagramFormat; out: string }) => {
      for (const file of await writeDiagrams({ format: options.format, outDir: options.out })) {
        process.stdout.write(`wrote ${file}\n`);
      }
      settle(ExitCodes.ok);
    });

  return program;
}

async function main(argv: string[], early: EarlySignal, run: RunProgress): Promise<ExitCode> {
  let exitCode: ExitCode = ExitCodes.ok;
  const program = createProgram(
    (code) => {
      exitCode = code;
    },
    early,
    run,
  );
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    // Commander has already printed its message; --help and --version end here too, with code 0.
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCodes.ok : ExitCodes.usage;
    createOutput(argv.includes("--json")).error(error);
    return exitCodeOf(error);
  }
}

/**
 * Runs the command line `argv` and exits the process with its code. `early` is the signal bin/hangar.js saw
 * while this module was being imported: `hangar run` treats it as a Ctrl+C (starting nothing); any other
 * command is ended by it as by any signal. `started` (launch.ts: write the code cache) is called once the
 * command has done its start-up work: `hangar run` once it has started (after its summary), any other command
 * when it is done, before the exit.
 */
export async function runCli(
  argv: string[],
  early: EarlySignal,
  started: () => Promise<void> = async () => {},
): Promise<void> {
  let running = false;
  const exitCode = await main(argv, early, (event) => {
    running = true;
    // After the summary is on its way out.
    if (event === "started") setImmediate(() => void started());
  });
  // Any other command has done its work here. A `run` writes its cache once started, never after a failed start
  // or `run --help` (the `run` file, kept from then on, would lack the functions of a start). The command is
  // found as launch.ts finds it: the first argument that is not an option.
  const command = argv.slice(2).find((arg) => !arg.startsWith("-"));
  if (!running && command !== "run") await started();
  // Exit explicitly: a plugin's leftover timer or socket must not keep the process alive after shutdown.
  // Writes to a pipe are asynchronous on some platforms, so let stdout and stderr drain first.
  process.stdout.write("", () => process.stderr.write("", () => process.exit(exitCode)));
}
