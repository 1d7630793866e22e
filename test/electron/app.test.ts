// attachToElectronApp: Electron's quit held until every plugin's onStop has run, then app.exit(0); a second quit
// forces; no double shutdown. A real shell over real plugin folders, on the fake Electron app.
import { beforeEach, describe, expect, it } from "vitest";
import { attachToElectronApp } from "../../src/electron/index.js";
import { createFakeElectron, type FakeApp } from "../support/fake-electron.js";
import { testShell, workspacePerTest } from "../support/plugins.js";

declare global {
  // Written by the generated plugins: each onStop's end, and whether the app had already exited then.
  var __quitLog: Array<{ id: string; appExited: boolean }> | undefined;
  var __quitApp: FakeApp | undefined;
}

/** A plugin whose onStop takes `ms` and records whether the app was still alive when it finished. */
const slowStop = (id: string, ms = 200) => `
export async function onStart() {}
export async function onStop() {
  globalThis.__quitLog.push({ id: "${id}", appExited: false });
  await new Promise((resolve) => setTimeout(resolve, ${ms}));
  globalThis.__quitLog.push({ id: "${id}:done", appExited: globalThis.__quitApp.exitCode !== null });
}`;

const fixture = workspacePerTest();
const { shells } = fixture;
const quiet = { info: () => {}, error: () => {} };

beforeEach(() => {
  globalThis.__quitLog = [];
});

async function startShell(options: Parameters<typeof testShell>[1] = {}) {
  const { shell, log } = testShell(fixture.ws, options);
  shells.push(shell);
  await shell.start();
  return { shell, log };
}

function fakeApp(): FakeApp {
  const { app } = createFakeElectron();
  globalThis.__quitApp = app;
  return app;
}

describe("attachToElectronApp", () => {
  it("holds the quit until every onStop (200 ms each) has finished, then exits with 0", async () => {
    await fixture.ws.write({ id: "base", source: slowStop("base") });
    await fixture.ws.write({ id: "radio", source: slowStop("radio"), manifest: { dependsOn: ["base"] } });
    await fixture.ws.write({ id: "weather", source: slowStop("weather") });
    const { shell } = await startShell();
    const app = fakeApp();
    const logged: string[] = [];
    attachToElectronApp(app, shell, {
      logger: { info: (m) => logged.push(m), error: (m) => logged.push(m) },
    });

    app.quit();
    expect(app.exitCode).toBeNull(); // prevented: the app is still alive while plugins stop
    expect(await app.whenExited()).toBe(0);

    const done = globalThis.__quitLog!.filter((entry) => entry.id.endsWith(":done"));
    expect(done.map((entry) => entry.id).sort()).toEqual(["base:done", "radio:done", "weather:done"]);
    expect(done.every((entry) => !entry.appExited)).toBe(true);
    // Dependents stop before their dependencies, as in headless mode.
    const order = globalThis.__quitLog!.map((entry) => entry.id);
    expect(order.indexOf("radio:done")).toBeLessThan(order.indexOf("base"));
    expect(shell.status().state).toBe("stopped");
    expect(shell.status().plugins.every((plugin) => plugin.state === "stopped")).toBe(true);
    expect(app.exitCalls).toEqual([0]);
    expect(logged.join("\n")).toContain("quit again to force");
  });

  it("forces exit 1 on a second quit while stopping, and never shuts down twice", async () => {
    await fixture.ws.write({ id: "slow", source: slowStop("slow", 300) });
    const { shell } = await startShell();
    const app = fakeApp();
    const errors: string[] = [];
    attachToElectronApp(app, shell, { logger: { info: () => {}, error: (m) => errors.push(m) } });

    app.quit();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(app.exitCode).toBeNull();
    app.quit();
    expect(app.exitCode).toBe(1);
    expect(errors.join("\n")).toContain("quit requested again");

    // The shutdown already under way still finishes, once, and does not exit a second time.
    await shell.stop();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(globalThis.__quitLog!.filter((entry) => entry.id === "slow")).toHaveLength(1);
    expect(app.exitCalls).toEqual([1]);
  });

  it("lets the quit go ahead untouched when the shell was already stopped", async () => {
    await fixture.ws.write({ id: "slow", source: slowStop("slow", 10) });
    const { shell } = await startShell();
    const app = fakeApp();
    attachToElectronApp(app, shell, { logger: quiet });
    await shell.stop(); // e.g. before autoUpdater.quitAndInstall()
    app.quit();
    expect(app.exitCode).toBe(0);
    expect(app.exitCalls).toEqual([]); // a normal quit: before-quit was not prevented, exit was not called
    expect(globalThis.__quitLog!.filter((entry) => entry.id === "slow")).toHaveLength(1);
  });

  it("exits with 1 when stopping overruns its limit", async () => {
    await fixture.ws.write({
      id: "stuck",
      source: `export async function onStart() {} export async function onStop() { await new Promise(() => {}); }`,
    });
    // The shell's own budgets are longer than the limit given to attachToElectronApp below.
    const { shell } = await startShell({ timeouts: { stop: 1_000, shutdown: 1_500 } });
    const app = fakeApp();
    const errors: string[] = [];
    attachToElectronApp(app, shell, {
      timeoutMs: 200,
      logger: { info: () => {}, error: (m) => errors.push(m) },
    });
    app.quit();
    expect(await app.whenExited()).toBe(1);
    expect(errors.join("\n")).toContain("did not finish within 200 ms");
    expect(errors.join("\n")).toContain("timeouts.shutdown");
    expect(shell.status().state).toBe("shuttingDown");
  });

  it("exits with 1 when the shell's own shutdown ran out of budget and released a plugin", async () => {
    await fixture.ws.write({
      id: "stuck",
      source: `export async function onStart() {} export async function onStop() { await new Promise(() => {}); }`,
    });
    // The stop timeout is longer than the whole budget: the shell forces the release (HANGAR_SHUTDOWN_TIMEOUT).
    const { shell } = await startShell({ timeouts: { stop: 5_000, shutdown: 300 } });
    const app = fakeApp();
    const errors: string[] = [];
    attachToElectronApp(app, shell, { logger: { info: () => {}, error: (m) => errors.push(m) } });
    app.quit();
    expect(await app.whenExited()).toBe(1);
    expect(shell.status().shutdown).toMatchObject({ clean: false });
    expect(errors.join("\n")).toContain("not clean");
  });

  it("detaches: after dispose, quitting no longer stops the shell", async () => {
    await fixture.ws.write({ id: "slow", source: slowStop("slow", 10) });
    const { shell } = await startShell();
    const app = fakeApp();
    const attachment = attachToElectronApp(app, shell, { logger: quiet });
    attachment.dispose();
    attachment.dispose();
    app.quit();
    expect(app.exitCode).toBe(0);
    expect(shell.status().state).toBe("running");
    expect(app.listenerCount("before-quit")).toBe(0);
  });

  it("names what is wrong when it is not given Electron's app or a shell", async () => {
    const { shell } = await startShell();
    expect(() => attachToElectronApp({} as never, shell)).toThrow("app must be Electron's app");
    expect(() => attachToElectronApp(fakeApp(), {} as never)).toThrow(
      "shell must be the object createShell()",
    );
    expect(() => attachToElectronApp(fakeApp(), shell, { timeoutMs: -1 })).toThrow("timeoutMs is -1");
  });
});
