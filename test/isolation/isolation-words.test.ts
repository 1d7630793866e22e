// What an isolated plugin's faults are called, through the real CLI in a child process (`hangar run --json`): an
// IPC handler's result crosses the worker as an in-process one crosses the WebSocket bridge (functions vanish, a
// value JSON cannot encode fails with the same sentence); a busy IPC handler is named by the watchdog as a busy
// route is; a worker already busy in a route when Ctrl+C comes is blamed on that route, not on the onStop it never
// began; a throwing abort listener and an unsendable result are logged with the plugin's id and the fix.
// Code a route or an IPC handler left behind fails that request or invoke while it waits, and after the answer is
// logged once; the plugin keeps running (as in-process). An odd thrown value (a throwing `stack` getter, a Proxy
// whose traps throw) is the crash of an uncaught throw, not an "exit code 1"; a crash says whether a throw or a
// rejected promise ended the worker; a worker that exits in onStart is not told to "return from onStop".
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { PluginStatus } from "../../src/index.js";
import { connect, type TestClient } from "../ipc/websocket-client.js";
import { createWorkspace, type Workspace } from "../support/plugins.js";
import { type Running, records, sleep, start, waitFor, waitForEvent } from "../support/processes.js";

/** The CLI's default watchdog limit (SPEC §12). */
const UNRESPONSIVE_MS = 5_000;
/** A loaded 2-core machine delays the watchdog's timer and every worker. */
const SLACK_MS = 10_000;

let ws: Workspace;
let cli: Running;
let base: string;
let client: TestClient;

const patient = {
  loadTimeoutMs: 120_000,
  startTimeoutMs: 30_000,
  stopTimeoutMs: 12_000,
  restart: { policy: "never" },
};

/** The same handlers in-process and isolated, so their answers can be compared. */
const handlers = `
  ctx.ipc.handle("fn", () => ({ n: 1, f() {} }));
  ctx.ipc.handle("deep", () => { let o = { leaf: true }; for (let i = 0; i < 100000; i++) o = { o }; return o; });
  ctx.ipc.handle("cyclic", () => { const o = { a: 1 }; o.self = o; return o; });
  ctx.ipc.handle("spin", () => { for (;;) {} });
  ctx.signal.addEventListener("abort", () => { throw new Error("listener boom"); });
`;

const source = (start: string, stop = "") =>
  `export async function onStart(ctx) { ${start} }\nexport async function onStop() { ${stop} }\n`;

/**
 * Faults armed by a file, so that they strike while the plugin runs, outside any request (code a route left
 * behind fails only its request).
 */
const armed = (id: string, fault: string) =>
  source(
    `const file = ${JSON.stringify(`${id}.armed`)}; const fs = await import("node:fs"); const dir = process.env.ARM_DIR;
     const timer = setInterval(() => { if (fs.existsSync(dir + "/" + file)) { clearInterval(timer); ${fault} } }, 50);`,
  );

beforeAll(async () => {
  ws = await createWorkspace();
  await ws.write({ id: "inproc", source: source(handlers), manifest: { background: patient } });
  await ws.write({
    id: "iso",
    source: source(handlers),
    manifest: { background: { isolation: "worker", ...patient } },
  });
  await ws.write({
    id: "stopper",
    source: source(`ctx.server.registerRouter("/api/stopper", (req, res) => { for (;;) {} });`),
    manifest: { background: { isolation: "worker", ...patient } },
  });
  // A busy onStop with the default stop timeout (5 s, as the watchdog's): docs/isolation.md says which code it gets.
  await ws.write({
    id: "busy-stop",
    source: source("", "for (;;) {}"),
    manifest: { background: { isolation: "worker", loadTimeoutMs: 120_000, restart: { policy: "never" } } },
  });
  await ws.write({
    id: "audit",
    source: source(`
      globalThis.startedAt ??= Date.now();
      ctx.server.registerRouter("/api/audit", (req, res) => {
        if (req.path === "/flight") {
          res.json({ saved: true });
          // Twice: the second is dropped, an interval left behind must not flood the log.
          setTimeout(() => { throw new Error("audit log write failed"); }, 20);
          setTimeout(() => { throw new Error("second late failure"); }, 40);
        } else if (req.path === "/timer") {
          setTimeout(() => { throw new Error("route timer boom"); }, 10);
        } else if (req.path === "/forgot") {
          setTimeout(() => { Promise.reject(new Error("route forgot boom")); }, 10);
        } else res.json({ startedAt: globalThis.startedAt });
      });
      ctx.ipc.handle("late", () => { setTimeout(() => { throw new Error("ipc late boom"); }, 20); return "answered"; });
      ctx.ipc.handle("timer", () => new Promise(() => { setTimeout(() => { throw new Error("ipc timer boom"); }, 10); }));
    `),
    manifest: { background: { isolation: "worker", ...patient } },
  });
  await ws.write({
    id: "stack-getter",
    source: armed(
      "stack-getter",
      `const e = new Error("base"); Object.defineProperty(e, "stack", { get() { throw new Error("stack getter"); } }); throw e;`,
    ),
    manifest: { background: { isolation: "worker", ...patient } },
  });
  await ws.write({
    id: "proxy",
    source: armed("proxy", `throw new Proxy({}, { get() { throw new Error("proxy trap"); } });`),
    manifest: { background: { isolation: "worker", ...patient } },
  });
  await ws.write({
    id: "rejecter",
    source: armed("rejecter", `Promise.reject(new Error("nobody caught me"));`),
    manifest: { background: { isolation: "worker", ...patient } },
  });
  await ws.write({
    id: "exits-in-start",
    source: source("process.exit(4);"),
    manifest: { background: { isolation: "worker", ...patient } },
  });
  cli = start(
    process.execPath,
    [path.resolve("bin/hangar.js"), "run", ws.pluginsDir, "--json", "--port", "0", "--data-dir", ws.dataDir],
    { cwd: ws.root, env: { ARM_DIR: ws.root } },
  );
  const summary = await waitForEvent(cli, "summary");
  base = summary.url as string;
  client = await connect(`${base.replace(/^http/, "ws")}/_hangar/ipc`);
}, 240_000);

