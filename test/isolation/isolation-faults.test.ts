// Issue 11's "done when", through the real CLI in a child process: `hangar run --isolation worker --json` over
// plugins that spin in a route, a timer, onStart and onStop, exhaust their heap, call process.exit and patch
// globals. Throughout, another plugin's route answers within 100 ms (test/support/responsiveness.ts); each faulty
// plugin is errored with its code within the unresponsive timeout (the CLI's default, 5 s); SIGINT then shuts the
// shell down within its budget (15 s) although one onStop never returns, and `hangar run` exits 0.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { PluginStatus } from "../../src/index.js";
import { createWorkspace, type Workspace } from "../support/plugins.js";
import { type Running, records, start, waitForEvent } from "../support/processes.js";
import { startProbeLoop } from "../support/responsiveness.js";

/** The CLI's defaults (SPEC §4, §12): the test uses them as a user gets them. */
const UNRESPONSIVE_MS = 5_000;
const SHUTDOWN_MS = 15_000;
/** The watchdog pings once a second at this limit: a fault is seen at most a ping after the limit passed. */
const HEARTBEAT_MS = 1_000;
/**
 * A loaded 2-core machine delays the watchdog's timer and slows every worker (at a load average of 20 a thread gets
 * a sixth of a core: heap-hog filled its 32 MB 8.3 s after it was armed).
 */
const SLACK_MS = 4_000;
/** A shell blocked by a fault is silent for the whole unresponsive timeout; no single answer may come near it. */
const FROZEN_MS = UNRESPONSIVE_MS / 2;

let ws: Workspace;
let cli: Running;
let base: string;

const plugin = (start: string, stop = "") => `
export async function onStart(ctx) { ${start} }
export async function onStop() { ${stop} }
`;
const spin = "for (;;) {}";

/**
 * plugin.json fields every plugin here gets. Booting eleven workers on a loaded machine can take longer than the
 * default 10 s load timeout; the hook timeouts are longer than the watchdog's, so the watchdog is what ends a
 * spinning hook (a hook past its own timeout is ended too, with its timeout's code: not what this test shows).
 */
const patient = { loadTimeoutMs: 120_000, startTimeoutMs: 30_000, stopTimeoutMs: 12_000 };
const never = { background: { ...patient, restart: { policy: "never" } } };

beforeAll(async () => {
  ws = await createWorkspace();
  const write = (id: string, source: string, background: Record<string, unknown> = never.background) =>
    ws.write({ id, source, manifest: { background: { isolation: "worker", ...background } } });
  await write(
    "good",
    plugin(`
      ctx.server.registerRouter("/api/good", (req, res) =>
        res.json({ ok: true, polluted: ({}).polluted ?? null, parsed: JSON.parse("[1]"), fetchIsNative: !String(fetch).includes("hijacked") }));`),
    patient,
  );
  // Faults armed by a request, so that they strike while the test watches: from a timer, not the route.
  const armed = (id: string, fault: string) =>
    plugin(
      `ctx.server.registerRouter("/api/${id}", (req, res) => { setTimeout(() => { ${fault} }, 100); res.json({ armed: true }); });`,
    );
  const spinInRoute = (id: string) =>
    plugin(`ctx.server.registerRouter("/api/${id}", (req, res) => { ${spin} });`);
  await write("route-spin", spinInRoute("route-spin"));
  // The same, restarted by its policy: after a long backoff, so the test reads the plugin in `backoff`.
  await write("route-spin-restarts", spinInRoute("route-spin-restarts"), {
    ...patient,
    restart: { policy: "on-failure", backoffMs: 30_000 },
  });
  await write("timer-spin", armed("timer-spin", spin));
  await write(
    "heap-hog",
    armed(
      "heap-hog",
      `const hoard = []; const grow = () => { hoard.push(new Array(5e5).fill(hoard.length)); setImmediate(grow); }; grow();`,
    ),
    { ...never.background, memoryLimitMb: 32 },
  );
  await write("exits", armed("exits", "process.exit(3);"));
  // Busy loops in onStart and onStop that strike while the test watches: armed by a file, run by a restart.
  const spinWhenArmed = `if ((await import("node:fs")).existsSync(${JSON.stringify(path.join(ws.root, "armed"))})) { ${spin} }`;
  await write("restart-start-spin", plugin(spinWhenArmed));
  await write("restart-stop-spin", plugin("", spinWhenArmed));
  // At start-up and at shutdown, where no test can poll in between.
  await write("start-spin", plugin(spin));
  await write("stop-spin", plugin("", spin));
  await write(
    "patcher",
    plugin(`
      Object.prototype.polluted = "yes";
      JSON.parse = () => "hijacked";
      globalThis.fetch = async () => { throw new Error("hijacked fetch"); };
      ctx.server.registerRouter("/api/patcher", (req, res) => res.json({ polluted: ({}).polluted }));`),
  );

  cli = start(
    process.execPath,
    [path.resolve("bin/hangar.js"), "run", ws.pluginsDir, "--json", "--port", "0", "--data-dir", ws.dataDir],
    { cwd: ws.root },
  );
  const summary = await waitForEvent(cli, "summary");
  base = summary.url as string;
  // Eleven workers boot at once: well over a minute when this shared machine is at its busiest.
}, 240_000);

