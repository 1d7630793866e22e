// An isolated plugin's PluginContext behaves as in-process (SPEC §3, §12), in a worker thread (the default host) and
// in a Node process of its own (childProcessHost): routes stream large bodies both ways (moved between threads,
// copied over a process's IPC channel), IPC invokes and sends cross (a structured clone: undefined and Date
// survive), config is written by the shell and read back by a fresh isolate, auth changes reach the plugin, the
// checks throw at the call with in-process codes, a stopped plugin gives its isolate back, and ctx.signal aborts in
// the isolate when the shell stops.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { childProcessHost, createMemoryIpc } from "../../src/index.js";
import { testShell, workspacePerTest } from "../support/plugins.js";

const fixture = workspacePerTest();
const { shells } = fixture;

const source = `
export async function onStart(ctx) {
  const runs = (await ctx.config.get("runs", 0)) + 1;
  await ctx.config.set("runs", runs);
  ctx.server.registerRouter("/api/iso", (req, res, next) => {
    if (req.url === "/echo" && req.method === "POST") {
      res.setHeader("content-type", "application/octet-stream");
      res.setHeader("x-base", req.baseUrl);
      req.on("data", (chunk) => res.write(chunk));
      req.on("end", () => res.end());
      return;
    }
    if (req.url === "/big") return res.send("y".repeat(8 * 1024 * 1024));
    if (req.url === "/auth") return res.json({ authenticated: ctx.auth.isAuthenticated(), token: ctx.auth.getToken() });
    if (req.url === "/who") return import("node:worker_threads").then((w) => res.json({ runs, pid: process.pid, isMainThread: w.isMainThread }));
    next();
  });
  ctx.ipc.handle("double", (n) => { ctx.ipc.send("doubled", n * 2); return { n: n * 2, missing: undefined, when: new Date(0) }; });
  ctx.ipc.handle("fail", () => { throw new Error("handler said no"); });
  ctx.signal.addEventListener("abort", () => ctx.logger.info("iso", "signal aborted in the isolate"));
  try { ctx.server.registerRouter("/api/other", () => {}); } catch (e) { ctx.logger.warn("iso", "refused " + e.code); }
  try { await ctx.config.set("bad", () => 1); } catch (e) { ctx.logger.warn("iso", "config refused " + e.name + " " + e.code); }
}
export async function onStop() {}
`;

