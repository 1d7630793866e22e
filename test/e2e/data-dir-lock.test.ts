// Two real `hangar run` processes on one data folder: the second refuses to start, naming the folder and the
// first one's pid (HANGAR_DATA_DIR_LOCKED); a lock left by a killed process is taken over; stop releases it.
// Both ways (HANGAR_TEST_ISOLATION, passed on as `--isolation`): the lock is the shell's, wherever plugins run.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createWorkspace, goodPluginSource, testIsolation, type Workspace } from "../support/plugins.js";

let ws: Workspace;
const running: ChildProcess[] = [];

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function hangarRun(dataDir: string): Run {
  const child = spawn(
    process.execPath,
    [
      path.resolve("bin/hangar.js"),
      ...["run", ws.pluginsDir, "--port", "0", "--data-dir", dataDir, "--json", "--isolation", testIsolation],
    ],
    { cwd: ws.root, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  running.push(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function untilSummary(run: Run): Promise<void> {
  // 15 s; isolated, the plugin's worker boots first (seconds on a loaded machine): 90 s.
  for (let i = 0; i < (testIsolation === "worker" ? 3600 : 600); i += 1) {
    if (run.output().includes('"event":"summary"')) return;
    if (run.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`hangar run did not reach its summary:\n${run.output()}`);
}

beforeAll(async () => {
  ws = await createWorkspace();
  await ws.write({ id: "good", source: goodPluginSource("good") });
});

afterAll(async () => {
  for (const child of running) if (child.exitCode === null) child.kill("SIGKILL");
  await ws.cleanup();
});

it("refuses a second shell on the same data folder, takes over a dead holder's lock, and releases it on stop", async () => {
  const dataDir = path.join(ws.root, "shared-data");
  const first = hangarRun(dataDir);
  await untilSummary(first);
  // Isolated, the plugin runs in a worker thread of its own (its status shows it); in-process, it has none.
  const summary = first
    .output()
    .split("\n")
    .find((line) => line.includes('"event":"summary"'));
  expect(JSON.parse(summary ?? "{}").plugins[0].worker !== undefined).toBe(testIsolation === "worker");

  const second = hangarRun(dataDir);
  expect(await second.exited).toBe(1);
  expect(second.output()).toContain("HANGAR_DATA_DIR_LOCKED");
  expect(second.output()).toContain(dataDir);
  expect(second.output()).toContain(`pid ${first.child.pid}`);

  // Killed: no chance to release. The next shell sees the holder is gone and takes the folder.
  first.child.kill("SIGKILL");
  await first.exited;
  expect(existsSync(path.join(dataDir, "hangar.lock"))).toBe(true);
  const third = hangarRun(dataDir);
  await untilSummary(third);
  third.child.kill("SIGINT");
  expect(await third.exited).toBe(0);
  expect(existsSync(path.join(dataDir, "hangar.lock"))).toBe(false);
  expect(existsSync(path.join(dataDir, "hangar.lock.pid"))).toBe(false);
});