afterAll(async () => {
  cli?.child.kill("SIGKILL");
  await ws?.cleanup();
});

async function statuses(): Promise<Record<string, PluginStatus>> {
  const list = (await (await fetch(`${base}/api/_shell/plugins`)).json()) as PluginStatus[];
  return Object.fromEntries(list.map((status) => [status.id, status]));
}

/** The failure records `hangar run --json` printed for `pluginId` (level 50, with a code). */
function failures(pluginId: string): Array<Record<string, unknown>> {
  return records(cli.stdout()).filter(
    (record) => record.pluginId === pluginId && record.level === 50 && typeof record.code === "string",
  );
}

const blockedFor = (message: string | undefined) => Number(/blocked for (\d+) ms/.exec(message ?? "")?.[1]);

it("a plugin that spins in onStart at start-up is errored by the watchdog, not its start timeout", async () => {
  const atStart = await statuses();
  expect(atStart["start-spin"], JSON.stringify(atStart["start-spin"])).toMatchObject({
    state: "errored",
    error: { phase: "start", code: "HANGAR_PLUGIN_UNRESPONSIVE" },
  });
  expect(atStart["start-spin"]?.error?.message).toMatch(/'start-spin'.*blocked for \d+ ms in onStart/);
  expect(blockedFor(atStart["start-spin"]?.error?.message)).toBeLessThan(
    UNRESPONSIVE_MS + HEARTBEAT_MS + SLACK_MS,
  );
  expect(atStart.patcher?.state).toBe("running");
  expect(atStart.good?.worker?.threadId).toEqual(expect.any(Number));
}, 30_000);

