// electronConfig: plugin config under Electron's userData folder through a conf-compatible Store (conf itself,
// which electron-store extends), in the headless file format, on real files.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Conf from "conf";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { electronConfig } from "../../src/electron/index.js";
import { createFileConfigBackend } from "../../src/index.js";
import { createFakeElectron } from "../support/fake-electron.js";
import { goodPluginSource, testShell, workspacePerTest } from "../support/plugins.js";

let userData: string;

beforeEach(async () => {
  userData = await mkdtemp(path.join(os.tmpdir(), "hangar-electron-userdata-"));
});

afterEach(async () => {
  await rm(userData, { recursive: true, force: true });
});

describe("electronConfig", () => {
  it("keeps each plugin's values in <userData>/config/<id>.json, readable by the headless backend", async () => {
    const { app } = createFakeElectron({ userData });
    const config = electronConfig({ Store: Conf, app });
    await config.store("fleet-board").set("upstreamUrl", "https://va.example/fleet");
    await config.store("fleet-board").set("ui.theme", { dark: true });
    await config.store("pilot-notes").set("notes", ["check fuel"]);
    await config.flush();

    const file = path.join(userData, "config", "fleet-board.json");
    expect(config.fileOf("fleet-board")).toBe(file);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({
      upstreamUrl: "https://va.example/fleet",
      "ui.theme": { dark: true },
    });
    // The same folder as a headless shell's `<dataDir>/config`: values move between the two modes.
    const headless = createFileConfigBackend({ dataDir: userData });
    await expect(headless.store("fleet-board").getAll()).resolves.toEqual({
      upstreamUrl: "https://va.example/fleet",
      "ui.theme": { dark: true },
    });
    await headless.store("pilot-notes").set("notes", ["check fuel", "file flight plan"]);
    await headless.flush();
    await expect(config.store("pilot-notes").get("notes")).resolves.toEqual([
      "check fuel",
      "file flight plan",
    ]);
  });

  it("names what is wrong when it is not given Electron's app", () => {
    expect(() => electronConfig({ Store: Conf, app: {} as never })).toThrow(
      expect.objectContaining({ code: "HANGAR_SHELL_OPTIONS" }),
    );
  });
});

describe("a shell on electronConfig", () => {
  const fixture = workspacePerTest();
  const { shells } = fixture;

  it("persists plugin config across app restarts", async () => {
    await fixture.ws.write({ id: "alpha", source: goodPluginSource("alpha") });
    for (let launch = 1; launch <= 2; launch++) {
      const { app } = createFakeElectron({ userData });
      const { shell } = testShell(fixture.ws, { config: electronConfig({ Store: Conf, app }) });
      shells.push(shell);
      await shell.start();
      const response = await fetch(`${shell.status().server.url}/api/alpha/status`);
      expect(await response.json()).toMatchObject({ starts: launch });
      await shell.stop();
    }
    const file = path.join(userData, "config", "alpha.json");
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({ starts: 2 });
  });
});
