// An isolated plugin's PluginContext behaves as in-process (SPEC §3, §12): routes stream large bodies both ways,
// IPC invokes and sends cross the worker boundary, config is written by the shell and survives a restart, auth
// changes reach the worker, and ctx.signal aborts in the worker when the shell disposes the context.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { expect, it } from "vitest";
import { createMemoryIpc } from "../../src/index.js";
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
      let bytes = 0;
      req.on("data", (chunk) => { bytes += chunk.length; res.write(chunk); });
      req.on("end", () => res.end());
      return;
    }
    if (req.url === "/big") return res.send("y".repeat(8 * 1024 * 1024));
    if (req.url === "/auth") return res.json({ authenticated: ctx.auth.isAuthenticated(), token: ctx.auth.getToken() });
    if (req.url === "/runs") return import("node:worker_threads").then((w) => res.json({ runs, threadIsMain: w.isMainThread }));
    next();
  });
  ctx.ipc.handle("double", (n) => { ctx.ipc.send("doubled", n * 2); return n * 2; });
  ctx.ipc.handle("fail", () => { throw new Error("handler said no"); });
  ctx.signal.addEventListener("abort", () => ctx.logger.info("iso", "signal aborted in the worker"));
  try { ctx.server.registerRouter("/api/other", () => {}); } catch (e) { ctx.logger.warn("iso", "refused " + e.code); }
  try { await ctx.config.set("bad", () => 1); } catch (e) { ctx.logger.warn("iso", "config refused " + e.name + " " + e.code); }
}
export async function onStop() {}
`;

it("serves, invokes, stores, follows auth and aborts its signal across the worker boundary", async () => {
  await fixture.ws.write({ id: "iso", source });
  const ipc = createMemoryIpc();
  const { shell, log } = testShell(fixture.ws, {
    isolation: "worker",
    ipc,
    server: { port: 0, bodyLimit: 16 * 1024 * 1024 },
  });
  shells.push(shell);
  await shell.start();
  const base = shell.status().server.url!;
  const status = shell.status().plugins[0]!;
  expect(status.state).toBe("running");
  expect(status.worker).toMatchObject({ threadId: expect.any(Number), memoryLimitMb: 512 });

  // The route runs in the worker.
  expect(await (await fetch(`${base}/api/iso/runs`)).json()).toEqual({ runs: 1, threadIsMain: false });

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

  // IPC: the handler runs in the worker; its send reaches the renderer; a failure reaches the caller.
  const pushed: unknown[] = [];
  ipc.on("plugin:iso:doubled", (payload) => pushed.push(payload));
  expect(await ipc.invoke("plugin:iso:double", 21)).toBe(42);
  await expect.poll(() => pushed).toEqual([42]);
  await expect(ipc.invoke("plugin:iso:fail")).rejects.toThrow(/handler said no/);

  // Auth is live in the worker.
  expect(await (await fetch(`${base}/api/iso/auth`)).json()).toEqual({ authenticated: false, token: null });
  shell.setAuth({ token: "t-123" });
  await expect
    .poll(async () => (await fetch(`${base}/api/iso/auth`)).json())
    .toEqual({ authenticated: true, token: "t-123" });

  // Checks thrown at the call in the worker, with the same codes as in-process.
  await expect.poll(() => log.text()).toContain("refused HANGAR_ROUTE_NAMESPACE");
  expect(log.text()).toContain("config refused TypeError HANGAR_CONFIG_VALUE");

  // Config was written by the shell, to the plugin's file, and a restart reads it back.
  await shell.stop();
  expect(log.text()).toContain("signal aborted in the worker");
  expect(shell.status().plugins[0]!.worker).toBeUndefined();
  const file = JSON.parse(await readFile(path.join(fixture.ws.dataDir, "config", "iso.json"), "utf8"));
  expect(file).toMatchObject({ runs: 1 });
  const second = testShell(fixture.ws, { isolation: "worker" });
  shells.push(second.shell);
  await second.shell.start();
  expect(await (await fetch(`${second.shell.status().server.url}/api/iso/runs`)).json()).toEqual({
    runs: 2,
    threadIsMain: false,
  });
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

it("gives a stopped plugin's worker back, and starts it again in a fresh worker", async () => {
  await fixture.ws.write({
    id: "idle",
    source: `
let starts = 0;
export function onStart(ctx) {
  starts += 1;
  ctx.server.registerRouter("/api/idle", (req, res) => res.json({ starts }));
}
export function onStop() {}
`,
  });
  const { shell } = testShell(fixture.ws, { isolation: "worker" });
  shells.push(shell);
  await shell.start();
  const base = shell.status().server.url!;
  const first = shell.status().plugins[0]!.worker!.threadId;
  expect(await (await fetch(`${base}/api/idle`)).json()).toEqual({ starts: 1 });

  expect((await shell.stopPlugin("idle")).state).toBe("stopped");
  // No idle thread is kept for a stopped plugin.
  await expect.poll(() => shell.status().plugins[0]!.worker).toBeUndefined();
  expect((await fetch(`${base}/api/idle`)).status).toBe(503);

  // Started again: a new worker, a new module instance (its count starts over), the route served again.
  expect((await shell.startPlugin("idle")).state).toBe("running");
  const second = shell.status().plugins[0]!.worker!.threadId;
  expect(second).not.toBe(first);
  expect(await (await fetch(`${base}/api/idle`)).json()).toEqual({ starts: 1 });
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
