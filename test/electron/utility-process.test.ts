// hangar/electron's utilityProcessHost on the fake Electron (a real forked Node process per plugin): an isolated
// plugin's route and IPC work through its utility process, the process ending is that plugin's crash (the rest
// carries on), and shutdown runs onStop in each process and leaves none behind.
import { afterEach, beforeEach, expect, expectTypeOf, it } from "vitest";
import { type ElectronUtilityProcessModule, utilityProcessHost } from "../../src/electron/index.js";
import { createMemoryIpc } from "../../src/index.js";
import { createFakeElectron, type FakeElectron } from "../support/fake-electron.js";
import { testShell, workspacePerTest } from "../support/plugins.js";

let electron: FakeElectron;
beforeEach(() => {
  electron = createFakeElectron();
});
// Registered before the workspace fixture, so it runs after it (vitest runs afterEach hooks last-in, first-out):
// the shells stop first, then whatever utility process is left is killed.
afterEach(() => {
  for (const child of electron.utilityProcess.forked) child.kill();
});
const fixture = workspacePerTest();
const { shells } = fixture;

it("accepts Electron's own utilityProcess module, and the fake's", () => {
  expectTypeOf<typeof import("electron").utilityProcess>().toMatchTypeOf<ElectronUtilityProcessModule>();
  expectTypeOf(electron.utilityProcess).toMatchTypeOf<ElectronUtilityProcessModule>();
  expect(() => utilityProcessHost({} as never)).toThrow(/pass Electron's utilityProcess module/);
});

it("serves routes and IPC from a utility process, reports its exit as that plugin's crash, and shuts down", async () => {
  await fixture.ws.write({
    id: "tower",
    source: `
let logger;
export function onStart(ctx) {
  logger = ctx.logger;
  ctx.server.registerRouter("/api/tower", (req, res, next) => {
    if (req.url === "/whoami") return import("node:worker_threads").then((w) =>
      res.json({ pid: process.pid, isMainThread: w.isMainThread }));
    if (req.url === "/echo" && req.method === "POST") {
      const chunks = [];
      req.on("data", (chunk) => chunks.push(chunk));
      req.on("end", () => res.type("application/octet-stream").send(Buffer.concat(chunks)));
      return;
    }
    next();
  });
  ctx.ipc.handle("double", (n) => n * 2);
}
export function onStop() { logger.info("tower", "stopped in process " + process.pid); }
`,
  });
  await fixture.ws.write({
    id: "crashy",
    manifest: { background: { restart: { policy: "never" } } },
    source: `
export function onStart(ctx) { ctx.ipc.handle("exit", () => process.exit(7)); }
export function onStop() {}
`,
  });
  const ipc = createMemoryIpc();
  const { shell, log } = testShell(fixture.ws, {
    isolation: "worker",
    isolationHost: utilityProcessHost(electron.utilityProcess),
    ipc,
    server: { port: 0, bodyLimit: 4 * 1024 * 1024 },
  });
  shells.push(shell);
  await shell.start();
  const base = shell.status().server.url!;
  const byId = () => Object.fromEntries(shell.status().plugins.map((p) => [p.id, p]));

  // Each plugin runs in its own process, not in the shell's.
  expect(electron.utilityProcess.forked).toHaveLength(2);
  const tower = byId().tower!;
  expect(tower.state).toBe("running");
  expect(tower.worker).toMatchObject({ threadId: 0, pid: expect.any(Number) });
  expect(tower.worker!.pid).not.toBe(process.pid);
  expect(await (await fetch(`${base}/api/tower/whoami`)).json()).toEqual({
    pid: tower.worker!.pid,
    isMainThread: true,
  });
  const body = Buffer.alloc(3 * 1024 * 1024, 5);
  body[body.length - 1] = 6;
  const echo = await fetch(`${base}/api/tower/echo`, { method: "POST", body });
  expect(echo.status).toBe(200);
  expect(Buffer.from(await echo.arrayBuffer()).equals(body)).toBe(true);
  expect(await ipc.invoke("plugin:tower:double", 21)).toBe(42);

  // The process exits: that plugin crashed, with its exit code; the other keeps serving.
  await expect(ipc.invoke("plugin:crashy:exit")).rejects.toThrow();
  await expect.poll(() => byId().crashy?.state).toBe("errored");
  expect(byId().crashy!.error).toMatchObject({ phase: "run", code: "HANGAR_PLUGIN_CRASHED" });
  expect(byId().crashy!.error!.message).toMatch(/exit code 7/);
  expect(byId().crashy!.worker).toBeUndefined();
  expect((await fetch(`${base}/api/tower/whoami`)).status).toBe(200);

  // Shutdown: onStop runs in the process, then every process has exited.
  const towerPid = tower.worker!.pid;
  await shell.stop();
  expect(shell.status().shutdown?.clean).toBe(true);
  expect(log.text()).toContain(`stopped in process ${towerPid}`);
  expect(electron.utilityProcess.forked.every((child) => child.pid === undefined)).toBe(true);
  expect(log.text()).not.toMatch(/HANGAR_PLUGIN_CRASHED.*tower/);
});

it("reports a utility process that runs out of heap as that plugin's crash, out of memory, as Electron's 'error' then 'exit' say", async () => {
  await fixture.ws.write({
    id: "bystander",
    source: `export function onStart(ctx) { ctx.server.registerRouter("/api/bystander", (req, res) => res.json({ ok: true })); }
export function onStop() {}`,
  });
  await fixture.ws.write({
    id: "hog",
    manifest: { background: { memoryLimitMb: 32, restart: { policy: "never" } } },
    source: `
export function onStart(ctx) {
  ctx.ipc.handle("grow", () => {
    const hoard = [];
    const grow = () => { hoard.push(new Array(5e5).fill(hoard.length)); setImmediate(grow); };
    grow();
  });
}
export function onStop() {}
`,
  });
  const ipc = createMemoryIpc();
  const { shell } = testShell(fixture.ws, {
    isolation: "worker",
    isolationHost: utilityProcessHost(electron.utilityProcess),
    ipc,
    server: { port: 0 },
  });
  shells.push(shell);
  await shell.start();
  const byId = () => Object.fromEntries(shell.status().plugins.map((p) => [p.id, p]));
  const hogProcess = electron.utilityProcess.forked.find((child) => child.pid === byId().hog?.worker?.pid)!;
  const events: string[] = [];
  hogProcess.on("error", (type: string, location: string) => events.push(`error ${type} ${location}`));
  hogProcess.on("exit", (code: number) => events.push(`exit ${code}`));

  void ipc.invoke("plugin:hog:grow").catch(() => {});
  await expect.poll(() => byId().hog?.state, { timeout: 60_000 }).toBe("errored");
  // What the user reads: out of memory at its limit, not an exit code.
  expect(byId().hog!.error).toMatchObject({ phase: "run", code: "HANGAR_PLUGIN_CRASHED" });
  expect(byId().hog!.error!.message).toMatch(/'hog' ran out of memory.*\(32 MB\)/);
  // The fake said it as Electron documents: 'error' (FatalError, where V8 gave up), then 'exit' with a code.
  expect(events[0]).toMatch(/^error FatalError \S/);
  expect(events[1]).toMatch(/^exit \d+$/);
  expect(events[1]).not.toBe("exit 0");
  expect(await (await fetch(`${shell.status().server.url}/api/bystander`)).json()).toEqual({ ok: true });
}, 90_000);
