// Issue 13: when many plugins load at once, only a few of Node's import()s of plugin code are in flight at a
// time, so that their file reads cannot complete together and pile every module's compile and evaluation into
// one turn of the event loop. Each plugin here holds its import open for a few milliseconds (a top-level await)
// and counts how many imports are being evaluated at once. A module whose top-level await never settles gives
// its place up after IMPORT_PLACE_MS: the other plugins still load.
// In-process: the counter lives in this process's global object.
import { describe, expect, it } from "vitest";
import { createShell } from "../../src/index.js";
import { IMPORT_PLACE_MS, IMPORTS_IN_FLIGHT } from "../../src/loader/module-loader.js";
import { workspacePerTest } from "../support/plugins.js";

const PLUGINS = 16;

/** A plugin whose import stays in flight for `holdMs` (or for ever, with null), counting imports in flight. */
const counting = (holdMs: number | null) => `
const places = (globalThis.hangarTestImports ??= { now: 0, most: 0, done: 0 });
places.now += 1;
places.most = Math.max(places.most, places.now);
await new Promise((resolve) => ${holdMs === null ? "void resolve" : `setTimeout(resolve, ${holdMs})`});
places.now -= 1;
places.done += 1;
export async function onStart() {}
export async function onStop() {}
`;

interface Counter {
  now: number;
  most: number;
  done: number;
}
const counter = () => (globalThis as { hangarTestImports?: Counter }).hangarTestImports;

const fixture = workspacePerTest();

describe("imports of plugin code in flight at once (issue 13)", () => {
  it(`keeps at most ${IMPORTS_IN_FLIGHT} in flight while ${PLUGINS} plugins load`, async () => {
    const { ws, shells } = fixture;
    delete (globalThis as { hangarTestImports?: Counter }).hangarTestImports;
    for (let i = 0; i < PLUGINS; i += 1) {
      await ws.write({ id: `counted-${String(i).padStart(2, "0")}`, source: counting(5) });
    }
    const shell = createShell({
      plugins: [ws.pluginsDir],
      dataDir: ws.dataDir,
      server: { port: 0 },
      timeouts: { load: 60_000 },
      log: { level: "silent" },
    });
    shells.push(shell);
    await shell.start();

    expect(shell.status().plugins.filter((plugin) => plugin.state !== "running")).toEqual([]);
    expect(counter()?.done).toBe(PLUGINS);
    expect(counter()?.most).toBeLessThanOrEqual(IMPORTS_IN_FLIGHT);
  });

  it(`lets the others load when ${IMPORTS_IN_FLIGHT} imports never settle, each giving its place up after ${IMPORT_PLACE_MS} ms`, async () => {
    const { ws, shells } = fixture;
    delete (globalThis as { hangarTestImports?: Counter }).hangarTestImports;
    const hung = Array.from({ length: IMPORTS_IN_FLIGHT }, (_, i) => `hung-${i}`);
    // "hung-*" sort first: their imports take every place before the others are queued.
    for (const id of hung) {
      await ws.write({
        id,
        source: counting(null),
        manifest: { background: { loadTimeoutMs: 30_000 } },
      });
    }
    for (let i = 0; i < 6; i += 1) {
      await ws.write({ id: `loads-${i}`, source: counting(5) });
    }
    const shell = createShell({
      plugins: [ws.pluginsDir],
      dataDir: ws.dataDir,
      server: { port: 0 },
      log: { level: "silent" },
    });
    shells.push(shell);
    const started = shell.start();
    // start() waits for every plugin to settle; the hung ones only settle at their load timeout. The others run
    // long before that.
    const deadline = Date.now() + 20_000;
    const running = () => shell.status().plugins.filter((plugin) => plugin.state === "running").length;
    while (running() < 6 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(running()).toBe(6);
    expect(
      shell
        .status()
        .plugins.filter((plugin) => plugin.id.startsWith("hung-"))
        .map((plugin) => plugin.state),
    ).toEqual(hung.map(() => "loading"));
    await shell.stop();
    await started.catch(() => {});
  });
});
