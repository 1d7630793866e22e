// The watchdog is patient with a worker near its heap limit (docs/isolation.md, "The watchdog"): V8's last
// collections before an out-of-memory abort stop the event loop, for seconds on a machine short of CPU, and the
// abort, not the watchdog, should name that fault ("ran out of memory", test/isolation/process-host.test.ts). A
// worker near its limit that is really stuck is still ended, after three times `timeouts.unresponsive`; one with
// room is ended after one.
import { expect, it } from "vitest";
import type { PluginStatus, Shell } from "../../src/index.js";
import { testShell, workspacePerTest } from "../support/plugins.js";
import { sleep } from "../support/processes.js";

const fixture = workspacePerTest();
const UNRESPONSIVE_MS = 3_000;
const MEMORY_LIMIT_MB = 128;

/** A plugin whose route answers, then blocks its event loop for good; `hold` MB of doubles kept on its heap first. */
const spinner = (id: string, hold: number) => `
globalThis.held = Array.from({ length: ${hold} }, () => new Array(131072).fill(0.5));
export async function onStart(ctx) {
  ctx.server.registerRouter("/api/${id}", (req, res) => { res.json({ armed: true }); setTimeout(() => { for (;;) {} }, 20); });
}
export async function onStop() {}
`;

function statusOf(shell: Shell, id: string): PluginStatus {
  return shell.status().plugins.find((plugin) => plugin.id === id)!;
}

/** Polls until `done` holds for plugin `id` (each worker boots in seconds on a loaded machine). */
async function until(
  shell: Shell,
  id: string,
  done: (status: PluginStatus) => boolean,
): Promise<PluginStatus> {
  const deadline = Date.now() + 90_000;
  while (!done(statusOf(shell, id)) && Date.now() < deadline) await sleep(50);
  return statusOf(shell, id);
}

/** How long the watchdog's message says the worker was blocked, in ms. */
const blockedMs = (status: PluginStatus): number =>
  Number(/blocked for (\d+) ms/.exec(status.error?.message ?? "")?.[1] ?? Number.NaN);

it("waits three times timeouts.unresponsive for a worker near its heap limit, once for one with room, and ends both", async () => {
  const background = { isolation: "worker", memoryLimitMb: MEMORY_LIMIT_MB, restart: { policy: "never" } };
  // 100 MB held of 128: over the 75 % that counts as near the limit, with room left for the worker's own heap. 1 MB: far from it.
  await fixture.ws.write({ id: "full", source: spinner("full", 100), manifest: { background } });
  await fixture.ws.write({ id: "lean", source: spinner("lean", 1), manifest: { background } });
  const { shell } = testShell(fixture.ws, {
    isolation: "worker",
    timeouts: { unresponsive: UNRESPONSIVE_MS },
  });
  fixture.shells.push(shell);
  await shell.start();
  const base = shell.status().server.url!;

  // Both heaps as their heartbeats report them, before the loops start.
  const nearLimit = 0.75 * MEMORY_LIMIT_MB * 1024 * 1024;
  const full = await until(shell, "full", (s) => (s.worker?.heapUsedBytes ?? 0) >= nearLimit);
  expect(full.worker?.heapUsedBytes).toBeGreaterThanOrEqual(nearLimit);
  expect(statusOf(shell, "lean").worker?.heapUsedBytes).toBeLessThan(nearLimit);

  expect((await fetch(`${base}/api/full`)).status).toBe(200);
  expect((await fetch(`${base}/api/lean`)).status).toBe(200);

  const lean = await until(shell, "lean", (s) => s.state === "errored");
  expect(lean.error).toMatchObject({ code: "HANGAR_PLUGIN_UNRESPONSIVE", phase: "run" });
  expect(blockedMs(lean)).toBeGreaterThanOrEqual(UNRESPONSIVE_MS);
  // Judged at the first heartbeat past the limit: only a test process starved for 6 s straight would see more.
  expect(blockedMs(lean)).toBeLessThan(3 * UNRESPONSIVE_MS);

  const ended = await until(shell, "full", (s) => s.state === "errored");
  expect(ended.error).toMatchObject({ code: "HANGAR_PLUGIN_UNRESPONSIVE", phase: "run" });
  expect(blockedMs(ended)).toBeGreaterThanOrEqual(3 * UNRESPONSIVE_MS);
  expect(ended.worker).toBeUndefined();
}, 150_000);
