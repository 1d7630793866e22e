// testPluginLifecycle with the plugin isolated in a worker thread (docs/isolation.md): the same paths and checks
// as in-process, and `isolation: "both"` catches a bug that shows only isolated (a plugin relying on a global of
// the process that hosts it).
import { afterEach, beforeEach, expect, it } from "vitest";
import { testPluginLifecycle } from "../../src/testing/index.js";
import { createWorkspace, type Workspace } from "../support/plugins.js";

declare global {
  // What the "host" (this test process) offers its plugins in-process; an isolated plugin cannot see it.
  var __hostServices: { greeting(): string } | undefined;
}

/**
 * Booting a worker thread from source (tsx, Express, hangar's worker side) takes about a second on a quiet
 * machine and over ten on this shared one: the load limit must not be what these tests measure.
 */
const timeouts = { load: 120_000 };

let ws: Workspace;
beforeEach(async () => {
  ws = await createWorkspace();
});
afterEach(async () => {
  globalThis.__hostServices = undefined;
  await ws.cleanup();
});

// Every path boots the plugin's worker afresh (about 15 boots): some 20 s on a quiet machine, minutes on a loaded one.
it("runs every path in-process and isolated, and passes a well-behaved plugin both ways", async () => {
  const folder = await ws.write({
    id: "tidy",
    source: `
function register(ctx) {
  ctx.server.registerRouter("/api/tidy", (req, res) => res.json({ ok: true }));
  ctx.ipc.handle("ping", () => "pong");
}
export async function onStart(ctx) { register(ctx); await ctx.config.set("n", (await ctx.config.get("n", 0)) + 1); }
export async function onResume(ctx) { register(ctx); }
export async function onStop() {}`,
  });
  const report = await testPluginLifecycle(folder, { isolation: "both", timeouts, cycles: 2 });
  expect(report.problems, report.format()).toEqual([]);
  const run = (isolation: string) =>
    report.paths.filter((path) => path.isolation === isolation).map((path) => [path.path, path.outcome]);
  expect(run("worker")).toEqual(run("none"));
  expect(run("worker")).toHaveLength(9);
  expect(run("worker").every(([, outcome]) => outcome === "passed")).toBe(true);
  // An OTA reload re-imported the module in a fresh worker, as in a real isolated shell.
  expect(
    report.paths.find((path) => path.path === "ota-reload" && path.isolation === "worker")?.note,
  ).toMatch(/onStop → onStart on a freshly imported module/);
  expect(report.format()).toContain("isolated (a worker thread):");
}, 600_000);

it("catches, with isolation 'both', a plugin that relies on a global of its host: only isolated does it fail", async () => {
  globalThis.__hostServices = { greeting: () => "hello from the host" };
  const folder = await ws.write({
    id: "host-bound",
    source: `
export async function onStart(ctx) {
  // Works in-process only: the host's globals are not there in a worker thread.
  const greeting = globalThis.__hostServices.greeting();
  ctx.logger.info("Host", greeting);
}
export async function onStop() {}`,
  });
  const inProcess = await testPluginLifecycle(folder, { paths: ["start-stop"] });
  expect(inProcess.ok, inProcess.format()).toBe(true);

  const report = await testPluginLifecycle(folder, { paths: ["start-stop"], isolation: "both", timeouts });
  expect(report.ok).toBe(false);
  expect(report.paths.map((path) => [path.isolation, path.outcome])).toEqual([
    ["none", "passed"],
    ["worker", "failed"],
  ]);
  expect(report.problems).toMatchObject([
    { path: "start-stop", phase: "start", code: "HANGAR_START_FAILED", isolation: "worker" },
  ]);
  const [problem] = report.problems;
  expect(problem!.message).toMatch(/host-bound.*__hostServices|greeting/);
  expect(problem!.fix).toContain("only when the plugin ran isolated");
  expect(report.format()).toMatch(/HANGAR_START_FAILED in phase start, path start-stop \(isolated\)/);
}, 120_000);

it("sees an isolated plugin's registrations: routes and IPC channels lost after an update are reported", async () => {
  const folder = await ws.write({
    id: "forgetful",
    source: `
export async function onStart(ctx) {
  ctx.server.registerRouter("/api/forgetful", (req, res) => res.json({ ok: true }));
  ctx.ipc.handle("ping", () => "pong");
}
export async function onResume() {}
export async function onStop() {}`,
  });
  const report = await testPluginLifecycle(folder, { paths: ["ota-update"], isolation: "worker", timeouts });
  expect(report.problems).toMatchObject([
    { path: "ota-update", phase: "resume", code: "HANGAR_TEST_REGISTRATIONS_LOST", isolation: "worker" },
  ]);
  expect(report.problems[0]!.message).toContain("route /api/forgetful");
  expect(report.problems[0]!.message).toContain("IPC channel 'ping'");
}, 120_000);
