// `hangar run --watch` through the real CLI: a plugin folder deleted while watching is stopped and removed,
// without being started once more on its way out (the update's rescan removes it before the others update).
import { rm } from "node:fs/promises";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { goodPluginSource, workspacePerTest } from "../support/plugins.js";
import { type Running, records, sleep, start, waitForEvent } from "../support/processes.js";

const fixture = workspacePerTest();
let hangar: Running | null = null;

afterEach(async () => {
  hangar?.child.kill("SIGKILL");
  await hangar?.exited;
  hangar = null;
});

/** The plugins' own log lines with `msg`, as [pluginId] in order (goodPluginSource logs `started`, `stopping`). */
const logged = (running: Running, msg: string, pluginId: string) =>
  records(running.stdout()).filter(
    (line) => line.tag === "Good" && line.msg === msg && line.pluginId === pluginId,
  );

it("removes a deleted plugin folder without starting that plugin again", async () => {
  const { ws } = fixture;
  await ws.write({ id: "kept", source: goodPluginSource("kept") });
  const deleted = await ws.write({ id: "deleted", source: goodPluginSource("deleted") });
  hangar = start(
    process.execPath,
    [path.resolve("bin/hangar.js"), "run", ws.pluginsDir, "--watch", "--port", "0", "--json"],
    { cwd: ws.root, env: { HANGAR_SERVER_TOKEN: undefined } },
  );
  const summary = (await waitForEvent(hangar, "summary")) as { url: string };
  expect(logged(hangar, "started", "deleted")).toHaveLength(1);

  await rm(deleted, { recursive: true, force: true });
  // The watcher's update: the deleted plugin leaves the status.
  let ids: string[] = [];
  for (let tries = 0; tries < 300; tries += 1) {
    const plugins = (await (await fetch(`${summary.url}/api/_shell/plugins`)).json()) as Array<{
      id: string;
    }>;
    ids = plugins.map((plugin) => plugin.id);
    if (!ids.includes("deleted")) break;
    await sleep(50);
  }
  expect(ids).toEqual(["kept"]);
  expect(records(hangar.stdout()).some((line) => line.event === "watch")).toBe(true);
  // Stopped once, never started again; the other plugin still answers.
  expect(logged(hangar, "started", "deleted")).toHaveLength(1);
  expect(logged(hangar, "stopping", "deleted")).toHaveLength(1);
  expect(await (await fetch(`${summary.url}/api/kept/status`)).json()).toMatchObject({
    ok: true,
    id: "kept",
  });
});
