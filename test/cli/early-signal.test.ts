// Ctrl+C while the `hangar` command is still loading (its first ~0.5 s, seconds on a busy machine): `hangar run`
// stops as after any Ctrl+C, says so, starts nothing and exits 0; other commands end as on any signal.
// The CLI's import is held by a preload (test/support/hold-cli-import.mjs) so the signal lands exactly then.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, expect, it } from "vitest";
import { type Running, records, sleep, start } from "../support/processes.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const hold = fileURLToPath(new URL("../support/hold-cli-import.mjs", import.meta.url));

let dir: string;
let child: Running | null = null;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "hangar-early-signal-"));
});
afterEach(async () => {
  if (child && child.child.exitCode === null && child.child.signalCode === null) child.child.kill("SIGKILL");
  await child?.exited;
  child = null;
  await rm(dir, { recursive: true, force: true });
});

/** Starts `hangar args` with its CLI import held; resolves once bin/hangar.js waits for it. */
async function startHeld(args: string[]): Promise<{ running: Running; release: () => Promise<void> }> {
  const gate = join(dir, "gate");
  const running = start(process.execPath, ["--import", hold, "bin/hangar.js", ...args], {
    cwd: root,
    env: { HANGAR_TEST_IMPORT_GATE: gate },
  });
  child = running;
  for (;;) {
    if (running.stderr().includes("holding the CLI import")) break;
    if (running.child.exitCode !== null) throw new Error(`exited early:\n${running.stderr()}`);
    await new Promise((wake) => setTimeout(wake, 10));
  }
  return { running, release: () => writeFile(gate, "") };
}

/** `hangar run examples/plugins` on port 0 with a data dir of its own, held as {@link startHeld} does. */
const startHeldRun = (...extra: string[]) =>
  startHeld(["run", "examples/plugins", "--port", "0", "--data-dir", join(dir, "data"), ...extra]);

it("hangar run: a Ctrl+C before the CLI has loaded stops it cleanly, says so, and exits 0", async () => {
  const { running, release } = await startHeldRun("--json");
  running.child.kill("SIGINT");
  await release();
  expect(await running.exited).toBe(0);
  const lines = records(running.stdout());
  expect(lines.find((record) => record.event === "stopping")).toEqual({
    event: "stopping",
    signal: "SIGINT",
    startup: true,
  });
  expect(lines.at(-1)).toEqual({ event: "stopped", clean: true });
  // Nothing was started: no plugin record, no summary, no server.
  expect(lines.filter((record) => record.pluginId !== undefined || record.event === "summary")).toEqual([]);
});

it("hangar run: the same in text, on SIGTERM", async () => {
  const { running, release } = await startHeldRun();
  running.child.kill("SIGTERM");
  await release();
  expect(await running.exited).toBe(0);
  expect(running.stdout()).toBe(
    "Received SIGTERM while hangar was starting: no plugin was started.\nStopped.\n",
  );
});

it("hangar run: a second early signal exits at once with 130, saying why", async () => {
  const { running } = await startHeldRun();
  running.child.kill("SIGINT");
  // Two signals pending at once are one to the kernel: let the first be delivered (the loop is idle).
  await sleep(200);
  running.child.kill("SIGINT");
  expect(await running.exited).toBe(130);
  expect(running.stderr()).toContain("Received SIGINT again while hangar was starting: exiting.");
});

it("other commands end on an early signal as on any signal", async () => {
  const { running, release } = await startHeld(["validate", "examples/plugins"]);
  running.child.kill("SIGINT");
  await release();
  await running.exited;
  expect(running.child.signalCode).toBe("SIGINT");
  expect(running.stdout()).toBe("");
});
