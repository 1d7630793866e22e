// A plugin's worker gets the process's Node options without its preloads: a shell started under `node --import tsx`
// (or `tsx app.ts`) must not boot tsx again in every worker (docs/isolation.md, "What it costs").
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { workerExecArgv } from "../../src/isolation/isolate.js";
import { workspacePerTest } from "../support/plugins.js";

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

describe("workerExecArgv", () => {
  it("drops --import, --require, -r and --loader in both spellings, with their values", () => {
    expect(
      workerExecArgv([
        "--import",
        "tsx",
        "--require=./otel.cjs",
        "-r",
        "dotenv/config",
        "--experimental-loader",
        "./hooks.mjs",
        "--loader=./other.mjs",
        "--import=data:text/javascript,",
      ]),
    ).toEqual([]);
  });

  it("keeps every other option in order, including a value that looks like a preload's", () => {
    expect(
      workerExecArgv([
        "--conditions",
        "development",
        "--import",
        "tsx",
        "--enable-source-maps",
        "--conditions=--import",
        "--no-warnings",
      ]),
    ).toEqual([
      "--conditions",
      "development",
      "--enable-source-maps",
      "--conditions=--import",
      "--no-warnings",
    ]);
  });

  it("reads process.execArgv by default", () => {
    expect(workerExecArgv()).toEqual(workerExecArgv(process.execArgv));
    expect(workerExecArgv()).not.toContain("--import");
  });
});

describe("an isolated plugin in a shell started with preloads (a child process on dist/)", () => {
  const fixture = workspacePerTest();

  /** Starts and stops a shell under `node <options>`; the plugin writes the Node options its worker got. */
  async function startUnder(options: string[]): Promise<{ state: string; workerExecArgv: string[] }> {
    const out = path.join(fixture.ws.root, "exec-argv.json");
    await fixture.ws.write({
      id: "argv",
      source: `import { writeFileSync } from "node:fs";
               export async function onStart() { writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.execArgv)); }
               export async function onStop() {}`,
    });
    const script = path.join(repoRoot, "test", "support", "preload-run.mjs");
    const { stdout } = await run(
      process.execPath,
      [...options, script, fixture.ws.pluginsDir, fixture.ws.dataDir],
      { cwd: repoRoot, timeout: 120_000 },
    );
    const { states } = JSON.parse(stdout.trim().split("\n").at(-1)!) as { states: Record<string, string> };
    return { state: states.argv!, workerExecArgv: JSON.parse(await readFile(out, "utf8")) as string[] };
  }

  it("does not boot the process's tsx again in the plugin's worker", async () => {
    const { state, workerExecArgv: argv } = await startUnder(["--import", "tsx", "--enable-source-maps"]);
    expect(state).toBe("running");
    expect(argv).toEqual(["--enable-source-maps"]);
  });

  it("still runs the plugin when Node refuses the options a worker may only inherit (--expose-gc)", async () => {
    const { state, workerExecArgv: argv } = await startUnder(["--expose-gc", "--import", "tsx"]);
    expect(state).toBe("running");
    // Node would not take --expose-gc in an explicit list: the worker inherits all, tsx included, as before.
    expect(argv).toEqual(["--expose-gc", "--import", "tsx"]);
  });
});