it("keeps another plugin's route answering within 100 ms while isolated plugins spin, run out of heap, exit and patch globals", async () => {
  const probe = startProbeLoop(`${base}/api/good`, {
    servedBy: cli.child.pid,
    check(response, body) {
      expect(response.status).toBe(200);
      // Nothing patched in the patcher's worker reaches another plugin or the shell.
      expect(body).toEqual({ ok: true, polluted: null, parsed: [1], fetchIsNative: true });
    },
  });
  // A quiet stretch first: the probe loop's yardstick on this machine.
  await new Promise((resolve) => setTimeout(resolve, 500));

  // Every fault at once: the shell must stay responsive with all of them striking.
  await writeFile(path.join(ws.root, "armed"), "");
  const armedAt = Date.now();
  const asked = {
    "route-spin": fetch(`${base}/api/route-spin`),
    "route-spin-restarts": fetch(`${base}/api/route-spin-restarts`),
    "timer-spin": fetch(`${base}/api/timer-spin`),
    "heap-hog": fetch(`${base}/api/heap-hog`),
    exits: fetch(`${base}/api/exits`),
    "restart-start-spin": fetch(`${base}/api/_shell/plugins/restart-start-spin/restart`, { method: "POST" }),
    "restart-stop-spin": fetch(`${base}/api/_shell/plugins/restart-stop-spin/restart`, { method: "POST" }),
  };
  const answers = Object.fromEntries(
    await Promise.all(
      Object.entries(asked).map(async ([id, request]) => {
        const response = await request;
        return [id, { status: response.status, body: (await response.json()) as Record<string, unknown> }];
      }),
    ),
  );
  const settled = (status: PluginStatus | undefined) =>
    status?.state === "errored" || status?.state === "backoff";
  let current = await statuses();
  while (!Object.keys(asked).every((id) => settled(current[id]))) {
    expect(Date.now() - armedAt, JSON.stringify(current)).toBeLessThan(
      UNRESPONSIVE_MS + HEARTBEAT_MS + 2 * SLACK_MS,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    current = await statuses();
  }
  const seen = await probe.stop();
  console.log(`isolation faults, good route: ${seen.summary}`);

  // The shell stayed responsive: no probe waited longer than 100 ms beyond the test's own stalls, and none,
  // excused or not, came near the length of a freeze (a blocked shell answers nothing for UNRESPONSIVE_MS).
  expect(seen.samples.length, seen.summary).toBeGreaterThan(20);
  expect(seen.maxShellMs, seen.summary).toBeLessThanOrEqual(100);
  expect(seen.maxLatencyMs, seen.summary).toBeLessThan(FROZEN_MS);
  expect(seen.maxGapMs, seen.summary).toBeLessThan(FROZEN_MS);

  // Each faulty plugin errored with its code, within the unresponsive timeout plus one heartbeat.
  const want: Record<string, { phase: string; code: string; message: RegExp }> = {
    "route-spin": {
      phase: "run",
      code: "HANGAR_PLUGIN_UNRESPONSIVE",
      message: /'route-spin'.*blocked for \d+ ms while serving GET \/api\/route-spin \(phase run\)/,
    },
    "timer-spin": {
      phase: "run",
      code: "HANGAR_PLUGIN_UNRESPONSIVE",
      message: /'timer-spin'.*blocked for \d+ ms while running, outside any hook, request or invoke/,
    },
    "heap-hog": { phase: "run", code: "HANGAR_PLUGIN_CRASHED", message: /'heap-hog'.*out of memory.*32 MB/ },
    exits: { phase: "run", code: "HANGAR_PLUGIN_CRASHED", message: /'exits'.*exit code 3/ },
    "restart-start-spin": {
      phase: "start",
      code: "HANGAR_PLUGIN_UNRESPONSIVE",
      message: /blocked for \d+ ms in onStart/,
    },
    "restart-stop-spin": {
      phase: "stop",
      code: "HANGAR_PLUGIN_UNRESPONSIVE",
      message: /blocked for \d+ ms in onStop/,
    },
  };
  for (const [id, { phase, code, message }] of Object.entries(want)) {
    expect({ id, state: current[id]?.state, error: current[id]?.error }).toMatchObject({
      id,
      state: "errored",
      error: { phase, code },
    });
    expect(current[id]?.error?.message).toMatch(message);
    // The CLI's --json failure record, written when the shell saw the fault.
    const record = failures(id).find((r) => r.code === code);
    expect(record, `${id}: ${JSON.stringify(failures(id))}`).toBeDefined();
    expect((record!.time as number) - armedAt, id).toBeLessThan(UNRESPONSIVE_MS + HEARTBEAT_MS + SLACK_MS);
    if (code === "HANGAR_PLUGIN_UNRESPONSIVE") {
      expect(blockedFor(current[id]?.error?.message), id).toBeGreaterThanOrEqual(UNRESPONSIVE_MS);
      expect(blockedFor(current[id]?.error?.message), id).toBeLessThan(
        UNRESPONSIVE_MS + HEARTBEAT_MS + SLACK_MS,
      );
    }
  }

  // The spinning route's own request answered 503 once its worker was ended, with the state the status shows.
  expect(answers["route-spin"]).toMatchObject({ status: 503, body: { success: false, state: "errored" } });
  expect(current["route-spin-restarts"]).toMatchObject({
    state: "backoff",
    restarts: 1,
    error: { code: "HANGAR_PLUGIN_UNRESPONSIVE" },
  });
  expect(answers["route-spin-restarts"]).toMatchObject({
    status: 503,
    body: { success: false, state: "backoff" },
  });
  expect(answers["route-spin-restarts"]!.body.error).toMatch(
    /restart policy starts it again after a backoff/,
  );
  // The others were armed at once; a restart answers once it has settled, with the plugin's status (errored).
  for (const id of ["timer-spin", "heap-hog", "exits"]) expect(answers[id]?.status, id).toBe(200);
  expect(answers["restart-start-spin"]).toMatchObject({ status: 200, body: { state: "errored" } });

  // A request while it waits out its backoff is held (the plugin is on its way back), then answered with the
  // same state as the status: `backoff`, not `errored`.
  const held = await fetch(`${base}/api/route-spin-restarts`);
  expect(held.status).toBe(503);
  expect(held.headers.get("retry-after")).toBe("1");
  const heldBody = (await held.json()) as { state: string; error: string };
  expect(heldBody.state).toBe((await statuses())["route-spin-restarts"]?.state);
  expect(heldBody).toMatchObject({ state: "backoff" });
  expect(heldBody.error).toMatch(
    /'route-spin-restarts' failed while running \(HANGAR_PLUGIN_UNRESPONSIVE\) and its restart policy starts it again/,
  );

  // The patcher runs, polluted only in its own worker.
  expect(current.patcher?.state).toBe("running");
  expect(await (await fetch(`${base}/api/patcher`)).json()).toEqual({ polluted: "yes" });
  expect(current.good?.state).toBe("running");
}, 90_000);

it("SIGINT shuts down within budget although stop-spin's onStop never returns; the shell answers meanwhile; exit 0", async () => {
  const stopAsked = Date.now();
  cli.child.kill("SIGINT");
  // The health route answers (503: not running) while stop-spin's onStop spins, until the server closes.
  const health: number[] = [];
  while (!records(cli.stdout()).some((r) => r.event === "stopped")) {
    const asked = performance.now();
    const response = await fetch(`${base}/api/_shell/health`).catch(() => null);
    if (response === null) break; // the server has closed
    await response.arrayBuffer();
    health.push(performance.now() - asked);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const code = await cli.exited;
  const stopMs = Date.now() - stopAsked;
  expect(code, cli.stderr()).toBe(0);
  expect(stopMs).toBeLessThan(SHUTDOWN_MS);
  // stop-spin's onStop kept the shutdown going for the unresponsive timeout: the probes cover that stretch.
  expect(stopMs).toBeGreaterThanOrEqual(UNRESPONSIVE_MS);
  expect(health.length).toBeGreaterThan(10);
  expect(Math.max(...health)).toBeLessThan(FROZEN_MS);
  expect(records(cli.stdout()).find((r) => r.event === "stopped")).toMatchObject({ clean: true });
  const stopSpin = failures("stop-spin").find((r) => r.code === "HANGAR_PLUGIN_UNRESPONSIVE");
  expect(stopSpin, JSON.stringify(failures("stop-spin"))).toMatchObject({ phase: "stop" });
  expect(cli.stdout()).toMatch(/"pluginId":"good","msg":"stopped"/);
  expect(cli.stdout() + cli.stderr()).not.toMatch(/uncaughtException|unhandledRejection/);
}, 40_000);
