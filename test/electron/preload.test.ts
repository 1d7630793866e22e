// hangar/preload: what page code can and cannot do through window.hangar, against a real shell whose IPC is
// hangar/electron's transport on the fake Electron.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Shell } from "../../src/index.js";
import { exposePluginBridge, type HangarBridge } from "../../src/preload/index.js";
import type { FakeBrowserWindow, FakeElectron } from "../support/fake-electron.js";
import { createWorkspace, type Workspace } from "../support/plugins.js";
import { preloadShell } from "../support/preload-shell.js";

let ws: Workspace;
let shell: Shell;
let electron: FakeElectron;
let window: FakeBrowserWindow;
let hangar: HangarBridge;

beforeAll(async () => {
  ws = await createWorkspace();
  await ws.write({
    id: "tower",
    source: `
      export async function onStart(ctx) {
        ctx.ipc.handle("echo", (...args) => ({ args }));
        ctx.ipc.handle("fail", () => { throw new Error("runway closed"); });
        ctx.ipc.handle("announce", (payload) => { ctx.ipc.send("news", payload); return true; });
      }
      export async function onStop() {}`,
  });
  ({ shell, electron, window, bridge: hangar } = preloadShell(ws));
  await shell.start();
});

afterAll(async () => {
  await shell.stop();
  await ws.cleanup();
});

/** Resolves with the arguments of the next call of the returned listener. */
function nextCall(): { listener: (...args: unknown[]) => void; called: Promise<unknown[]> } {
  let resolve: (args: unknown[]) => void = () => {};
  const called = new Promise<unknown[]>((r) => {
    resolve = r;
  });
  return { listener: (...args: unknown[]) => resolve(args), called };
}

