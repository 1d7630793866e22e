// What bin/hangar.js imports (bundled into dist/cli/bundle/main.js): runs the `hangar` command from its CommonJS
// bundle (dist/cli/bundle/cli.cjs, built by scripts/bundle-cli.mjs) through a V8 code cache (code-cache.ts), which
// spares every start after the first the parse and compile of the bundle (BENCHMARKS.md, "Cold start, session 5").
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { codeCacheDir, runCachedScript } from "./code-cache.js";
import type { EarlySignal } from "./run-command.js";

/** The commands that get a cache file each (what a command compiles at start-up differs); any other argv: `cli`. */
const COMMANDS = new Set(["run", "validate", "update", "init", "graph"]);

/**
 * The SHA-256 (hex) of bundle/cli.cjs, written into the bundled launcher (dist/cli/bundle/main.js) by
 * scripts/bundle-cli.mjs, which builds both at once: a start need not hash 0.7 MB. Undefined in the unbundled
 * dist/cli/launch.js, which then hashes the file.
 */
declare const HANGAR_CLI_SHA256: string | undefined;

/** runCli of dist/cli/main.js, as the bundle exports it. */
type BundledRunCli = (argv: string[], early: EarlySignal, started: () => Promise<void>) => Promise<void>;

/**
 * Runs the command line `argv` (bin/hangar.js's `process.argv`) and exits the process with its code; `early` is
 * the signal bin/hangar.js saw meanwhile (main.ts, `runCli`).
 */
export function runCli(argv: string[], early: EarlySignal): Promise<void> {
  const here = fileURLToPath(import.meta.url);
  // dist/cli/launch.js, or dist/cli/bundle/main.js keeping that URL (scripts/bundle-cli.mjs): hangar's folder is
  // two levels up.
  const packageRoot = path.resolve(path.dirname(here), "..", "..");
  const bundle = path.join(path.dirname(here), "bundle", "cli.cjs");
  if (process.sourceMapsEnabled) {
    // `node --enable-source-maps`: Node 20 maps the stack frames of a required file through its source map, but
    // not those of a vm.Script. Whoever asks for mapped stacks gets them, and no code cache.
    const { runCli: requiredRunCli } = createRequire(here)(bundle) as { runCli: BundledRunCli };
    return requiredRunCli(argv, early, async () => {});
  }
  const command = argv.slice(2).find((arg) => !arg.startsWith("-")) ?? "";
  const script = runCachedScript(bundle, {
    dir: codeCacheDir(packageRoot),
    variant: COMMANDS.has(command) ? command : "cli",
    ...(typeof HANGAR_CLI_SHA256 === "string" ? { sourceHash: HANGAR_CLI_SHA256 } : {}),
  });
  const { runCli: bundledRunCli } = script.exports as { runCli: BundledRunCli };
  return bundledRunCli(argv, early, () => script.save());
}
