// testPluginLifecycle on real plugin folders written to a temp dir: well-behaved plugins pass, and each kind of
// plugin bug shows up as a problem naming the path, the phase, the code, the fix and where in the plugin.
import path from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LifecycleProblem, testPluginLifecycle } from "../../src/testing/index.js";
import { createWorkspace, type Workspace } from "../support/plugins.js";

declare global {
  // Timers the leaky test plugins start; cleared after each test so they cannot outlive it.
  var __lifecycleTimers: Array<ReturnType<typeof setInterval>> | undefined;
}

let ws: Workspace;

beforeEach(async () => {
  ws = await createWorkspace();
  globalThis.__lifecycleTimers = [];
});
afterEach(async () => {
  for (const timer of globalThis.__lifecycleTimers ?? []) clearInterval(timer);
  await ws.cleanup();
});
afterAll(() => {
  globalThis.__lifecycleTimers = undefined;
});

const pick = (problems: LifecycleProblem[], code: string) =>
  problems.filter((problem) => problem.code === code);

/** Registers a route and an IPC handler on every context it gets, and releases nothing of its own. */
const wellBehaved = (id: string, withResume: boolean) => `
function register(ctx) {
  ctx.server.registerRouter("/api/${id}", (req, res, next) => (req.url === "/ping" ? res.json({ ok: true }) : next()));
  ctx.ipc.handle("ping", () => "pong");
}
export async function onStart(ctx) {
  register(ctx);
  await ctx.config.set("starts", (await ctx.config.get("starts", 0)) + 1);
}
export async function onStop() {}
${withResume ? "export async function onResume(ctx) { register(ctx); }" : ""}
`;

