// The whole engine from outside, through the package's exports: real plugin folders, a real server on
// port 0, real config files. What a shell author and a plugin author would notice. Every test runs through
// each IPC transport: in-memory, and Electron's (hangar/electron + hangar/preload on the fake Electron).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Shell } from "../../src/index.js";
import { type IpcHarness, ipcHarnesses } from "../support/ipc-harness.js";
import { fileGate, goodPluginSource, loggedBy, testShell, workspacePerTest } from "../support/plugins.js";

const fixture = workspacePerTest();
const { shells } = fixture;

/** Polls the shell's status until the plugin reaches `state` (no timing is asserted). */
async function untilPluginState(shell: Shell, id: string, state: string): Promise<void> {
  while (shell.status().plugins.find((p) => p.id === id)?.state !== state) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function get(shell: Shell, url: string) {
  const response = await fetch(new URL(url, shell.status().server.url!));
  return { status: response.status, body: await response.json(), headers: response.headers };
}

describe.each(ipcHarnesses)("shell lifecycle over $name", ({ create }) => {
  /** A shell over the workspace whose IPC goes through this suite's transport (unless options say otherwise). */
  function start(options: Parameters<typeof testShell>[1] = {}) {
    const made = testShell(fixture.ws, { ipc: create().transport, ...options });
    shells.push(made.shell);
    return made;
  }

  /** A transport with its renderer side, for tests that call plugins over IPC. */
  function withIpc(): { ipc: IpcHarness; transport: IpcHarness["transport"] } {
    const ipc = create();
    return { ipc, transport: ipc.transport };
  }

  it("starts plugins, serves their routes and IPC, and reports status", async () => {
    await fixture.ws.write({ id: "alpha", source: goodPluginSource("alpha"), manifest: { name: "Alpha" } });
    await fixture.ws.write({ id: "gallery", manifest: { ui: { entry: "ui/index.js" } } });
    const { ipc, transport } = withIpc();
    const { shell } = start({ ipc: transport });
    await shell.start();

    const status = shell.status();
    expect(status.state).toBe("running");
    expect(status.server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const alpha = status.plugins.find((p) => p.id === "alpha")!;
    expect(alpha).toMatchObject({
      id: "alpha",
      version: "1.0.0",
      name: "Alpha",
      background: true,
      state: "running",
    });
    expect(alpha.startedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(alpha.timings.loadMs).toBeGreaterThanOrEqual(0);
    expect(alpha.timings.startMs).toBeGreaterThanOrEqual(0);
    expect(status.plugins.find((p) => p.id === "gallery")).toMatchObject({
      background: false,
      state: "inactive",
    });

    const route = await get(shell, "/api/alpha/status");
    expect(route.status).toBe(200);
    expect(route.body).toMatchObject({ ok: true, id: "alpha", starts: 1 });
    await expect(ipc.invoke("plugin:alpha:ping", 42)).resolves.toMatchObject({ pong: 42 });

    const health = await get(shell, "/api/_shell/health");
    expect(health.status).toBe(200);
    const listed = await get(shell, "/api/_shell/plugins/alpha");
    expect(listed.body).toMatchObject({ id: "alpha", state: "running" });
  });

  it("persists config across shell restarts", async () => {
    await fixture.ws.write({ id: "alpha", source: goodPluginSource("alpha") });
    const first = start();
    await first.shell.start();
    await first.shell.stop();
    const second = start();
    await second.shell.start();
    expect((await get(second.shell, "/api/alpha/status")).body.starts).toBe(2);
    const file = JSON.parse(await readFile(path.join(fixture.ws.dataDir, "config", "alpha.json"), "utf8"));
    expect(file).toEqual({ starts: 2 });
  });

  it("stops dependents before their dependencies, removes routes and IPC handlers, and is idempotent", async () => {
    await fixture.ws.write({ id: "base", source: goodPluginSource("base") });
    await fixture.ws.write({
      id: "middle",
      source: goodPluginSource("middle"),
      manifest: { dependsOn: ["base"] },
    });
    await fixture.ws.write({
      id: "top",
      source: goodPluginSource("top"),
      manifest: { dependsOn: ["middle"] },
    });
    const { ipc, transport } = withIpc();
    const { shell, log } = start({ ipc: transport });
    await shell.start();
    const url = shell.status().server.url!;
    await Promise.all([shell.stop(), shell.stop()]);
    await shell.stop();
    expect(loggedBy(log, "Good", "stopping")).toEqual(["top", "middle", "base"]);
    expect(shell.status().state).toBe("stopped");
    expect(shell.status().plugins.map((p) => p.state)).toEqual(["stopped", "stopped", "stopped"]);
    await expect(ipc.invoke("plugin:base:ping", 1)).rejects.toThrow(
      "No handler registered for 'plugin:base:ping'",
    );
    await expect(fetch(`${url}/api/base/status`)).rejects.toThrow();
  });

  it("starts a dependent only after its dependency is running", async () => {
    await fixture.ws.write({
      id: "slow-base",
      source: `export async function onStart(ctx) { await new Promise(r => setTimeout(r, 150)); ctx.logger.info("Order", "started"); }
               export async function onStop() {}`,
    });
    await fixture.ws.write({
      id: "app",
      manifest: { dependsOn: ["slow-base"] },
      source: `export async function onStart(ctx) { ctx.logger.info("Order", "started"); } export async function onStop() {}`,
    });
    const { shell, log } = start();
    await shell.start();
    expect(loggedBy(log, "Order", "started")).toEqual(["slow-base", "app"]);
  });

  it("on update: resumes with a fresh context, restarts plugins without onResume, reloads changed ones", async () => {
    await fixture.ws.write({
      id: "resumer",
      source: `export async function onStart(ctx) { ctx.ipc.handle("gen", () => "start"); }
               export async function onResume(ctx) { ctx.ipc.handle("gen", () => "resumed"); }
               export async function onStop() {}`,
    });
    await fixture.ws.write({ id: "plain", source: goodPluginSource("plain") });
    await fixture.ws.write({ id: "changing", source: goodPluginSource("changing") });
    const { ipc, transport } = withIpc();
    const { shell, log } = start({ ipc: transport });
    await shell.start();
    const before = (await get(shell, "/api/changing/status")).body.instance;
    const plainBefore = (await get(shell, "/api/plain/status")).body;

    await shell.update({ changed: ["changing"] });

    expect(shell.status().state).toBe("running");
    expect(shell.status().plugins.every((p) => p.state === "running")).toBe(true);
    // onResume replaced the handler on a fresh context: no "second handler" error, new answer.
    await expect(ipc.invoke("plugin:resumer:gen")).resolves.toBe("resumed");
    // A plugin without onResume was stopped and started: same module instance, a second start.
    const plainAfter = (await get(shell, "/api/plain/status")).body;
    expect(plainAfter.instance).toBe(plainBefore.instance);
    expect(plainAfter.starts).toBe(plainBefore.starts + 1);
    // A changed plugin was re-imported: a new module instance.
    expect((await get(shell, "/api/changing/status")).body.instance).not.toBe(before);
    expect(loggedBy(log, "Good", "stopping").sort()).toEqual(["changing", "plain"]);
  });

  it("re-imports a plugin whose code changed on disk when the update names it", async () => {
    const source = (answer: string) =>
      `export async function onStart(ctx) { ctx.ipc.handle("v", () => "${answer}"); } export async function onStop() {}`;
    await fixture.ws.write({ id: "ota", source: source("v1") });
    const { ipc, transport } = withIpc();
    const { shell } = start({ ipc: transport });
    await shell.start();
    await expect(ipc.invoke("plugin:ota:v")).resolves.toBe("v1");
    await fixture.ws.write({ id: "ota", version: "1.1.0", source: source("v2") });
    await shell.update({ changed: ["ota"] });
    await expect(ipc.invoke("plugin:ota:v")).resolves.toBe("v2");
    expect(shell.status().plugins[0]).toMatchObject({ version: "1.1.0", state: "running" });
  });

  it("gives plugins a live, read-only view of auth, and never logs the token", async () => {
    await fixture.ws.write({
      id: "authy",
      source: `let ctxRef; export async function onStart(ctx) { ctxRef = ctx;
                 ctx.ipc.handle("auth", () => ({ ok: ctx.auth.isAuthenticated(), token: ctx.auth.getToken() }));
                 ctx.logger.info("Auth", "token is " + ctx.auth.getToken()); }
               export async function onStop() {}`,
    });
    const { ipc, transport } = withIpc();
    const { shell, log } = start({
      ipc: transport,
      auth: { init: async () => ({ token: "s3cret-token-value" }) },
    });
    await shell.start();
    await expect(ipc.invoke("plugin:authy:auth")).resolves.toEqual({ ok: true, token: "s3cret-token-value" });
    shell.clearAuth();
    await expect(ipc.invoke("plugin:authy:auth")).resolves.toEqual({ ok: false, token: null });
    shell.setAuth({ token: "another-token" });
    await expect(ipc.invoke("plugin:authy:auth")).resolves.toEqual({ ok: true, token: "another-token" });
    expect(log.text()).toContain("token is");
    expect(log.text()).not.toContain("s3cret-token-value");
  });

  it("rejects start with HANGAR_PORT_IN_USE naming the port, and leaves nothing running", async () => {
    await fixture.ws.write({ id: "alpha", source: goodPluginSource("alpha") });
    const first = start();
    await first.shell.start();
    const port = Number(new URL(first.shell.status().server.url!).port);
    // Its own data folder: on the same one, the data-folder lock would refuse it first (HANGAR_DATA_DIR_LOCKED).
    const second = start({ server: { port }, dataDir: path.join(fixture.ws.root, "data-second") });
    await expect(second.shell.start()).rejects.toMatchObject({
      code: "HANGAR_PORT_IN_USE",
      message: expect.stringContaining(String(port)),
    });
    expect(second.shell.status().state).toBe("failed");
    expect(second.shell.status().plugins.every((p) => p.state !== "running")).toBe(true);
  });

  it("an update during start-up runs once start-up settles; a stop during start-up stops what started", async () => {
    // onStart waits on a gate the test opens, so "during start-up" does not depend on timing.
    const gate = fileGate(fixture.ws);
    await fixture.ws.write({
      id: "slow",
      source: `let context;
               export async function onStart(ctx) { context = ctx; ${gate.wait} }
               export async function onStop() { context.logger.info("Slow", "stopping"); }`,
    });
    const { shell, log } = start();
    const starting = shell.start();
    await untilPluginState(shell, "slow", "starting");
    const updating = shell.update();
    await gate.open();
    await starting;
    await updating;
    expect(shell.status().plugins[0]?.state).toBe("running");
    expect(loggedBy(log, "Slow", "stopping")).toEqual(["slow"]); // restarted by the update

    await gate.close();
    // The first shell still runs and holds the data folder: the second needs one of its own.
    const { shell: other, log: otherLog } = start({ dataDir: path.join(fixture.ws.root, "data-other") });
    const otherStart = other.start();
    await untilPluginState(other, "slow", "starting");
    const stopping = other.stop();
    await gate.open();
    await stopping;
    await expect(otherStart).resolves.toBeUndefined();
    expect(other.status().plugins[0]?.state).toBe("stopped");
    expect(loggedBy(otherLog, "Slow", "stopping")).toEqual(["slow"]);
  });

  it("holds a request while its plugin starts, then answers", async () => {
    const gate = fileGate(fixture.ws);
    await fixture.ws.write({
      id: "warm",
      source: `export async function onStart(ctx) {
                 ctx.server.registerRouter("/api/warm", (req, res) => res.json({ warm: true }));
                 ${gate.wait} }
               export async function onStop() {}`,
    });
    const { shell } = start();
    const started = shell.start();
    await untilPluginState(shell, "warm", "starting");
    // Asked while the plugin is still in onStart: held, not refused, and answered once it runs.
    const pending = get(shell, "/api/warm/");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(shell.status().plugins[0]?.state).toBe("starting");
    await gate.open();
    const response = await pending;
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ warm: true });
    await started;
  });

  it("pushes a plugin's live updates to the renderer until the plugin stops", async () => {
    await fixture.ws.write({
      id: "ticker",
      source: `export async function onStart(ctx) {
                 let n = 0;
                 ctx.ipc.handle("tick", () => { ctx.ipc.send("tick", { n: ++n }); return n; });
               }
               export async function onStop() {}`,
    });
    const { ipc, transport } = withIpc();
    const { shell } = start({ ipc: transport });
    await shell.start();
    const received: unknown[] = [];
    const unsubscribe = ipc.on("plugin:ticker:tick", (payload) => received.push(payload));
    await ipc.invoke("plugin:ticker:tick");
    await ipc.invoke("plugin:ticker:tick");
    while (received.length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(received).toEqual([{ n: 1 }, { n: 2 }]);
    unsubscribe();
    await ipc.invoke("plugin:ticker:tick");
    await new Promise((r) => setTimeout(r, 20));
    expect(received).toHaveLength(2);
    await shell.stop();
    await expect(ipc.invoke("plugin:ticker:tick")).rejects.toThrow("No handler registered");
  });
});
