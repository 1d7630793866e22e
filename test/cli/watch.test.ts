// `hangar run --watch` through the real CLI: a plugin folder deleted while watching is stopped and removed,
// without being started once more on its way out (the update's rescan removes it before the others update); an
// old generation whose onStop throws leaves the plugin errored until the next save (SPEC §4); a leftover that only
// logs is warned about.
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { goodPluginSource, workspacePerTest } from "../support/plugins.js";
import { type Running, records, sleep, start, waitFor, waitForEvent } from "../support/processes.js";

const fixture = workspacePerTest();

/** `hangar run <plugins> --watch --json` in the current workspace. */
function runWatching(): Running {
  const { ws } = fixture;
  return start(
    process.execPath,
    [path.resolve("bin/hangar.js"), "run", ws.pluginsDir, "--watch", "--port", "0", "--json"],
    { cwd: ws.root, env: { HANGAR_SERVER_TOKEN: undefined } },
  );
}
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
  hangar = runWatching();
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

it("errors a plugin whose old onStop throws during a --watch update (SPEC §4), and starts the code of the next save", async () => {
  const { ws } = fixture;
  const version = (n: number, onStop: string) => `
export async function onStart(ctx) {
  ctx.server.registerRouter("/api/fixing", (req, res) => res.json({ version: ${n} }));
}
export async function onStop() { ${onStop} }
`;
  const folder = await ws.write({ id: "fixing", source: version(1, 'throw new Error("old onStop broke");') });
  hangar = runWatching();
  const summary = (await waitForEvent(hangar, "summary")) as { url: string };
  const served = async () => {
    const response = await fetch(`${summary.url}/api/fixing`);
    return { status: response.status, body: (await response.json()) as unknown };
  };
  expect(await served()).toEqual({ status: 200, body: { version: 1 } });

  // The edit's update stops the old code, whose onStop throws: errored in phase stop until the next update.
  await writeFile(path.join(folder, "background/index.mjs"), version(2, ""));
  const failed = await waitFor(hangar, (stdout) =>
    records(stdout).find((line) => line.pluginId === "fixing" && line.code === "HANGAR_STOP_FAILED"),
  );
  expect(failed).toMatchObject({ phase: "stop", level: 50 });
  expect(String(failed.msg)).toContain("old onStop broke");
  expect(String(failed.msg)).toContain("starts again on the next update");
  const status = async () =>
    (
      (await (await fetch(`${summary.url}/api/_shell/plugins`)).json()) as Array<{
        id: string;
        state: string;
        error?: { phase?: string; code?: string };
      }>
    ).find((plugin) => plugin.id === "fixing");
  for (let tries = 0; tries < 100 && (await status())?.state !== "errored"; tries += 1) await sleep(50);
  expect(await status()).toMatchObject({
    state: "errored",
    error: { phase: "stop", code: "HANGAR_STOP_FAILED" },
  });
  expect((await served()).status).toBe(503);

  // The next save is the next update: the new code starts.
  await writeFile(path.join(folder, "background/index.mjs"), version(3, ""));
  await waitFor(hangar, (stdout) =>
    records(stdout).filter((line) => line.pluginId === "fixing" && String(line.msg).startsWith("running ("))
      .length === 2
      ? true
      : undefined,
  );
  expect(await served()).toEqual({ status: 200, body: { version: 3 } });
  expect(await status()).toMatchObject({ state: "running" });
});

it("warns once, naming the plugin and the call, when a leftover interval of the old code only logs", async () => {
  const { ws } = fixture;
  const version = (n: number) => `
export async function onStart(ctx) {
  if (${n} === 1) setInterval(() => ctx.logger.info("Tick", "old tick"), 30);
}
export async function onStop() {}
`;
  const folder = await ws.write({ id: "ticker", source: version(1) });
  hangar = runWatching();
  await waitForEvent(hangar, "summary");
  await writeFile(path.join(folder, "background/index.mjs"), version(2));
  const warning = await waitFor(hangar, (stdout) =>
    records(stdout).find(
      (line) => line.pluginId === "ticker" && String(line.msg).includes("logger.info('Tick')"),
    ),
  );
  expect(warning).toMatchObject({ level: 40 });
  expect(String(warning.msg)).toMatch(
    /Plugin 'ticker' called ctx\.logger\.info\('Tick'\) after the context was disposed by an update.*clear it in onStop or when ctx\.signal aborts/,
  );
  // The leftover's lines still print (decided in docs/lifecycle.md); the warning is said once.
  const ticksAfter = records(hangar.stdout()).filter((line) => line.msg === "old tick").length;
  await waitFor(hangar, (stdout) =>
    records(stdout).filter((line) => line.msg === "old tick").length > ticksAfter + 2 ? true : undefined,
  );
  const warnings = records(hangar.stdout()).filter((line) =>
    String(line.msg).includes("logger.info('Tick')"),
  );
  expect(warnings).toHaveLength(1);
});

it("does not restart the background when only files in the ui.entry's folder change (a UI rebuild)", async () => {
  const { ws } = fixture;
  const folder = await ws.write({
    id: "paged",
    manifest: { ui: { entry: "ui/dist/index.js" } },
    source: goodPluginSource("paged"),
  });
  await mkdir(path.join(folder, "ui", "dist"), { recursive: true });
  await writeFile(path.join(folder, "ui/dist/index.js"), "export default function Ui() { return null; }\n");
  hangar = runWatching();
  await waitForEvent(hangar, "summary");
  expect(logged(hangar, "started", "paged")).toHaveLength(1);

  // A UI build rewrites its output (and adds a chunk): told apart, no update, the background keeps running.
  await writeFile(
    path.join(folder, "ui/dist/index.js"),
    'import "./chunk.js";\nexport default () => null;\n',
  );
  await writeFile(path.join(folder, "ui/dist/chunk.js"), "export {};\n");
  const seen = await waitFor(hangar, (stdout) => records(stdout).find((line) => line.event === "watch-ui"));
  expect(seen).toMatchObject({ changed: ["paged"] });
  expect(records(hangar.stdout()).some((line) => line.event === "watch")).toBe(false);
  expect(logged(hangar, "stopping", "paged")).toHaveLength(0);

  // An edit of the background is still an update: stopped and started again.
  await writeFile(path.join(folder, "background/index.mjs"), `${goodPluginSource("paged")}\n// edited\n`);
  await waitFor(hangar, (stdout) =>
    records(stdout).filter(
      (line) => line.tag === "Good" && line.msg === "started" && line.pluginId === "paged",
    ).length === 2
      ? true
      : undefined,
  );
  expect(records(hangar.stdout()).find((line) => line.event === "watch")).toMatchObject({
    changed: ["paged"],
  });
  expect(logged(hangar, "stopping", "paged")).toHaveLength(1);
});
