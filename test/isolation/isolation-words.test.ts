// What an isolated plugin's faults are called, through the real CLI in a child process (`hangar run --json`): an
// IPC handler's result crosses the worker as an in-process one crosses the WebSocket bridge (functions vanish, a
// value JSON cannot encode fails with the same sentence); a busy IPC handler is named by the watchdog as a busy
// route is; a worker already busy in a route when Ctrl+C comes is blamed on that route, not on the onStop it never
// began; a throwing abort listener and an unsendable result are logged with the plugin's id and the fix.
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

beforeAll(async () => {
  ws = await createWorkspace();
  const source = (start: string, stop = "") =>
    `export async function onStart(ctx) { ${start} }\nexport async function onStop() { ${stop} }\n`;
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
  cli = start(
    process.execPath,
    [path.resolve("bin/hangar.js"), "run", ws.pluginsDir, "--json", "--port", "0", "--data-dir", ws.dataDir],
    { cwd: ws.root },
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
