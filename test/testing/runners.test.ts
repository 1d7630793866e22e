// hangar/testing needs no test framework: a plain node:test file in a real child process uses it with
// node:assert, passes on a good plugin, and fails with the report's text on a faulty one.
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createWorkspace, type Workspace } from "../support/plugins.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const harness = pathToFileURL(path.join(root, "src/testing/index.ts")).href;

let ws: Workspace;
beforeEach(async () => {
  ws = await createWorkspace();
});
afterEach(() => ws.cleanup());

/** Runs `node --test` on a file that checks `folder` with testPluginLifecycle (or runs `tests`, given). */
async function nodeTest(folder: string, tests?: string): Promise<{ code: number; output: string }> {
  const file = path.join(ws.root, "lifecycle.test.mjs");
  await writeFile(
    file,
    `import assert from "node:assert/strict";
import { test } from "node:test";
import { testPluginLifecycle } from ${JSON.stringify(harness)};
const folder = ${JSON.stringify(folder)};

${
  tests ??
  `test("the plugin's lifecycle", async () => {
  const report = await testPluginLifecycle(folder, { paths: ["start-stop", "restart"] });
  assert.ok(report.ok, report.format());
});`
}
`,
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "--test", "--test-reporter=spec", file],
      // Killed after 60 s, so a child kept alive by a leftover timer fails the test instead of hanging it.
      { cwd: root, env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` });
      },
    );
  });
}

describe("hangar/testing under node:test", () => {
  it("passes a good plugin", async () => {
    const folder = await ws.write({
      id: "good",
      source:
        "export async function onStart(ctx) { ctx.ipc.handle('ping', () => 1); }\nexport async function onStop() {}\n",
    });
    const result = await nodeTest(folder);
    expect(result.output).toMatch(/pass 1/);
    expect(result.code).toBe(0);
  });

  it("fails a faulty plugin with the report as the assertion message", async () => {
    const folder = await ws.write({
      id: "bad",
      source:
        "export async function onStart() { throw new Error('no config'); }\nexport async function onStop() {}\n",
    });
    const result = await nodeTest(folder);
    expect(result.code).toBe(1);
    expect(result.output).toContain("Lifecycle test of plugin 'bad'");
    expect(result.output).toContain("HANGAR_START_FAILED in phase start, path start-stop");
  });

  it("reports a timer the plugin leaves running, and node --test still exits on its own", async () => {
    const folder = await ws.write({
      id: "ticker",
      source:
        "export async function onStart() { setInterval(() => {}, 1_000); }\nexport async function onStop() {}\n",
    });
    // No timeout of our own beyond execFile's: a leftover interval would keep the child alive forever.
    const result = await nodeTest(folder);
    expect(result.code).toBe(1);
    expect(result.output).toContain("HANGAR_TEST_RESOURCES_LEAKED in phase stop, path start-stop");
    expect(result.output).toMatch(/left 1 timer created in onStart at .*index\.mjs:1:\d+/);
  });

  // Needs the shell's containment (process handlers turning a plugin's uncaught error into HANGAR_PLUGIN_CRASHED,
  // phase run): until that is merged, the throw below ends the child with an uncaught exception instead.
  it("reports a plugin that crashes outside its hooks (phase run, HANGAR_PLUGIN_CRASHED)", async () => {
    const folder = await ws.write({
      id: "crasher",
      source:
        "export async function onStart() { setTimeout(() => { throw new Error('tick failed'); }, 0); }\n" +
        "export async function onStop() {}\n",
    });
    const result = await nodeTest(folder);
    expect(result.code).toBe(1);
    expect(result.output).toContain("HANGAR_PLUGIN_CRASHED in phase run, path start-stop");
    expect(result.output).toContain("tick failed");
  });

  // hangar/testing sets node:test's process listeners aside while it runs (so a plugin crash is a report
  // problem, not an uncaught exception): they must come back exactly, and still see an error no plugin raised.
  it("gives node:test back its process listeners, and forwards an error that is not a plugin's", async () => {
    const folder = await ws.write({
      id: "calm",
      source: "export async function onStart() {}\nexport async function onStop() {}\n",
    });
    const result = await nodeTest(
      folder,
      `const listeners = () => ["uncaughtException", "unhandledRejection"].map((e) => process.rawListeners(e));

test("listeners restored", async () => {
  const before = listeners();
  assert.ok(before.flat().length > 0, "node:test has process listeners");
  const report = await testPluginLifecycle(folder, { paths: ["start-stop"] });
  assert.ok(report.ok, report.format());
  const after = listeners();
  assert.deepEqual(after[0], before[0]);
  assert.deepEqual(after[1], before[1]);
});

test("a failure of the test itself", async () => {
  const running = testPluginLifecycle(folder, { paths: ["start-stop", "restart"] });
  setTimeout(() => { throw new Error("the test's own timer failed"); }, 0);
  await running;
});`,
    );
    expect(result.output).toMatch(/✔ listeners restored/);
    expect(result.output).toMatch(/✖ a failure of the test itself/);
    expect(result.output).toContain("the test's own timer failed");
    expect(result.output).toMatch(/pass 1/);
    expect(result.code).toBe(1);
  });
});
