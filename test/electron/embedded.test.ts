// A shell embedded as examples/electron-shell/main.ts embeds it, on the fake Electron: the example plugins,
// electronIpc + electronConfig + attachToElectronApp in main, exposePluginBridge in the preload, and a page at
// app://shell that fetches a plugin route over real HTTP and uses IPC (invoke + live pushes). Then the user quits.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Conf from "conf";
import { afterAll, beforeAll, expect, it } from "vitest";
import { attachToElectronApp, electronConfig, electronIpc } from "../../src/electron/index.js";
import { createShell, type Shell } from "../../src/index.js";
import { exposePluginBridge, type HangarBridge } from "../../src/preload/index.js";
import { createFakeElectron, type FakeBrowserWindow, type FakeElectron } from "../support/fake-electron.js";
import { captureLog } from "../support/plugins.js";

const examples = fileURLToPath(new URL("../../examples/plugins", import.meta.url));
const pageOrigin = "app://shell";

let userData: string;
let electron: FakeElectron;
let window: FakeBrowserWindow;
let shell: Shell;

beforeAll(async () => {
  userData = await mkdtemp(path.join(os.tmpdir(), "hangar-embedded-"));
  // Set before launch, as a user would through the app's settings: flight-tracker pushes every 100 ms.
  await mkdir(path.join(userData, "config"));
  await writeFile(path.join(userData, "config", "flight-tracker.json"), JSON.stringify({ intervalMs: 100 }));

  electron = createFakeElectron({ userData });
  const { app, ipcMain, BrowserWindow } = electron;
  shell = createShell({
    plugins: [examples],
    dataDir: path.join(userData, "hangar"),
    server: { port: 0, allowedOrigins: [pageOrigin] },
    ipc: electronIpc({
      ipcMain,
      getWebContents: () => BrowserWindow.getAllWindows().map((w) => w.webContents),
      allowedOrigins: [pageOrigin],
    }),
    config: electronConfig({ Store: Conf, app }),
    log: { format: "json", destination: captureLog().destination },
  });
  attachToElectronApp(app, shell, { logger: { info: () => {}, error: () => {} } });
  window = new BrowserWindow({ url: `${pageOrigin}/index.html` });
  window.runPreload(exposePluginBridge);
  await shell.start();
});

afterAll(async () => {
  await shell.stop();
  await rm(userData, { recursive: true, force: true });
});

it("runs the example plugins for a page at app://shell: route over HTTP, IPC invoke and live pushes", async () => {
  const hangar = window.page.hangar as HangarBridge;
  expect(
    shell
      .status()
      .plugins.filter((p) => p.background)
      .map((p) => [p.id, p.state]),
  ).toEqual(
    expect.arrayContaining([
      ["fleet-board", "running"],
      ["flight-tracker", "running"],
    ]),
  );

  // The page's fetch to the shell server: a cross-origin request from app://shell, allowed by CORS.
  const response = await fetch(`${shell.status().server.url}/api/flight-tracker/position`, {
    headers: { origin: pageOrigin },
  });
  expect(response.status).toBe(200);
  expect(response.headers.get("access-control-allow-origin")).toBe(pageOrigin);
  expect(await response.json()).toMatchObject({ success: true, data: { callsign: "HGR101" } });

  const fleet = (await hangar.invoke("fleet-board", "get-fleet")) as { success: boolean; data: unknown[] };
  expect(fleet.success).toBe(true);
  expect(fleet.data.length).toBeGreaterThan(0);

  const positions: Array<{ callsign: string }> = [];
  const unsubscribe = hangar.on("flight-tracker", "position-update", (payload) =>
    positions.push(payload as { callsign: string }),
  );
  while (positions.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
  unsubscribe();
  expect(positions[0]).toMatchObject({ callsign: "HGR101", from: "EGLL", to: "KJFK" });
});

it("refuses the same page's IPC after the window navigates to another site", async () => {
  const hangar = window.page.hangar as HangarBridge;
  await window.loadURL("https://evil.example/");
  await expect(hangar.invoke("fleet-board", "get-fleet")).rejects.toThrow(
    "refused: it came from a frame at origin 'https://evil.example'",
  );
  await window.loadURL(`${pageOrigin}/index.html`);
  await expect(hangar.invoke("fleet-board", "get-fleet")).resolves.toMatchObject({ success: true });
});

it("quits only after every plugin stopped, then exits with 0", async () => {
  electron.app.quit();
  expect(await electron.app.whenExited()).toBe(0);
  expect(shell.status().state).toBe("stopped");
  expect(
    shell
      .status()
      .plugins.filter((p) => p.background)
      .every((p) => p.state === "stopped"),
  ).toBe(true);
  expect(window.isDestroyed()).toBe(true);
});
