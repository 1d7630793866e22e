// An isolated plugin whose worker is gone (it crashed, or it was stopped and gave its worker back) is booted and
// imported again in phase `load`, under the load timeout, before onStart runs under the start timeout
// (docs/isolation.md). The plugin here takes ~1 s to import and has a 300 ms start timeout: before the fix, its
// restart imported it inside onStart and it ended errored in phase start (HANGAR_START_TIMEOUT).
import { expect, it } from "vitest";
import type { PluginStatus, Shell } from "../../src/index.js";
import { loggedBy, testShell, workspacePerTest } from "../support/plugins.js";

const fixture = workspacePerTest();
const { shells } = fixture;

// Slow to import (a top-level await of 1 s), quick to start; crashes once, from a timer, after its first start.
const slowImport = `
import { existsSync, writeFileSync } from "node:fs";
await new Promise((resolve) => setTimeout(resolve, 1000));
const marker = new URL("../crashed-once", import.meta.url);
// onStart does no more than this: the 300 ms start timeout must fit it even on a loaded machine.
export async function onStart(ctx) {
  ctx.logger.info("slow", "started");
  if (!existsSync(marker)) {
    writeFileSync(marker, "");
    setTimeout(() => { throw new Error("crash on purpose"); }, 50);
  }
}
export async function onStop() {}
`;

const manifest = { background: { startTimeoutMs: 300, restart: { backoffMs: 100 } } };

/** Polls the plugin's status until `done` says so (the machine is loaded: each worker boot takes seconds). */
async function until(shell: Shell, done: (status: PluginStatus) => boolean): Promise<PluginStatus> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = shell.status().plugins.find((plugin) => plugin.id === "slow")!;
    if (done(status) || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

it("restarts a crashed isolated plugin into running: the re-import counts against the load timeout, not onStart's", async () => {
  await fixture.ws.write({ id: "slow", manifest, source: slowImport });
  const { shell, log } = testShell(fixture.ws, { isolation: "worker" });
  shells.push(shell);
  await shell.start();
  expect(shell.status().plugins[0]).toMatchObject({ state: "running" });

  const settled = await until(
    shell,
    (s) => s.state === "errored" || (s.restarts === 1 && s.state === "running"),
  );
  expect(settled.error).toBeUndefined();
  expect(settled).toMatchObject({ state: "running", restarts: 1 });
  expect(settled.worker).toMatchObject({ threadId: expect.any(Number) });
  expect(loggedBy(log, "slow", "started")).toEqual(["slow", "slow"]);
  // The crash was reported once, in phase run; nothing failed in phase start.
  expect(log.lines.filter((line) => line.code === "HANGAR_PLUGIN_CRASHED")).toHaveLength(1);
  expect(log.lines.filter((line) => line.phase === "start" && line.level === 50)).toEqual([]);
}, 120_000);

it("starts and restarts a stopped isolated plugin (its worker given back) into running", async () => {
  await fixture.ws.write({
    id: "slow",
    manifest,
    source: slowImport.replace("if (!existsSync(marker))", "if (false)"),
  });
  const { shell } = testShell(fixture.ws, { isolation: "worker" });
  shells.push(shell);
  await shell.start();

  expect(await shell.stopPlugin("slow")).toMatchObject({ state: "stopped" });
  const started = await shell.startPlugin("slow");
  expect(started.error).toBeUndefined();
  expect(started.state).toBe("running");
  expect(started.timings.loadMs).toBeGreaterThanOrEqual(900);

  expect(await shell.stopPlugin("slow")).toMatchObject({ state: "stopped" });
  const restarted = await shell.restartPlugin("slow");
  expect(restarted.error).toBeUndefined();
  expect(restarted.state).toBe("running");
}, 120_000);
