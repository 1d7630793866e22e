// Two real `hangar run` processes on one data folder: the second refuses to start, naming the folder and the
// first one's pid (HANGAR_DATA_DIR_LOCKED); a lock left by a killed process is taken over; stop releases it.
// Both ways (HANGAR_TEST_ISOLATION, passed on as `--isolation`): the lock is the shell's, wherever plugins run.
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createWorkspace, goodPluginSource, testIsolation, type Workspace } from "../support/plugins.js";
import { type Running, start, waitForEvent } from "../support/processes.js";

let ws: Workspace;
const running: Running[] = [];

function hangarRun(dataDir: string): Running {
  const args = [
    "run",
    ws.pluginsDir,
    "--port",
    "0",
    "--data-dir",
    dataDir,
    "--json",
    "--isolation",
    testIsolation,
  ];
  const run = start(process.execPath, [path.resolve("bin/hangar.js"), ...args], { cwd: ws.root });
  running.push(run);
  return run;
}

/** Everything the process printed, both streams. */
const output = (run: Running) => run.stdout() + run.stderr();

beforeAll(async () => {
  ws = await createWorkspace();
  await ws.write({ id: "good", source: goodPluginSource("good") });
});

afterAll(async () => {
  for (const { child } of running) if (child.exitCode === null) child.kill("SIGKILL");
  await ws.cleanup();
});

it("refuses a second shell on the same data folder, takes over a dead holder's lock, and releases it on stop", async () => {
  const dataDir = path.join(ws.root, "shared-data");
  const first = hangarRun(dataDir);
  const summary = (await waitForEvent(first, "summary")) as { plugins: Array<{ worker?: object }> };
  // Isolated, the plugin runs in a worker thread of its own (its status shows it); in-process, it has none.
  expect(summary.plugins[0]?.worker !== undefined).toBe(testIsolation === "worker");

  const second = hangarRun(dataDir);
  expect(await second.exited).toBe(1);
  expect(output(second)).toContain("HANGAR_DATA_DIR_LOCKED");
  expect(output(second)).toContain(dataDir);
  expect(output(second)).toContain(`pid ${first.child.pid}`);

  // Killed: no chance to release. The next shell sees the holder is gone and takes the folder.
  first.child.kill("SIGKILL");
  await first.exited;
  expect(existsSync(path.join(dataDir, "hangar.lock"))).toBe(true);
  const third = hangarRun(dataDir);
  await waitForEvent(third, "summary");
  third.child.kill("SIGINT");
  expect(await third.exited).toBe(0);
  expect(existsSync(path.join(dataDir, "hangar.lock"))).toBe(false);
  expect(existsSync(path.join(dataDir, "hangar.lock.pid"))).toBe(false);
});
