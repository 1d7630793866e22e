// electronIpc over the fake Electron: what a renderer and a plugin notice through Electron's ipcMain and webContents.
import { describe, expect, it } from "vitest";
import { electronIpc } from "../../src/electron/index.js";
import { createFakeElectron, type FakeBrowserWindow } from "../support/fake-electron.js";

const tick = () => new Promise((resolve) => setImmediate(resolve));

function setup(options: { allowedOrigins?: string[]; url?: string } = {}) {
  const electron = createFakeElectron();
  const window = new electron.BrowserWindow({ url: options.url ?? "app://shell/index.html" });
  const ipc = electronIpc({
    ipcMain: electron.ipcMain,
    getWebContents: () => electron.BrowserWindow.getAllWindows().map((w) => w.webContents),
    ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
  });
  return { electron, window, ipc, renderer: window.webContents.ipcRenderer };
}

/** Everything a window's renderer receives on `channel`, as Electron passes it: the event, then the arguments. */
function received(window: FakeBrowserWindow, channel: string) {
  const calls: unknown[][] = [];
  window.webContents.ipcRenderer.on(channel, (...args) => calls.push(args));
  return { calls };
}

describe("the fake copies Electron", () => {
  it("uses Electron's wording for a second handler, a missing handler and a handler's error", async () => {
    const { electron } = setup();
    const { ipcMain } = electron;
    const renderer = new electron.BrowserWindow().webContents.ipcRenderer;
    ipcMain.handle("ch", () => 1);
    expect(() => ipcMain.handle("ch", () => 2)).toThrow(
      new Error("Attempted to register a second handler for 'ch'"),
    );
    await expect(renderer.invoke("missing")).rejects.toThrow(
      new Error("Error invoking remote method 'missing': Error: No handler registered for 'missing'"),
    );
    ipcMain.handle("boom", () => {
      throw new RangeError("out of fuel");
    });
    await expect(renderer.invoke("boom")).rejects.toThrow(
      new Error("Error invoking remote method 'boom': RangeError: out of fuel"),
    );
    ipcMain.removeHandler("nothing-here");
  });

  it("logs, and does not throw, when webContents.send cannot serialise its arguments", async () => {
    const { electron, window } = setup();
    const { calls } = received(window, "x");
    expect(() => window.webContents.send("x", { f: () => 1 })).not.toThrow();
    await tick();
    expect(calls).toEqual([]);
    expect(String(electron.log[0]?.[1])).toBe("Error: Failed to serialize arguments");
  });
});

describe("electronIpc", () => {
  it("gives the handler only the payload, never Electron's event, and clones both ways", async () => {
    const { ipc, renderer } = setup();
    const seen: unknown[][] = [];
    const kept = { list: [1] };
    ipc.handle("plugin:p:echo", (...args: unknown[]) => {
      seen.push(args);
      return kept;
    });
    const payload = { nested: { n: 1 } };
    const result = (await renderer.invoke("plugin:p:echo", payload, "extra argument")) as typeof kept;
    expect(seen).toEqual([[{ nested: { n: 1 } }]]);
    expect(seen[0]?.[0]).not.toBe(payload);
    expect(result).toEqual({ list: [1] });
    result.list.push(2);
    expect(kept.list).toEqual([1]);
  });

  it("keeps Electron's errors: a second handler throws, a missing one and a failing one reject", async () => {
    const { ipc, renderer } = setup();
    ipc.handle("plugin:p:x", () => 1);
    expect(() => ipc.handle("plugin:p:x", () => 2)).toThrow(
      "Attempted to register a second handler for 'plugin:p:x'",
    );
    ipc.handle("plugin:p:fail", async () => {
      throw new Error("no fleet today");
    });
    await expect(renderer.invoke("plugin:p:fail")).rejects.toThrow(
      "Error invoking remote method 'plugin:p:fail': Error: no fleet today",
    );
    ipc.removeHandler("plugin:p:x");
    ipc.removeHandler("plugin:p:x");
    await expect(renderer.invoke("plugin:p:x")).rejects.toThrow("No handler registered for 'plugin:p:x'");
  });

  it("pushes to every live window, skips closed ones, and picks up windows opened later", async () => {
    const { electron, window, ipc } = setup();
    const first = received(window, "plugin:p:news");
    const closing = new electron.BrowserWindow();
    const closed = received(closing, "plugin:p:news");
    closing.close();
    ipc.send("plugin:p:news", { n: 1 });
    const later = new electron.BrowserWindow();
    const third = received(later, "plugin:p:news");
    ipc.send("plugin:p:news", { n: 2 });
    await tick();
    // Listeners get Electron's event first; the transport sent exactly one argument after it.
    expect(first.calls.map((args) => args.slice(1))).toEqual([[{ n: 1 }], [{ n: 2 }]]);
    expect(third.calls.map((args) => args.slice(1))).toEqual([[{ n: 2 }]]);
    expect(closed.calls).toEqual([]);
    expect(electron.log).toEqual([]);
  });

  it("refuses an uncloneable push at the call, where Electron would only log and deliver nothing", async () => {
    const { electron, window, ipc } = setup();
    const { calls } = received(window, "plugin:p:bad");
    expect(() => ipc.send("plugin:p:bad", { callback: () => 1 })).toThrow(
      expect.objectContaining({ code: "HANGAR_IPC_UNCLONEABLE" }),
    );
    await tick();
    expect(calls).toEqual([]);
    expect(electron.log).toEqual([]);
  });

  it("keeps pushing to the other windows when one throws", async () => {
    const electron = createFakeElectron();
    const good = new electron.BrowserWindow();
    const calls: unknown[] = [];
    good.webContents.ipcRenderer.on("plugin:p:n", (_event, payload) => calls.push(payload));
    const broken = {
      isDestroyed: () => false,
      send: () => {
        throw new TypeError("Object has been destroyed");
      },
    };
    const ipc = electronIpc({
      ipcMain: electron.ipcMain,
      getWebContents: () => [broken, good.webContents],
    });
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args.join(" "));
    try {
      ipc.send("plugin:p:n", 7);
    } finally {
      console.error = original;
    }
    await tick();
    expect(calls).toEqual([7]);
    expect(String(errors[0])).toContain("plugin:p:n");
  });
});