describe("window.hangar", () => {
  it("invokes a plugin's handler with exactly one payload, and gets its result", async () => {
    const page = hangar as unknown as { invoke(...args: unknown[]): Promise<unknown> };
    await expect(page.invoke("tower", "echo", { runway: "27L" }, "smuggled", "more")).resolves.toEqual({
      args: [{ runway: "27L" }],
    });
    await expect(hangar.invoke("tower", "echo")).resolves.toEqual({ args: [undefined] });
  });

  it("passes a plugin's error on as text, and a missing handler in Electron's words", async () => {
    await expect(hangar.invoke("tower", "fail")).rejects.toThrow(
      "Error invoking remote method 'plugin:tower:fail': Error: runway closed",
    );
    await expect(hangar.invoke("tower", "nothing")).rejects.toThrow(
      "No handler registered for 'plugin:tower:nothing'",
    );
  });

  it("delivers a plugin's push to the page's listener with the payload only, never the IPC event", async () => {
    const { listener, called } = nextCall();
    const unsubscribe = hangar.on("tower", "news", listener);
    await hangar.invoke("tower", "announce", { flight: "HGR101" });
    expect(await called).toEqual([{ flight: "HGR101" }]);
    unsubscribe();
  });

  it("stops delivering after unsubscribe, and unsubscribing twice is harmless", async () => {
    const received: unknown[] = [];
    const unsubscribe = hangar.on("tower", "news", (payload) => received.push(payload));
    const { listener, called } = nextCall();
    const other = hangar.on("tower", "news", listener);
    await hangar.invoke("tower", "announce", 1);
    await called;
    unsubscribe();
    unsubscribe();
    const second = nextCall();
    other();
    const last = hangar.on("tower", "news", second.listener);
    await hangar.invoke("tower", "announce", 2);
    await second.called;
    last();
    expect(received).toEqual([1]);
    expect(window.webContents.ipcRenderer.listenerCount("plugin:tower:news")).toBe(0);
  });

  it("refuses malformed plugin ids and channels before anything reaches main", async () => {
    const page = hangar as unknown as {
      invoke(...args: unknown[]): Promise<unknown>;
      on(...args: unknown[]): () => void;
    };
    const refused: Array<[unknown, unknown]> = [
      ["Tower", "echo"],
      ["tower:echo", "x"],
      ["-tower", "echo"],
      ["a".repeat(65), "echo"],
      [42, "echo"],
      ["tower", ""],
      ["tower", "has space"],
      ["tower", "plugin:tower:echo"],
      ["tower", "x".repeat(201)],
      ["tower", undefined],
    ];
    const reachedMain: string[] = [];
    const dispatch = electron.ipcMain.dispatchInvoke.bind(electron.ipcMain);
    electron.ipcMain.dispatchInvoke = (event, channel, args) => {
      reachedMain.push(channel);
      return dispatch(event, channel, args);
    };
    for (const [id, channel] of refused) {
      await expect(page.invoke(id, channel), `${String(id)} ${String(channel)}`).rejects.toThrow(
        /hangar\.invoke/,
      );
      expect(() => page.on(id, channel, () => {}), `${String(id)} ${String(channel)}`).toThrow(/hangar\.on/);
    }
    await expect(page.invoke("Tower", "echo")).rejects.toThrow(
      "hangar.invoke('Tower', 'echo'): the plugin id must be a plugin.json id",
    );
    expect(() => page.on("tower", "news", "not a function")).toThrow("pass a function (payload) => {}");
    expect(reachedMain).toEqual([]);
    expect(window.webContents.ipcRenderer.listenerCount("plugin:tower:news")).toBe(0);
    await expect(page.invoke("tower", "echo", 1)).resolves.toEqual({ args: [1] });
    expect(reachedMain).toEqual(["plugin:tower:echo"]);
  });

  it("reads and writes only the named plugin's config, on hangar's own channels, checking the id first", async () => {
    const reachedMain: string[] = [];
    const dispatch = electron.ipcMain.dispatchInvoke.bind(electron.ipcMain);
    electron.ipcMain.dispatchInvoke = (event, channel, args) => {
      reachedMain.push(channel);
      return dispatch(event, channel, args);
    };
    for (const id of ["Tower", "../tower", 7]) {
      await expect(hangar.getConfig(id as string)).rejects.toThrow(/hangar\.getConfig.*plugin\.json id/);
      await expect(hangar.setConfig(id as string, "k", 1)).rejects.toThrow(/hangar\.setConfig/);
      expect(() => hangar.onConfig(id as string, () => {})).toThrow(/hangar\.onConfig/);
    }
    expect(reachedMain).toEqual([]);
    const { listener, called } = nextCall();
    const off = hangar.onConfig("tower", listener);
    const change = await hangar.setConfig("tower", "runway", "27L");
    expect(change).toMatchObject({
      kind: "set",
      pluginId: "tower",
      key: "runway",
      value: "27L",
      revision: 1,
    });
    expect(await called).toEqual([change]);
    off();
    expect(window.webContents.ipcRenderer.listenerCount("hangar:config:tower")).toBe(0);
    expect(await hangar.getConfig("tower")).toMatchObject({ revision: 1, values: { runway: "27L" } });
    expect(await hangar.getAuth()).toEqual({ authenticated: false });
    expect(reachedMain).toEqual(["hangar:config", "hangar:config", "hangar:auth"]);
    electron.ipcMain.dispatchInvoke = dispatch;
  });

  it("exposes only its methods, and refuses to be exposed twice under one name", () => {
    expect(Object.keys(window.page.hangar as object).sort()).toEqual([
      "getAuth",
      "getConfig",
      "invoke",
      "on",
      "onAuth",
      "onConfig",
      "setConfig",
    ]);
    expect(() => window.runPreload(exposePluginBridge)).toThrow(
      "Cannot bind an API on top of an existing property",
    );
    const other = new electron.BrowserWindow();
    other.runPreload((preload) => exposePluginBridge({ ...preload, key: "flightDeck" }));
    expect(Object.keys(other.page)).toEqual(["flightDeck"]);
  });
});
