// An isolated plugin's load timeout counts its import, not its worker's boot, through the real CLI in a child
// process (`hangar run --json`). Workers whose boot is slowed as on an overloaded machine (the test-only
// HANGAR_TEST_WORKER_BOOT_DELAY_MS, read by src/isolation/worker-main.ts): a boot that outlasts the limit is
// HANGAR_WORKER_BOOT_TIMEOUT, which does not blame a top-level await; a slow boot followed by a slow import, each
// within the limit, runs; an import that never settles is still HANGAR_LOAD_TIMEOUT, counted from the boot.
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { PluginStatus } from "../../src/index.js";
import { createWorkspace, type Workspace } from "../support/plugins.js";
import { type Running, start, waitForEvent } from "../support/processes.js";

/** Every worker's boot is this much slower. */
const BOOT_DELAY_MS = 7_000;
/** Within it, a slowed boot and then an import of {@link IMPORT_MS} each fit, but not both together. */
const LOAD_LIMIT_MS = 15_000;
const IMPORT_MS = 9_000;

let ws: Workspace;
let cli: Running;
let plugins: PluginStatus[];

const hooks = "export async function onStart() {}\nexport async function onStop() {}\n";

beforeAll(async () => {
  ws = await createWorkspace();
  const write = (id: string, topLevel: string, loadTimeoutMs: number) =>
    ws.write({
      id,
      source: `${topLevel}\n${hooks}`,
      manifest: { background: { isolation: "worker", loadTimeoutMs, restart: { policy: "never" } } },
    });
  await write("boot-too-slow", "", 3_000);
  await write(
    "slow-boot-slow-import",
    `await new Promise((r) => setTimeout(r, ${IMPORT_MS}));`,
    LOAD_LIMIT_MS,
  );
  await write("import-hangs", "await new Promise(() => {});", LOAD_LIMIT_MS);
  cli = start(
    process.execPath,
    [path.resolve("bin/hangar.js"), "run", ws.pluginsDir, "--json", "--port", "0", "--data-dir", ws.dataDir],
    { cwd: ws.root, env: { HANGAR_TEST_WORKER_BOOT_DELAY_MS: String(BOOT_DELAY_MS) } },
  );
  const summary = await waitForEvent(cli, "summary");
  plugins = (await (await fetch(`${summary.url}/api/_shell/plugins`)).json()) as PluginStatus[];
}, 240_000);

afterAll(async () => {
  cli?.child.kill("SIGKILL");
  await ws?.cleanup();
});

const byId = (id: string) => plugins.find((plugin) => plugin.id === id);

it("names a worker that did not boot within the load timeout, without blaming the plugin's import", () => {
  const plugin = byId("boot-too-slow");
  expect(plugin?.state, JSON.stringify(plugin)).toBe("errored");
  expect(plugin?.error).toMatchObject({ code: "HANGAR_WORKER_BOOT_TIMEOUT", phase: "load" });
  expect(plugin?.error?.message).toMatch(
    /Plugin 'boot-too-slow': its worker did not start within 3000 ms \(phase load\).*overloaded.*loadTimeoutMs/,
  );
  expect(plugin?.error?.message).not.toMatch(/top-level await/);
});

it("does not count the boot against the import: a slow boot and a slow import that each fit run", () => {
  const plugin = byId("slow-boot-slow-import");
  expect(plugin?.state, JSON.stringify(plugin)).toBe("running");
});

it("still ends an import that never settles with HANGAR_LOAD_TIMEOUT", () => {
  const plugin = byId("import-hangs");
  expect(plugin?.state, JSON.stringify(plugin)).toBe("errored");
  expect(plugin?.error).toMatchObject({ code: "HANGAR_LOAD_TIMEOUT", phase: "load" });
  expect(plugin?.error?.message).toMatch(/did not settle within 15000 ms.*top-level await/);
});
