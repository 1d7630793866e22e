// The example's preload, bundled as examples/electron-shell/build.mjs does, runs where Electron runs a sandboxed
// preload: a context whose require() offers `electron` and nothing of Node's. The bundle is evaluated there, on
// the fake Electron, and the page's window.hangar reaches a plugin handler registered through electronIpc.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import vm from "node:vm";
import { build } from "esbuild";
import { expect, it } from "vitest";
import { electronIpc } from "../../src/electron/index.js";
import { createFakeElectron, type FakeBrowserWindow } from "../support/fake-electron.js";

const root = new URL("../../", import.meta.url).pathname;

/** Bundles like build.mjs (browser platform, CommonJS, electron external), from src/ instead of dist/. */
async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    platform: "browser",
    format: "cjs",
    external: ["electron"],
    alias: { "hangar/preload": "./src/preload/index.ts" },
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

/** Evaluates a preload bundle as Electron's sandbox would, in `window`; returns the modules it asked for. */
function runSandboxedPreload(code: string, window: FakeBrowserWindow): string[] {
  const required: string[] = [];
  window.runPreload((preload) => {
    // What a sandboxed preload's require() offers: electron's renderer modules, no fs, path, child_process, ...
    const sandboxRequire = (name: string): unknown => {
      required.push(name);
      if (name === "electron") return preload;
      throw new Error(`module not found: ${name}`);
    };
    const module = { exports: {} };
    vm.runInNewContext(code, { require: sandboxRequire, module, exports: module.exports });
  });
  return required;
}

it("runs the example preload in a sandboxed preload's context and exposes a working window.hangar", async () => {
  const code = await bundle("examples/electron-shell/preload.ts");
  const electron = createFakeElectron();
  const window = new electron.BrowserWindow({ url: "app://shell/index.html" });
  const transport = electronIpc({
    ipcMain: electron.ipcMain,
    getWebContents: () => electron.BrowserWindow.getAllWindows().map((w) => w.webContents),
    allowedOrigins: ["app://shell"],
  });
  transport.handle("plugin:fleet-board:get-fleet", (payload) => ({ success: true, asked: payload }));

  expect(runSandboxedPreload(code, window)).toEqual(["electron"]);
  const hangar = window.page.hangar as {
    invoke(id: string, channel: string, payload?: unknown): Promise<unknown>;
  };
  await expect(hangar.invoke("fleet-board", "get-fleet", { base: "EGLL" })).resolves.toEqual({
    success: true,
    asked: { base: "EGLL" },
  });
  await expect(hangar.invoke("Fleet Board", "get-fleet")).rejects.toThrow("the plugin id must be");
});

it("bundles the example renderer for the browser with nothing but the page's own code", async () => {
  const result = await build({
    entryPoints: ["examples/electron-shell/renderer/renderer.ts"],
    absWorkingDir: root,
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    logLevel: "silent",
    metafile: true,
  });
  // `import type` from hangar/preload is erased: the page ships only itself.
  expect(Object.keys(result.metafile.inputs)).toEqual(["examples/electron-shell/renderer/renderer.ts"]);
});

it("builds the example with its build script into main, a self-contained preload and the page", async () => {
  // The script bundles hangar/preload from the package's exports (dist/, built by the test setup).
  const outdir = await mkdtemp(path.join(os.tmpdir(), "hangar-electron-example-"));
  try {
    await promisify(execFile)(process.execPath, ["examples/electron-shell/build.mjs", "--outdir", outdir], {
      cwd: root,
    });
    const main = await readFile(path.join(outdir, "main.js"), "utf8");
    expect(main).toContain('from "hangar/electron"');
    expect(await readFile(path.join(outdir, "renderer", "index.html"), "utf8")).toContain("./renderer.js");
    await readFile(path.join(outdir, "renderer", "renderer.js"), "utf8");
    const electron = createFakeElectron();
    const window = new electron.BrowserWindow({ url: "app://shell/index.html" });
    const preload = await readFile(path.join(outdir, "preload.cjs"), "utf8");
    expect(runSandboxedPreload(preload, window)).toEqual(["electron"]);
    expect(Object.keys(window.page.hangar as object).sort()).toEqual([
      "getAuth",
      "getConfig",
      "invoke",
      "on",
      "onAuth",
      "onConfig",
      "setConfig",
    ]);
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
});
