// An update rescans the plugin folders (SPEC §4): a new folder is loaded and started, a vanished one is stopped
// and removed from status. Plus the shell-side messages: a misspelt createShell option, a failed onStop's wording.
import { rename, rm } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createShell } from "../../src/index.js";
import { createWorkspace, goodPluginSource, testShell, type Workspace } from "../support/plugins.js";

let ws: Workspace;
beforeEach(async () => {
  ws = await createWorkspace();
});
afterEach(() => ws.cleanup());

describe("an update rescans the plugin folders", () => {
  it("starts a new folder, and stops and forgets one that disappeared", async () => {
    await ws.write({ id: "alpha", source: goodPluginSource("alpha") });
    await ws.write({ id: "beta", source: goodPluginSource("beta") });
    const { shell } = testShell(ws);
    await shell.start();
    try {
      const url = shell.status().server.url!;
      expect(shell.status().plugins.map((p) => p.id)).toEqual(["alpha", "beta"]);

      await ws.write({ id: "gamma", source: goodPluginSource("gamma") });
      await rename(path.join(ws.pluginsDir, "beta"), path.join(ws.root, "beta-moved-away"));
      await shell.update();

      const after = shell.status().plugins;
      expect(after.map((p) => [p.id, p.state])).toEqual([
        ["alpha", "running"],
        ["gamma", "running"],
      ]);
      expect((await fetch(`${url}/api/beta/ping`)).status).toBe(404);
      expect((await fetch(`${url}/api/gamma/ping`)).status).not.toBe(503);

      // The same folder coming back is a new plugin again, with a freshly imported module.
      await rename(path.join(ws.root, "beta-moved-away"), path.join(ws.pluginsDir, "beta"));
      await shell.update();
      // A plugin added by an update is listed after those found at start-up.
      expect(shell.status().plugins.map((p) => [p.id, p.state])).toEqual([
        ["alpha", "running"],
        ["gamma", "running"],
        ["beta", "running"],
      ]);
    } finally {
      await shell.stop();
    }
  });

  it("a folder removed while the shell runs no longer holds up shutdown or status", async () => {
    const folder = await ws.write({ id: "solo", source: goodPluginSource("solo") });
    const { shell } = testShell(ws);
    await shell.start();
    await rm(folder, { recursive: true, force: true });
    await shell.update();
    expect(shell.status().plugins).toEqual([]);
    await shell.stop();
    expect(shell.status().state).toBe("stopped");
  });
});

describe("messages from the shell", () => {
  it("a createShell option one edit away from a known one is named with a did-you-mean", () => {
    expect(() => createShell({ plugin: ["./plugins"] } as never)).toThrow(
      "createShell was given an unknown option 'plugin'. Did you mean 'plugins'?",
    );
    expect(() => createShell({ server: { allowedOrigin: [] } } as never)).toThrow(
      "Did you mean 'server.allowedOrigins'?",
    );
  });

  it("an onStop that fails at shutdown does not promise a retry on an update that will never come", async () => {
    await ws.write({
      id: "stubborn",
      source: "export async function onStart() {}\nexport async function onStop() { throw new Error('no'); }",
    });
    const { shell } = testShell(ws);
    await shell.start();
    await shell.stop();
    const message = shell.status().plugins[0]!.error!.message;
    expect(message).not.toContain("retried on the next update");
    expect(message).toContain("after a shutdown, on the shell's next start");
  });
});