describe("electronIpc sender check", () => {
  it("answers frames from an allowed origin, custom schemes and dev servers alike", async () => {
    const { electron, ipc } = setup({ allowedOrigins: ["app://shell", "http://localhost:5173/"] });
    ipc.handle("plugin:p:who", () => "answered");
    const app = new electron.BrowserWindow({ url: "app://SHELL/pages/index.html#x" });
    const dev = new electron.BrowserWindow({ url: "http://localhost:5173/index.html" });
    await expect(app.webContents.ipcRenderer.invoke("plugin:p:who")).resolves.toBe("answered");
    await expect(dev.webContents.ipcRenderer.invoke("plugin:p:who")).resolves.toBe("answered");
  });

  it("refuses a window that navigated elsewhere, without running the handler", async () => {
    const { window, ipc, renderer } = setup({ allowedOrigins: ["app://shell"] });
    let calls = 0;
    ipc.handle("plugin:p:secret", () => ++calls);
    await window.loadURL("https://evil.example/phish.html");
    const refusal = renderer.invoke("plugin:p:secret");
    await expect(refusal).rejects.toThrow(
      "Error invoking remote method 'plugin:p:secret': HangarError: IPC invoke on 'plugin:p:secret' refused: " +
        "it came from a frame at origin 'https://evil.example'",
    );
    await expect(refusal).rejects.toThrow("Add that origin to allowedOrigins");
    // Near misses: another port, another scheme, a local file, no origin at all.
    for (const url of ["app://shell.evil/x", "http://localhost:5174/", "file:///tmp/x.html", "about:blank"]) {
      await window.loadURL(url);
      await expect(renderer.invoke("plugin:p:secret")).rejects.toThrow("HangarError");
    }
    expect(calls).toBe(0);
  });

  it("refuses an invoke whose frame is already gone", async () => {
    const { window, ipc, renderer } = setup({ allowedOrigins: ["app://shell"] });
    ipc.handle("plugin:p:x", () => "answered");
    const pending = renderer.invoke("plugin:p:x");
    window.close();
    await expect(pending).rejects.toThrow("a frame that no longer exists");
  });

  it("admits local files only when file:// is listed", async () => {
    const { ipc, renderer } = setup({ allowedOrigins: ["file://"], url: "file:///opt/app/index.html" });
    ipc.handle("plugin:p:x", () => "answered");
    await expect(renderer.invoke("plugin:p:x")).resolves.toBe("answered");
  });

  it("rejects allowedOrigins that are empty or would admit anything", () => {
    const electron = createFakeElectron();
    const make = (allowedOrigins: string[]) => () =>
      electronIpc({ ipcMain: electron.ipcMain, getWebContents: () => [], allowedOrigins });
    for (const bad of [["*"], ["null"], [""], []]) {
      expect(make(bad)).toThrow(expect.objectContaining({ code: "HANGAR_SHELL_OPTIONS" }));
    }
    expect(make(["*"])).toThrow('electronIpc(): allowedOrigins contains "*"');
  });

  it("names what is wrong when Electron's objects are missing", () => {
    expect(() => electronIpc({} as never)).toThrow("electronIpc(): ipcMain must be Electron's ipcMain");
    const electron = createFakeElectron();
    expect(() => electronIpc({ ipcMain: electron.ipcMain } as never)).toThrow(
      "getWebContents must be a function",
    );
  });
});
