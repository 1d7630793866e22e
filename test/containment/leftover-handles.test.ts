// A plugin whose onStop leaves timers, intervals, servers or file watchers running gets one warning per stop on its
// log and status, naming what it left (docs/lifecycle.md, "Leftover timers"). In-process only: an isolated plugin's
// leftovers end with its worker. The shell's own stop (Ctrl+C) is tested through the CLI in a child process.
import { describe, expect, it } from "vitest";
import { describeLeftovers, leftoverTrackingIsCheap } from "../../src/containment/leftover-handles.js";
import { type CapturedLog, cliWorkspacePerTest, testShell, workspacePerTest } from "../support/plugins.js";
import { records, sleep, waitForEvent } from "../support/processes.js";

/** Two intervals, a timeout an hour away and a listening server left behind; what it cleans up is not reported. */
const leaky = (id: string) => `
import http from "node:http";
import { watch } from "node:fs";
let tidy;
export async function onStart(ctx) {
  setInterval(() => {}, 60_000);
  setInterval(() => {}, 60_000);
  setTimeout(() => {}, 3_600_000);
  await new Promise((resolve) => http.createServer().listen(0, "127.0.0.1", resolve));
  // Cleaned up: in onStop (a server closed without waiting for it), on abort, and a timer that fires.
  const closedInStop = http.createServer();
  await new Promise((resolve) => closedInStop.listen(0, "127.0.0.1", resolve));
  const watcher = watch(process.cwd());
  const cleared = setInterval(() => {}, 60_000);
  const onAbort = setInterval(() => {}, 60_000);
  ctx.signal.addEventListener("abort", () => clearInterval(onAbort));
  setTimeout(() => {}, 1);
  const unrefd = setInterval(() => {}, 60_000);
  unrefd.unref();
  tidy = () => { closedInStop.close(); watcher.close(); clearInterval(cleared); };
  ctx.server.registerRouter("/api/${id}", (req, res) => { setTimeout(() => {}, 1); res.json({ ok: true }); });
}
export async function onStop() { tidy(); }
`;

const tidyPlugin = `
let timer;
export async function onStart(ctx) { timer = setInterval(() => {}, 60_000); }
export async function onStop() { clearInterval(timer); }
`;

const warningsOf = (lines: Array<Record<string, unknown>>, id: string) =>
  lines
    .filter((line) => line.pluginId === id && /left .* running/.test(String(line.msg)))
    .map((line) => String(line.msg));

describe("describeLeftovers and where tracking is cheap", () => {
  it("names the counts in words", () => {
    expect(describeLeftovers({ interval: 2 })).toBe("2 intervals");
    expect(describeLeftovers({ interval: 1, server: 1 })).toBe("1 interval and 1 server");
    expect(describeLeftovers({ timeout: 3, interval: 2, "file watcher": 1 })).toBe(
      "2 intervals, 3 timeouts and 1 file watcher",
    );
  });

  it("tracks where AsyncLocalStorage already runs promise hooks (Node 20, 22), not on AsyncContextFrame", () => {
    expect(leftoverTrackingIsCheap("20.20.0", [])).toBe(true);
    expect(leftoverTrackingIsCheap("22.12.0", [])).toBe(true);
    expect(leftoverTrackingIsCheap("22.12.0", ["--experimental-async-context-frame"])).toBe(false);
    expect(leftoverTrackingIsCheap("24.1.0", [])).toBe(false);
    expect(leftoverTrackingIsCheap("24.1.0", ["--no-async-context-frame"])).toBe(true);
  });
});

describe("a running shell (createShell, in-process)", () => {
  const fixture = workspacePerTest();

  async function until(log: CapturedLog, id: string, count: number): Promise<string[]> {
    const deadline = Date.now() + 20_000;
    while (warningsOf(log.lines, id).length < count && Date.now() < deadline) await sleep(20);
    return warningsOf(log.lines, id);
  }

  it("warns once per stop, naming the plugin and what it left; not a plugin that cleaned up", async () => {
    await fixture.ws.write({ id: "leaky", source: leaky("leaky") });
    await fixture.ws.write({ id: "tidy", source: tidyPlugin });
    const { shell, log } = testShell(fixture.ws, { isolation: "none" });
    fixture.shells.push(shell);
    await shell.start();
    const url = shell.status().server.url;
    for (let i = 0; i < 20; i++) expect((await fetch(`${url}/api/leaky`)).status).toBe(200);
    await shell.restartPlugin("leaky");
    const first = await until(log, "leaky", 1);
    expect(first).toEqual([
      "Plugin 'leaky' left 2 intervals, 1 timeout and 1 server running after onStop (its context was disposed by " +
        "an update or restart): clear them in onStop, or when ctx.signal aborts.",
    ]);
    const status = shell.status().plugins.find((p) => p.id === "leaky");
    expect(status?.warnings).toContain(first[0]);
    // The next stop reports only what the new context left, once more.
    await shell.stop();
    const all = await until(log, "leaky", 2);
    expect(all).toHaveLength(2);
    expect(all[1]).toMatch(/^Plugin 'leaky' left 2 intervals, 1 timeout and 1 server running after onStop/);
    await sleep(50);
    expect(warningsOf(log.lines, "tidy")).toEqual([]);
  });
});

describe("hangar run, stopped with Ctrl+C (a child process)", () => {
  const fixture = cliWorkspacePerTest();

  it("prints the warning for the plugin that left handles, then exits 0 as usual", async () => {
    await fixture.ws.write({ id: "leaky", source: leaky("leaky") });
    await fixture.ws.write({ id: "tidy", source: tidyPlugin });
    const cli = fixture.hangarRun(["--isolation", "none"]);
    await waitForEvent(cli, "summary");
    cli.child.kill("SIGINT");
    expect(await cli.exited).toBe(0);
    const lines = records(cli.stdout());
    expect(warningsOf(lines, "leaky")).toEqual([
      "Plugin 'leaky' left 2 intervals, 1 timeout and 1 server running after onStop (its context was disposed by " +
        "a stop (shell.stop() or the plugin stopping)): clear them in onStop, or when ctx.signal aborts.",
    ]);
    expect(warningsOf(lines, "tidy")).toEqual([]);
  }, 60_000);
});