afterAll(async () => {
  client?.socket.terminate();
  cli?.child.kill("SIGKILL");
  await ws?.cleanup();
});

async function status(id: string): Promise<PluginStatus | undefined> {
  const list = (await (await fetch(`${base}/api/_shell/plugins`)).json()) as PluginStatus[];
  return list.find((plugin) => plugin.id === id);
}

const errorText = (text: string) => text.replace(/^[A-Za-z]*Error: /, "");

it("answers an isolated handler's result as the in-process bridge does: functions vanish, deep and cyclic values fail readably", async () => {
  expect(await client.invoke("plugin:inproc:fn")).toMatchObject({ ok: true, value: { n: 1 } });
  expect(await client.invoke("plugin:iso:fn")).toMatchObject({ ok: true, value: { n: 1 } });

  for (const channel of ["deep", "cyclic"]) {
    const inProcess = await client.invoke(`plugin:inproc:${channel}`);
    const isolated = await client.invoke(`plugin:iso:${channel}`);
    expect(inProcess.ok, JSON.stringify(inProcess)).toBe(false);
    expect(isolated.ok, JSON.stringify(isolated)).toBe(false);
    const said = (frame: typeof inProcess, id: string) =>
      errorText(frame.ok === false ? frame.error : "").replace(`plugin:${id}:`, "plugin:…:");
    // The same sentence, naming the channel, the reason and the fix.
    expect(said(isolated, "iso")).toBe(said(inProcess, "inproc"));
    expect(said(isolated, "iso")).toMatch(
      new RegExp(
        `^The handler for 'plugin:…:${channel}' returned a value that cannot be sent as JSON \\(.+\\)\\. Return plain JSON data`,
        "s",
      ),
    );
  }
  // The warning about the in-process cyclic value carries the plugin's id.
  const warning = await waitFor(cli, (stdout) =>
    records(stdout).find((record) => String(record.msg).includes("'plugin:inproc:cyclic' returned a value")),
  );
  expect(warning).toMatchObject({ level: 40, pluginId: "inproc" });
}, 60_000);

it("names the IPC invoke an isolated plugin was busy in when the watchdog ends it", async () => {
  void client.invoke("plugin:iso:spin");
  const started = Date.now();
  let iso = await status("iso");
  while (iso?.state !== "errored") {
    expect(Date.now() - started, JSON.stringify(iso)).toBeLessThan(UNRESPONSIVE_MS + SLACK_MS);
    await sleep(100);
    iso = await status("iso");
  }
  expect(iso.error).toMatchObject({ code: "HANGAR_PLUGIN_UNRESPONSIVE", phase: "run" });
  expect(iso.error?.message).toMatch(/'iso'.*blocked for \d+ ms while handling invoke 'spin' \(phase run\)/);
}, 60_000);

async function erroredSoon(id: string): Promise<PluginStatus> {
  const started = Date.now();
  let plugin = await status(id);
  while (plugin?.state !== "errored") {
    expect(Date.now() - started, JSON.stringify(plugin)).toBeLessThan(SLACK_MS);
    await sleep(100);
    plugin = await status(id);
  }
  return plugin;
}

