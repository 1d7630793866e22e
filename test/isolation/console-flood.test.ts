// An isolated plugin flooding console.log, through the real CLI in a child process (fresh-findings item 2): its
// console output reaches the shell through the shell's main thread, so without a bound it stalled another
// plugin's route for over a second and grew the shell to ~750 MB. With console-budget.ts, the route keeps
// answering, the shell's memory stays flat, no more than the documented rate and burst reaches stdout, and one
// warning names the plugin and the fix.
import { spawn } from "node:child_process";
import { closeSync, createReadStream, openSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, expect, it } from "vitest";
import type { PluginStatus } from "../../src/index.js";
import { CONSOLE_BURST_BYTES, CONSOLE_BYTES_PER_SECOND } from "../../src/isolation/console-budget.js";
import { createWorkspace, type Workspace } from "../support/plugins.js";
import { records, sleep } from "../support/processes.js";
import { startProbeLoop } from "../support/responsiveness.js";

const FLOOD_LINE = "x".repeat(2000);
const FLOOD_MS = 6_000;

let ws: Workspace | undefined;
let child: ReturnType<typeof spawn> | undefined;

afterAll(async () => {
  child?.kill("SIGKILL");
  await ws?.cleanup();
});

/** The shell's resident set, bytes (Linux). */
function rssBytes(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(line?.[1] ?? 0) * 1024;
}

it("keeps the shell responsive and its memory flat while an isolated plugin floods console.log", async () => {
  ws = await createWorkspace();
  const patient = { loadTimeoutMs: 60_000, startTimeoutMs: 30_000, restart: { policy: "never" } };
  await ws.write({
    id: "good",
    source: `export async function onStart(ctx) { ctx.server.registerRouter("/api/good", (req, res) => res.json({ ok: true })); }
export async function onStop() {}`,
    manifest: { background: { isolation: "worker", ...patient } },
  });
  // Armed by a file, so the test measures the shell before and during the flood.
  const armed = path.join(ws.root, "armed");
  await ws.write({
    id: "flood",
    source: `import { existsSync } from "node:fs";
const line = ${JSON.stringify(FLOOD_LINE)};
export async function onStart(ctx) {
  setInterval(() => { if (existsSync(${JSON.stringify(armed)})) for (let i = 0; i < 2000; i++) console.log(line); }, 1);
}
export async function onStop() {}`,
    // A bounded heap: the worker's own garbage (4 MB of formatted lines a millisecond) counts in the process's RSS.
    manifest: { background: { isolation: "worker", memoryLimitMb: 64, ...patient } },
  });

  // The shell's output goes to a file, as `hangar run … > log` does: a file is written synchronously on the
  // shell's main thread, where a pipe would let the shell buffer it instead.
  const logFile = path.join(ws.root, "shell.log");
  const out = openSync(logFile, "w");
  const cli = spawn(
    process.execPath,
    [path.resolve("bin/hangar.js"), "run", ws.pluginsDir, "--json", "--port", "0", "--data-dir", ws.dataDir],
    { cwd: ws.root, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", out, out] },
  );
  closeSync(out);
  child = cli;
  const began = Date.now();
  const summaryIn = (text: string) =>
    // Complete lines only: the last one may be half written.
    records(text.slice(0, text.lastIndexOf("\n") + 1)).find((record) => record.event === "summary");
  let summary = summaryIn(readFileSync(logFile, "utf8"));
  while (!summary) {
    expect(cli.exitCode, readFileSync(logFile, "utf8")).toBeNull();
    expect(Date.now() - began, readFileSync(logFile, "utf8")).toBeLessThan(90_000);
    await sleep(50);
    summary = summaryIn(readFileSync(logFile, "utf8"));
  }
  const base = summary.url as string;
  const pid = cli.pid!;

  await (await fetch(`${base}/api/good`)).json();
  await sleep(500);
  const rssBefore = rssBytes(pid);
  const probe = startProbeLoop(`${base}/api/good`, {
    servedBy: pid,
    check: (response) => expect(response.status).toBe(200),
  });
  await sleep(300);
  const armedAt = Date.now();
  writeFileSync(armed, "");
  let rssMax = rssBefore;
  while (Date.now() - armedAt < FLOOD_MS) {
    await sleep(250);
    rssMax = Math.max(rssMax, rssBytes(pid));
  }
  const seen = await probe.stop();
  const floodedMs = Date.now() - armedAt;
  // The flood's lines are counted, not kept (unbounded, they would swamp this process): JSON records are kept.
  let floodBytes = 0;
  const jsonLines: string[] = [];
  for await (const line of createInterface({
    input: createReadStream(logFile, "utf8"),
    crlfDelay: Infinity,
  })) {
    if (line.startsWith("{")) jsonLines.push(line);
    else if (line.startsWith("xxxx")) floodBytes += line.length + 1;
  }
  const json = () => records(jsonLines.join("\n"));
  const statuses = (await (await fetch(`${base}/api/_shell/plugins`)).json()) as PluginStatus[];
  console.log(
    `console flood: ${seen.summary}; shell RSS ${Math.round(rssBefore / 2 ** 20)} -> max ${Math.round(rssMax / 2 ** 20)} MB; ` +
      `${Math.round(floodBytes / 1024)} kB of the flood reached stdout in ${floodedMs} ms`,
  );

  // The route kept answering (the repro saw a 1.3 s answer without the bound; this test's 6 s rarely does).
  expect(seen.samples.length, seen.summary).toBeGreaterThan(20);
  expect(seen.maxShellMs, seen.summary).toBeLessThanOrEqual(250);
  // The process's memory did not follow the flood: measured here, +40 MB with the bound, +115 MB in 6 s without
  // it (the repro, writing to a file for longer, reached ~750 MB). RSS includes the flooding worker's own heap.
  expect(rssMax - rssBefore).toBeLessThan(90 * 2 ** 20);
  // What reached stdout is within the burst plus the rate over the time the flood ran (and some did).
  expect(floodBytes).toBeGreaterThan(0);
  // (One second more than measured: the flood runs on while the log is read.)
  expect(floodBytes).toBeLessThanOrEqual(
    CONSOLE_BURST_BYTES + (CONSOLE_BYTES_PER_SECOND * (floodedMs + 1_000)) / 1000,
  );
  // The flooding plugin was not mistaken for a blocked one, and the good one is untouched.
  expect(statuses.find((status) => status.id === "flood")?.state).toBe("running");
  expect(statuses.find((status) => status.id === "good")?.state).toBe("running");
  // One warning (rate-limited: once a minute), naming the plugin, the limit and the fix.
  const warnings = json().filter(
    (record) => record.pluginId === "flood" && /Console output over/.test(String(record.msg)),
  );
  expect(warnings, JSON.stringify(json().slice(-5))).toHaveLength(1);
  expect(warnings[0]).toMatchObject({ level: 40 });
  expect(String(warnings[0]?.msg)).toMatch(/over 64 kB\/s is dropped: .*ctx\.logger/);
}, 150_000);