/** True while process `pid` runs. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.each([
  { where: "a worker thread", ownProcess: false },
  { where: "a Node process (childProcessHost)", ownProcess: true },
])("in $where", ({ ownProcess }) => {
  it("serves, invokes, stores, follows auth and aborts its signal across the boundary", async () => {
    await fixture.ws.write({ id: "iso", source });
    const ipc = createMemoryIpc();
    const { shell, log } = testShell(fixture.ws, {
      isolation: "worker",
      ...(ownProcess ? { isolationHost: childProcessHost() } : {}),
      ipc,
      server: { port: 0, bodyLimit: 16 * 1024 * 1024 },
    });
    shells.push(shell);
    await shell.start();
    const base = shell.status().server.url!;
    const status = shell.status().plugins[0]!;
    expect(status.state).toBe("running");
    const worker = status.worker!;
    // The route runs in the isolate: another thread of this process, or the main thread of another process.
    if (ownProcess) {
      expect(worker).toMatchObject({ threadId: 0, pid: expect.any(Number), memoryLimitMb: 512 });
      expect(worker.pid).not.toBe(process.pid);
    } else expect(worker).toMatchObject({ threadId: expect.any(Number), memoryLimitMb: 512 });
    expect(await (await fetch(`${base}/api/iso/who`)).json()).toEqual({
      runs: 1,
      pid: ownProcess ? worker.pid : process.pid,
      isMainThread: ownProcess,
    });

    // A 12 MiB body streamed in and echoed back byte for byte; an 8 MiB answer streamed out.
    const body = Buffer.alloc(12 * 1024 * 1024, 7);
    body[body.length - 1] = 9;
    const echo = await fetch(`${base}/api/iso/echo`, { method: "POST", body });
    expect(echo.status).toBe(200);
    expect(echo.headers.get("x-base")).toBe("/api/iso");
    expect(Buffer.from(await echo.arrayBuffer()).equals(body)).toBe(true);
    expect((await (await fetch(`${base}/api/iso/big`)).text()).length).toBe(8 * 1024 * 1024);
    // No route answered: the shell's JSON 404, as in-process.
    const missing = await fetch(`${base}/api/iso/nothing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ success: false });

    // IPC: the handler runs in the isolate, a structured clone both ways; its send reaches the renderer; a failure
    // reaches the caller.
    const pushed: unknown[] = [];
    ipc.on("plugin:iso:doubled", (payload) => pushed.push(payload));
    expect(await ipc.invoke("plugin:iso:double", 21)).toEqual({
      n: 42,
      missing: undefined,
      when: new Date(0),
    });
    await expect.poll(() => pushed).toEqual([42]);
    await expect(ipc.invoke("plugin:iso:fail")).rejects.toThrow(/handler said no/);

    // Auth is live in the isolate.
    expect(await (await fetch(`${base}/api/iso/auth`)).json()).toEqual({ authenticated: false, token: null });
    shell.setAuth({ token: "t-123" });
    await expect
      .poll(async () => (await fetch(`${base}/api/iso/auth`)).json())
      .toEqual({ authenticated: true, token: "t-123" });

    // Checks thrown at the call in the isolate, with the same codes as in-process.
    await expect.poll(() => log.text()).toContain("refused HANGAR_ROUTE_NAMESPACE");
    expect(log.text()).toContain("config refused TypeError HANGAR_CONFIG_VALUE");

    // A stopped plugin gives its isolate back (its routes answer 503); started again, it runs in a fresh one, which
    // reads back the config the shell wrote.
    expect((await shell.stopPlugin("iso")).state).toBe("stopped");
    await expect.poll(() => shell.status().plugins[0]!.worker).toBeUndefined();
    expect((await fetch(`${base}/api/iso/who`)).status).toBe(503);
    if (ownProcess) await expect.poll(() => alive(worker.pid!), { timeout: 5_000 }).toBe(false);
    expect((await shell.startPlugin("iso")).state).toBe("running");
    const again = shell.status().plugins[0]!.worker!;
    if (ownProcess) expect(again.pid).not.toBe(worker.pid);
    else expect(again.threadId).not.toBe(worker.threadId);
    expect(await (await fetch(`${base}/api/iso/who`)).json()).toMatchObject({ runs: 2 });

    // The signal aborts in the isolate when the shell stops, and the isolate ends.
    await shell.stop();
    expect(log.text()).toContain("signal aborted in the isolate");
    expect(shell.status().plugins[0]!.worker).toBeUndefined();
    if (ownProcess) await expect.poll(() => alive(again.pid!), { timeout: 5_000 }).toBe(false);
    const file = JSON.parse(await readFile(path.join(fixture.ws.dataDir, "config", "iso.json"), "utf8"));
    expect(file).toMatchObject({ runs: 2 });
  }, 60_000);
});

it("runs a plugin in a worker when its plugin.json asks, whatever the shell's default", async () => {
  await fixture.ws.write({
    id: "own",
    manifest: { background: { isolation: "worker", memoryLimitMb: 64 } },
    source: `export function onStart(ctx) {} export function onStop() {}`,
  });
  await fixture.ws.write({
    id: "plain",
    source: `export function onStart(ctx) {} export function onStop() {}`,
  });
  const { shell } = testShell(fixture.ws);
  shells.push(shell);
  await shell.start();
  const byId = Object.fromEntries(shell.status().plugins.map((p) => [p.id, p]));
  expect(byId.own?.worker?.memoryLimitMb).toBe(64);
  expect(byId.plain?.worker).toBeUndefined();
});

it("answers route errors, HEAD and cut-short answers as in-process, and tells the route when the client goes away", async () => {
  await fixture.ws.write({
    id: "edge",
    source: `
export function onStart(ctx) {
  ctx.server.registerRouter("/api/edge", (req, res, next) => {
    if (req.url === "/boom") throw new Error("route exploded");
    if (req.url === "/hello") return res.set("x-plugin", "edge").send("hello from the worker");
    if (req.url === "/cut") { res.writeHead(200, { "content-type": "text/plain" }); res.write("partial"); setTimeout(() => res.destroy(), 50); return; }
    if (req.url === "/upload" && req.method === "POST") {
      res.on("close", () => { if (!res.writableFinished) ctx.logger.info("edge", "the client went away"); });
      req.on("data", () => {});
      return;
    }
    next();
  });
}
export function onStop() {}
`,
  });
  const { shell, log } = testShell(fixture.ws, {
    isolation: "worker",
    server: { port: 0, bodyLimit: 8 * 1024 * 1024 },
  });
  shells.push(shell);
  await shell.start();
  const base = shell.status().server.url!;

  const boom = await fetch(`${base}/api/edge/boom`);
  expect(boom.status).toBe(500);
  const failure = (await boom.json()) as { success: boolean; error: string };
  expect(failure.success).toBe(false);
  expect(JSON.stringify(failure)).not.toMatch(/at .*index\.mjs/);
  await expect.poll(() => log.text()).toContain("route exploded");

  const head = await fetch(`${base}/api/edge/hello`, { method: "HEAD" });
  expect(head.status).toBe(200);
  expect(head.headers.get("x-plugin")).toBe("edge");
  expect(head.headers.get("content-length")).toBe(String("hello from the worker".length));
  expect(await head.text()).toBe("");
  expect(await (await fetch(`${base}/api/edge/hello`)).text()).toBe("hello from the worker");

  // The route destroys its response after the headers went out: the client sees the answer cut short.
  const cut = await fetch(`${base}/api/edge/cut`);
  expect(cut.status).toBe(200);
  await expect(cut.text()).rejects.toThrow();

  // The client goes away before the answer: the route's response closes unfinished in the worker, as on a socket.
  const controller = new AbortController();
  const upload = fetch(`${base}/api/edge/upload`, {
    method: "POST",
    body: Buffer.alloc(6 * 1024 * 1024, 1),
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(), 300);
  await expect(upload).rejects.toThrow();
  await expect.poll(() => log.text(), { timeout: 10_000 }).toContain("the client went away");
  // And the plugin serves on.
  expect((await fetch(`${base}/api/edge/hello`)).status).toBe(200);
});