it("fails the request or invoke that left code behind while it waits, logs it once after the answer, and keeps the plugin running", async () => {
  const first = (await (await fetch(`${base}/api/audit/status`)).json()) as { startedAt: number };

  const flight = await fetch(`${base}/api/audit/flight`, { method: "POST" });
  expect(flight.status).toBe(200);
  expect(await flight.json()).toEqual({ saved: true });
  const late = await waitFor(cli, (stdout) =>
    records(stdout).find((record) => String(record.msg).includes("left code that failed after the response")),
  );
  expect(late).toMatchObject({ level: 50, pluginId: "audit" });
  expect(String(late.msg)).toContain(
    "Route POST /api/audit/flight left code that failed after the response was sent: audit log write failed",
  );

  // Before the answer, the request fails as a throwing route does: 500, the plugin runs on.
  for (const [route, reason] of [
    ["timer", "route timer boom"],
    ["forgot", "route forgot boom"],
  ] as const) {
    const response = await fetch(`${base}/api/audit/${route}`);
    expect(response.status, route).toBe(500);
    await waitFor(cli, (stdout) =>
      records(stdout).find(
        (record) => record.code === "HANGAR_ROUTE_FAILED" && String(record.msg).includes(reason),
      ),
    );
  }

  expect(await client.invoke("plugin:audit:late")).toMatchObject({ ok: true, value: "answered" });
  await waitFor(cli, (stdout) =>
    records(stdout).find((record) =>
      String(record.msg).includes("The handler for 'late' left code that failed after it answered"),
    ),
  );
  const timer = await client.invoke("plugin:audit:timer");
  expect(timer.ok).toBe(false);
  expect(timer.ok === false && timer.error).toMatch(/ipc timer boom/);

  await sleep(300);
  const audit = await status("audit");
  expect(audit?.state, JSON.stringify(audit)).toBe("running");
  expect(audit?.error).toBeUndefined();
  // The same worker: no crash, no restart.
  const again = (await (await fetch(`${base}/api/audit/status`)).json()) as { startedAt: number };
  expect(again.startedAt).toBe(first.startedAt);
  const lateRecords = records(cli.stdout()).filter((record) =>
    String(record.msg).includes("left code that failed after the response was sent"),
  );
  expect(lateRecords).toHaveLength(1);
  expect(cli.stdout()).not.toContain("second late failure");
}, 120_000);

it("reports an odd thrown value as the uncaught throw it was, and a rejection as a rejection", async () => {
  for (const id of ["stack-getter", "proxy", "rejecter"])
    await writeFile(path.join(ws.root, `${id}.armed`), "");
  const getter = await erroredSoon("stack-getter");
  expect(getter.error).toMatchObject({ code: "HANGAR_PLUGIN_CRASHED", phase: "run" });
  expect(getter.error?.message).toMatch(
    /'stack-getter' crashed \(phase run\): its code threw: base \(uncaught/,
  );
  expect(getter.error?.message).not.toMatch(/exit code|process\.exit/);

  const proxy = await erroredSoon("proxy");
  expect(proxy.error?.message).toMatch(
    // The words of in-process (src/thrown.ts describeThrown), with what the trap threw.
    /'proxy' crashed \(phase run\): its code threw: an object was thrown \(reading its name, message, stack threw: proxy trap\)/,
  );
  expect(proxy.error?.message).not.toMatch(/exit code|process\.exit/);

  const rejecter = await erroredSoon("rejecter");
  expect(rejecter.error?.message).toMatch(
    /'rejecter' crashed \(phase run\): a promise it did not handle rejected: nobody caught me/,
  );
}, 120_000);

it("does not tell a plugin that exits in onStart to return from onStop", async () => {
  const exits = await erroredSoon("exits-in-start");
  expect(exits.error).toMatchObject({ code: "HANGAR_PLUGIN_CRASHED", phase: "start" });
  expect(exits.error?.message).toMatch(/exit code 4 \(phase start\)/);
  expect(exits.error?.message).not.toMatch(/onStop/);
  expect(exits.error?.message).toMatch(/throw from its hook/);
}, 60_000);

it("at Ctrl+C, blames the route a worker was already busy in, not the onStop it never began; a busy onStop gets its stop timeout; a throwing abort listener is named", async () => {
  void fetch(`${base}/api/stopper/spin`).catch(() => {});
  // The request reaches the worker, which then spins; the shell is asked to stop while it does.
  await sleep(1_000);
  cli.child.kill("SIGINT");
  await cli.exited;
  const failed = records(cli.stdout()).find(
    (record) => record.pluginId === "stopper" && record.code === "HANGAR_PLUGIN_UNRESPONSIVE",
  );
  expect(failed, cli.stdout().slice(-4000)).toBeDefined();
  expect(String(failed?.msg ?? (failed?.err as { message?: string })?.message)).toMatch(
    /'stopper'.*blocked for \d+ ms while serving GET \/api\/stopper\/spin, so onStop never began/,
  );
  expect(String(failed?.msg)).toMatch(/could not run onStop/);
  expect(String(failed?.msg)).not.toMatch(/failed in onStop/);
  // Equal stop timeout and watchdog limit: the stop timeout, counted from when onStop was asked, passes first.
  const busyStop = records(cli.stdout()).find(
    (record) => record.pluginId === "busy-stop" && typeof record.code === "string",
  );
  expect(busyStop, cli.stdout().slice(-4000)).toMatchObject({ code: "HANGAR_STOP_TIMEOUT", phase: "stop" });
  // The in-process plugin's abort listener threw while its context closed: the plugin, the call and the fix.
  const listener = records(cli.stdout()).find(
    (record) =>
      record.pluginId === "inproc" && String(record.msg).includes("ctx.signal.addEventListener('abort'"),
  );
  expect(listener, cli.stdout().slice(-4000)).toMatchObject({ level: 50 });
  expect(String(listener?.msg)).toMatch(
    /Plugin 'inproc'.*threw.*Catch errors inside the plugin's abort listeners/,
  );
}, 60_000);
