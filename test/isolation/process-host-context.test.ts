// createShell({ isolationHost: childProcessHost() }): an isolated plugin's PluginContext across a process boundary
// behaves as across a thread's (test/isolation/isolated-context.test.ts): request and response bodies stream both
// ways (copied over the IPC channel, a structured clone), IPC invokes and sends cross, config is written by the
// shell, auth is live, the signal aborts in the process at shutdown, and a stopped plugin gives its process back.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { expect, it } from "vitest";
import { childProcessHost, createMemoryIpc } from "../../src/index.js";
import { testShell, workspacePerTest } from "../support/plugins.js";

const fixture = workspacePerTest();
const { shells } = fixture;

const source = `
export async function onStart(ctx) {
  const runs = (await ctx.config.get("runs", 0)) + 1;
  await ctx.config.set("runs", runs);
  ctx.server.registerRouter("/api/proc", (req, res, next) => {
    if (req.url === "/echo" && req.method === "POST") {
      res.setHeader("content-type", "application/octet-stream");
      req.on("data", (chunk) => res.write(chunk));
      req.on("end", () => res.end());
      return;
    }
    if (req.url === "/big") return res.send("y".repeat(8 * 1024 * 1024));
    if (req.url === "/auth") return res.json({ token: ctx.auth.getToken() });
    if (req.url === "/who") return import("node:worker_threads").then((w) => res.json({ pid: process.pid, isMainThread: w.isMainThread }));
    next();
  });
  ctx.ipc.handle("double", (n) => { ctx.ipc.send("doubled", n * 2); return { n: n * 2, missing: undefined, when: new Date(0) }; });
  ctx.ipc.handle("fail", () => { throw new Error("handler said no"); });
  ctx.signal.addEventListener("abort", () => ctx.logger.info("proc", "signal aborted in the process"));
}
export async function onStop() {}
`;

it("serves, invokes, stores, follows auth and aborts its signal across the process boundary", async () => {
  await fixture.ws.write({ id: "proc", source });
  const ipc = createMemoryIpc();
  const { shell, log } = testShell(fixture.ws, {
    isolation: "worker",
    isolationHost: childProcessHost(),
    ipc,
    server: { port: 0, bodyLimit: 16 * 1024 * 1024 },
  });
  shells.push(shell);
  await shell.start();
  const base = shell.status().server.url!;
  const { worker } = shell.status().plugins[0]!;
  expect(worker).toMatchObject({ threadId: 0, pid: expect.any(Number), memoryLimitMb: 512 });
  expect(worker!.pid).not.toBe(process.pid);
  // The route runs in that process, on its main thread.
  expect(await (await fetch(`${base}/api/proc/who`)).json()).toEqual({
    pid: worker!.pid,
    isMainThread: true,
  });

  // A 12 MiB body streamed in and echoed back byte for byte; an 8 MiB answer streamed out.
  const body = Buffer.alloc(12 * 1024 * 1024, 7);
  body[body.length - 1] = 9;
  const echo = await fetch(`${base}/api/proc/echo`, { method: "POST", body });
  expect(echo.status).toBe(200);
  expect(Buffer.from(await echo.arrayBuffer()).equals(body)).toBe(true);
  expect((await (await fetch(`${base}/api/proc/big`)).text()).length).toBe(8 * 1024 * 1024);

  // IPC: a structured clone both ways (undefined and Date survive); sends reach the renderer; failures the caller.
  const pushed: unknown[] = [];
  ipc.on("plugin:proc:doubled", (payload) => pushed.push(payload));
  expect(await ipc.invoke("plugin:proc:double", 21)).toEqual({
    n: 42,
    missing: undefined,
    when: new Date(0),
  });
  await expect.poll(() => pushed).toEqual([42]);
  await expect(ipc.invoke("plugin:proc:fail")).rejects.toThrow(/handler said no/);

  shell.setAuth({ token: "t-123" });
  await expect.poll(async () => (await fetch(`${base}/api/proc/auth`)).json()).toEqual({ token: "t-123" });

  // A stopped plugin gives its process back; started again, it runs in a fresh one.
  expect((await shell.stopPlugin("proc")).state).toBe("stopped");
  await expect.poll(() => shell.status().plugins[0]!.worker).toBeUndefined();
  await expect.poll(() => alive(worker!.pid!), { timeout: 5_000 }).toBe(false);
  expect((await shell.startPlugin("proc")).state).toBe("running");
  const again = shell.status().plugins[0]!.worker!;
  expect(again.pid).not.toBe(worker!.pid);

  // Config was written by the shell; the signal aborts in the process when the shell stops, and it exits.
  await shell.stop();
  expect(log.text()).toContain("signal aborted in the process");
  await expect.poll(() => alive(again.pid!), { timeout: 5_000 }).toBe(false);
  const file = JSON.parse(await readFile(path.join(fixture.ws.dataDir, "config", "proc.json"), "utf8"));
  expect(file).toMatchObject({ runs: 2 });
}, 60_000);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
