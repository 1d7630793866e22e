// In a real Node process with no error handlers installed, plugins that throw, reject and hang in every
// phase (and keep running after their timeouts) never crash the host: it exits 0 with the shell stopped.
// Both ways (HANGAR_TEST_ISOLATION): in-process, and with every plugin in its own worker thread.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createWorkspace, goodPluginSource, testIsolation, type Workspace } from "../support/plugins.js";

const run = promisify(execFile);
let ws: Workspace;

const late = (hook: string) =>
  // Settles (rejects) after the hook's timeout, when nobody is listening any more, then throws from a timer.
  `await new Promise((_, reject) => setTimeout(() => reject(new Error("late ${hook} rejection")), 300));`;

beforeAll(async () => {
  ws = await createWorkspace();
  await ws.write({ id: "good", source: goodPluginSource("good") });
  await ws.write({
    id: "start-throws",
    source: `export async function onStart() { throw new Error("x"); } export async function onStop() {}`,
  });
  await ws.write({
    id: "late-everything",
    // Short limits for this plugin only: each hook times out, then settles 100 ms later.
    manifest: { background: { startTimeoutMs: 200, stopTimeoutMs: 200, resumeTimeoutMs: 200 } },
    source: `export async function onStart(ctx) { ${late("onStart")} }
             export async function onStop() { ${late("onStop")} }
             export async function onResume() { ${late("onResume")} }`,
  });
  await ws.write({
    id: "sync-throws",
    source: `export function onStart() { throw "a string, not an Error"; } export function onStop() { throw null; }`,
  });
  await ws.write({
    id: "resume-then-stop-fail",
    source: `export async function onStart() {} export async function onResume() { throw new Error("r"); }
             export async function onStop() { throw new Error("s"); }`,
  });
  await ws.write({ id: "broken", source: "export const = ;" });
});

afterAll(() => ws.cleanup());

it("survives every fault without uncaughtException or unhandledRejection", async () => {
  const script = path.resolve("test/support/fault-run.mjs");
  const { stdout, stderr } = await run(process.execPath, [script, ws.pluginsDir, ws.dataDir, testIsolation], {
    cwd: ws.root,
    // Isolated, each of the six plugins boots a worker (and the retried ones a fresh one): seconds each here.
    timeout: testIsolation === "worker" ? 110_000 : 20_000,
  });
  expect(stderr).not.toMatch(/uncaught|unhandled/i);
  const result = JSON.parse(stdout);
  expect(result.state).toBe("stopped");
  // Isolated, every plugin that started ran in a worker thread of its own; in-process, none did.
  if (testIsolation === "worker")
    expect(result.isolated).toEqual(expect.arrayContaining(["good", "resume-then-stop-fail"]));
  else expect(result.isolated).toEqual([]);
  const byId = Object.fromEntries(result.plugins.map(([id, state, code]: string[]) => [id, { state, code }]));
  expect(byId.good).toEqual({ state: "stopped", code: null });
  expect(byId["start-throws"]).toEqual({ state: "errored", code: "HANGAR_START_FAILED" });
  expect(byId["sync-throws"]).toEqual({ state: "errored", code: "HANGAR_START_FAILED" });
  // In-process its late rejections land in a disposed context and are only logged; isolated, the worker ends at
  // the timeout (SPEC §12), so they never run. Either way: errored by the timeout, and no crash.
  expect(byId["late-everything"]).toEqual({ state: "errored", code: "HANGAR_START_TIMEOUT" });
  expect(byId.broken).toEqual({ state: "errored", code: "HANGAR_MODULE_IMPORT" });
});