describe("testPluginLifecycle", () => {
  it("passes a well-behaved plugin on every path, onResume included", async () => {
    const folder = await ws.write({ id: "tidy", source: wellBehaved("tidy", true) });
    const report = await testPluginLifecycle(folder);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.paths.map((path) => [path.path, path.outcome])).toEqual([
      ["start-stop", "passed"],
      ["stop-during-start", "passed"],
      ["restart", "passed"],
      ["ota-update", "passed"],
      ["ota-reload", "passed"],
      ["cycles", "passed"],
      ["start-timeout", "passed"],
      ["stop-timeout", "passed"],
      ["resume-timeout", "passed"],
    ]);
    expect(report.paths.find((path) => path.path === "ota-update")?.note).toBe("onResume");
    expect(report.paths.find((path) => path.path === "stop-during-start")?.note).toBe(
      "the stop arrived while onStart ran; onStop followed once it settled",
    );
    expect(report.format()).toContain("Lifecycle test of plugin 'tidy'");
    expect(report.format()).toContain("no problems");
  });

  it("skips only the resume timeout for a plugin without onResume, and restarts it on update instead", async () => {
    const folder = await ws.write({ id: "plain", source: wellBehaved("plain", false) });
    const report = await testPluginLifecycle(folder);
    expect(report.ok, report.format()).toBe(true);
    expect(report.paths.find((path) => path.path === "ota-update")?.note).toBe("onStop → onStart");
    expect(report.paths.find((path) => path.path === "resume-timeout")).toMatchObject({
      outcome: "skipped",
      note: "the plugin has no onResume",
    });
  });

  it("reports an onStart that throws, with the plugin's stack, and skips the paths that need a running plugin", async () => {
    const folder = await ws.write({
      id: "thrower",
      source: `export async function onStart() { throw new Error("database is locked"); }
export async function onStop() {}`,
    });
    const report = await testPluginLifecycle(folder);
    expect(report.ok).toBe(false);
    expect(report.problems).toHaveLength(1);
    const [problem] = report.problems;
    expect(problem).toMatchObject({ path: "start-stop", phase: "start", code: "HANGAR_START_FAILED" });
    expect(problem!.message).toContain("database is locked");
    expect(problem!.at).toContain("index.mjs");
    expect(problem!.fix).toMatch(/Make onStart succeed/);
    expect(report.paths.filter((path) => path.outcome === "skipped")).toHaveLength(8);
    expect(report.format()).toContain("1) HANGAR_START_FAILED in phase start, path start-stop");
  });

  it("reports an onStop that never settles as a stop timeout", async () => {
    const folder = await ws.write({
      id: "hangs",
      source: `export async function onStart() {}
export function onStop() { return new Promise(() => {}); }`,
    });
    const report = await testPluginLifecycle(folder, {
      timeouts: { stop: 50 },
      paths: ["start-stop"],
    });
    expect(report.problems).toMatchObject([
      { path: "start-stop", phase: "stop", code: "HANGAR_STOP_TIMEOUT" },
    ]);
    expect(report.problems[0]!.message).toContain("50 ms");
  });

  it("reports registrations that onResume forgets to make again on its fresh context", async () => {
    const folder = await ws.write({
      id: "forgetful",
      source: `export async function onStart(ctx) {
  ctx.server.registerRouter("/api/forgetful", (req, res, next) => next());
  ctx.ipc.handle("get-notes", () => []);
}
export async function onStop() {}
export async function onResume(ctx) { ctx.ipc.handle("get-notes", () => []); }`,
    });
    const report = await testPluginLifecycle(folder);
    const lost = pick(report.problems, "HANGAR_TEST_REGISTRATIONS_LOST");
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ path: "ota-update", phase: "resume" });
    expect(lost[0]!.message).toContain("route /api/forgetful");
    expect(lost[0]!.message).not.toContain("get-notes");
    expect(lost[0]!.fix).toMatch(/again in onResume/);
  });

  it("reports a timer that outlives onStop: its calls on the disposed context, and the timers piling up", async () => {
    const folder = await ws.write({
      id: "leaky",
      source: `let ticks = 0;
export async function onStart(ctx) {
  const timer = setInterval(() => {
    try {
      ctx.ipc.send("tick", ticks++);
    } catch {}
  }, 2);
  globalThis.__lifecycleTimers.push(timer);
}
export async function onStop() {}`,
    });
    const report = await testPluginLifecycle(folder, { paths: ["start-stop", "cycles"] });
    const late = pick(report.problems, "HANGAR_CONTEXT_DISPOSED");
    expect(late.length).toBeGreaterThan(0);
    expect(late[0]!.message).toContain("ctx.ipc.send('tick')");
    expect(late[0]!.at).toContain("index.mjs");
    // Reported after every shell stop, with where the plugin created it, then cleared by the harness.
    const leaked = pick(report.problems, "HANGAR_TEST_RESOURCES_LEAKED");
    expect(leaked.map((problem) => problem.path)).toEqual(["start-stop", "cycles"]);
    expect(leaked[0]).toMatchObject({ phase: "stop" });
    expect(leaked[0]!.message).toMatch(/left 1 timer created in onStart at .*index\.mjs:3:17\)/);
    expect(leaked[0]!.at).toContain("index.mjs");
    expect(leaked[1]!.message).toMatch(/\(after 3 shell stops\)$/);
    // Cleared by the harness: none would fire again (a cleared Node timer is marked _destroyed).
    expect(
      globalThis.__lifecycleTimers!.every(
        (timer) => (timer as unknown as { _destroyed: boolean })._destroyed,
      ),
    ).toBe(true);
  });

  it("counts only what the plugin's hooks created: timers elsewhere in the process do not fail it", async () => {
    const folder = await ws.write({ id: "calm", source: wellBehaved("calm", false) });
    // Someone else's timers, created before and during the run (as another test file's would be).
    const outside = [setInterval(() => {}, 1_000)];
    const adding = setInterval(() => outside.push(setInterval(() => {}, 1_000)), 5);
    try {
      const report = await testPluginLifecycle(folder, { paths: ["start-stop", "cycles"] });
      expect(report.problems).toEqual([]);
    } finally {
      clearInterval(adding);
      for (const timer of outside) clearInterval(timer);
    }
    expect(outside.length).toBeGreaterThan(1);
  });

  it("passes a plugin with onResume and dependsOn whose dependency restarts on update (was a false 'defect')", async () => {
    // The dependency sorts after the plugin, so on an update its timers are set after the plugin's own.
    await ws.write({ id: "z-base", source: wellBehaved("z-base", false) });
    const folder = await ws.write({
      id: "a-app",
      manifest: { dependsOn: ["z-base"] },
      source: wellBehaved("a-app", true),
    });
    const report = await testPluginLifecycle(folder, { paths: ["ota-update", "resume-timeout"] });
    expect(report.problems).toEqual([]);
    expect(report.paths.map((path) => path.outcome)).toEqual(["passed", "passed"]);
  });

  it("reports module state that a stop does not reset, on the next start of the same module instance", async () => {
    const folder = await ws.write({
      id: "sticky",
      source: `let started = false;
export async function onStart() {
  if (started) throw new Error("sticky is already started");
  started = true;
}
export async function onStop() {}`,
    });
    const report = await testPluginLifecycle(folder, { paths: ["start-stop", "restart"] });
    expect(report.problems).toHaveLength(1);
    // The module instance is shared by every path, as it is by every restart in a real shell.
    expect(report.problems[0]).toMatchObject({
      path: "restart",
      phase: "start",
      code: "HANGAR_START_FAILED",
    });
    expect(report.problems[0]!.message).toMatch(
      /^On a later start of the same module instance .*already started/,
    );
  });

  it("reports work a timed-out onStart leaves running on its disposed context", async () => {
    const folder = await ws.write({
      id: "slowstart",
      source: `export async function onStart(ctx) {
  await new Promise((resolve) => setTimeout(resolve, 5));
  // No check of ctx.signal.aborted: after a timeout this keeps polling a context that is gone.
  globalThis.__lifecycleTimers.push(setInterval(() => {
    try {
      ctx.ipc.send("progress", 1);
    } catch {}
  }, 2));
}
export async function onStop() {}`,
    });
    const report = await testPluginLifecycle(folder, { paths: ["start-timeout"] });
    const late = pick(report.problems, "HANGAR_CONTEXT_DISPOSED");
    expect(late.length).toBeGreaterThan(0);
    expect(late[0]).toMatchObject({ path: "start-timeout", phase: "start" });
    expect(late[0]!.fix).toContain("ctx.signal");
  });

  it("reports a stop during start-up that onStop cannot cope with", async () => {
    const folder = await ws.write({
      id: "halfway",
      source: `let db = null;
export async function onStart() {
  await new Promise((resolve) => setTimeout(resolve, 5));
  db = { close() {} };
}
export async function onStop() { db.close(); db = null; }`,
    });
    // Healthy on its own, and even stopped mid-start (hangar waits for onStart): no problem expected.
    const report = await testPluginLifecycle(folder, { paths: ["start-stop", "stop-during-start"] });
    expect(report.ok, report.format()).toBe(true);
    expect(report.paths.map((path) => path.outcome)).toEqual(["passed", "passed"]);
  });

  it("reports a plugin folder without plugin.json as a load problem and runs nothing", async () => {
    const report = await testPluginLifecycle(path.join(ws.pluginsDir, "nothing-here"));
    expect(report.ok).toBe(false);
    expect(report.problems).toMatchObject([
      { path: "load", phase: "load", code: "HANGAR_MANIFEST_UNREADABLE" },
    ]);
    expect(report.paths.every((path) => path.outcome === "skipped")).toBe(true);
    expect(report.format()).toContain("every path skipped: plugin.json could not be read");
  });

  it("reports a module that breaks the contract as a load problem", async () => {
    const folder = await ws.write({ id: "nohooks", source: "export const answer = 42;\n" });
    const report = await testPluginLifecycle(folder);
    expect(report.problems).toMatchObject([
      { path: "start-stop", phase: "load", code: "HANGAR_MODULE_CONTRACT" },
    ]);
    expect(report.problems[0]!.fix).toContain("hangar validate");
  });

  it("finds the plugins named in dependsOn beside the plugin, and reports a missing one", async () => {
    await ws.write({ id: "base", source: wellBehaved("base", false) });
    const dependent = await ws.write({
      id: "dependent",
      source: wellBehaved("dependent", false),
      manifest: { dependsOn: ["base"] },
    });
    const found = await testPluginLifecycle(dependent, { paths: ["start-stop", "ota-reload"] });
    expect(found.ok, found.format()).toBe(true);

    const orphan = await ws.write({
      id: "orphan",
      source: wellBehaved("orphan", false),
      manifest: { dependsOn: ["nowhere"] },
    });
    const missing = await testPluginLifecycle(orphan, { paths: ["start-stop"] });
    expect(missing.problems).toMatchObject([
      { path: "start-stop", phase: "dependency", code: "HANGAR_DEPENDENCY_MISSING" },
    ]);
    expect(missing.problems[0]!.fix).toContain("options.dependencies");
  });

  it("passes a UI-only plugin without running anything", async () => {
    const folder = await ws.write({ id: "gallery", manifest: { ui: { route: "/g" } } });
    const report = await testPluginLifecycle(folder);
    expect(report.ok).toBe(true);
    expect(report.paths.every((path) => path.outcome === "skipped")).toBe(true);
    expect(report.format()).toContain("UI-only plugin");
  });
});
