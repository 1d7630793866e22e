// Start-up starts each plugin as soon as it and its dependsOn have loaded (issue 12): a plugin whose top-level
// await hangs holds up only the plugins that depend on it, not the whole shell for its load timeout.
//
// Run in both vitest projects. Isolated, every plugin first boots a worker thread (seconds on this shared machine),
// so the hang limit under test is measured against that boot (hangLimitMs), and each "meanwhile" state is waited
// for explicitly rather than assumed from the order in which a quiet machine would reach it.
import { performance } from "node:perf_hooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Shell } from "../../src/index.js";
import {
  createWorkspace,
  expectHungImportOutcome,
  goodPluginSource,
  testIsolation,
  testShell,
  type Workspace,
} from "../support/plugins.js";

let ws: Workspace;
let shells: Shell[] = [];

beforeEach(async () => {
  ws = await createWorkspace();
});

afterEach(async () => {
  await Promise.all(shells.map((shell) => shell.stop()));
  shells = [];
  await ws.cleanup();
});

const stateOf = (shell: Shell, id: string) => shell.status().plugins.find((p) => p.id === id)?.state;

/** Polls a route until it answers 200; returns its body. */
async function answered(shell: Shell, route: string, ms = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const url = shell.status().server.url;
    if (url) {
      const response = await fetch(new URL(route, url)).catch(() => null);
      if (response?.status === 200) return (await response.json()) as Record<string, unknown>;
      await response?.body?.cancel();
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${route} to answer`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Polls until `ready()` holds; `what` names it in the failure. */
async function until(what: string, ready: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The hung plugin's `loadTimeoutMs`: the hang must outlast the other plugins' start-up, or it is over before they
 * answer and the test shows nothing. In-process 3 s is ample. Isolated, loading boots a worker per plugin (the
 * hung one's included), so it is 3 × how long a shell over `healthy` good plugins took to start here just now,
 * and at least 3 s (on a quiet machine ~1 s; at load average 15, 3–10 s).
 */
async function hangLimitMs(healthy: number): Promise<number> {
  if (testIsolation !== "worker") return 3_000;
  const calibration = await createWorkspace();
  try {
    for (let i = 1; i <= healthy; i += 1) {
      await calibration.write({ id: `calibration-${i}`, source: goodPluginSource(`calibration-${i}`) });
    }
    const { shell } = testShell(calibration);
    const started = performance.now();
    try {
      await shell.start();
    } finally {
      await shell.stop();
    }
    return Math.max(3_000, Math.ceil(3 * (performance.now() - started)));
  } finally {
    await calibration.cleanup();
  }
}

const hungSource =
  "await new Promise(() => {});\nexport async function onStart() {}\nexport async function onStop() {}\n";

describe("start-up with a hung import (issue 12)", () => {
  it("serves the other plugins while one import hangs; its dependent waits, then fails with the load timeout", async () => {
    const loadTimeoutMs = await hangLimitMs(4);
    await ws.write({ id: "good", source: goodPluginSource("good") });
    await ws.write({
      id: "good-dependent",
      source: goodPluginSource("good-dependent"),
      manifest: { dependsOn: ["good"] },
    });
    await ws.write({ id: "hung", source: hungSource, manifest: { background: { loadTimeoutMs } } });
    await ws.write({
      id: "hung-dependent",
      source: goodPluginSource("hung-dependent"),
      manifest: { dependsOn: ["hung"] },
    });
    const { shell } = testShell(ws);
    shells.push(shell);
    const starting = shell.start();

    // Both routes answer while the hung import is still inside its load timeout (not after it).
    expect(await answered(shell, "/api/good/status")).toMatchObject({ ok: true, id: "good" });
    expect(await answered(shell, "/api/good-dependent/status")).toMatchObject({ ok: true });
    // The dependent of the hung plugin loads (isolated: once its worker has booted) and waits for it.
    await until("hung-dependent has loaded", () => stateOf(shell, "hung-dependent") !== "loading");
    expect(stateOf(shell, "hung-dependent")).toBe("loaded");
    expect(stateOf(shell, "hung")).toBe("loading");
    // start() has not resolved yet.
    expect(shell.status().state).toBe("starting");

    await starting;
    const status = shell.status();
    expect(status.state).toBe("running");
    expectHungImportOutcome(status.plugins);
  });

  it("still reports a dependency cycle and a missing dependency once the plugins involved have loaded", async () => {
    const loadTimeoutMs = await hangLimitMs(5);
    await ws.write({ id: "hung", source: hungSource, manifest: { background: { loadTimeoutMs } } });
    await ws.write({
      id: "cycle-a",
      source: goodPluginSource("cycle-a"),
      manifest: { dependsOn: ["cycle-b"] },
    });
    await ws.write({
      id: "cycle-b",
      source: goodPluginSource("cycle-b"),
      manifest: { dependsOn: ["cycle-a"] },
    });
    await ws.write({
      id: "needs-missing",
      source: goodPluginSource("needs-missing"),
      manifest: { dependsOn: ["nowhere"] },
    });
    await ws.write({ id: "good", source: goodPluginSource("good") });
    const { shell } = testShell(ws);
    shells.push(shell);
    const starting = shell.start();
    await answered(shell, "/api/good/status");
    // Isolated, a plugin's worker may still be booting when another's route answers: wait until the three have
    // been judged (they load, then the dependency check errors them).
    const judged = ["cycle-a", "cycle-b", "needs-missing"];
    await until("the cycle and the missing dependency are reported", () =>
      judged.every((id) => stateOf(shell, id) === "errored"),
    );
    const early = new Map(shell.status().plugins.map((plugin) => [plugin.id, plugin]));
    // Neither waits for the hung import, which they do not depend on.
    expect(stateOf(shell, "hung")).toBe("loading");
    for (const id of ["cycle-a", "cycle-b"]) {
      expect(early.get(id)).toMatchObject({ state: "errored", error: { code: "HANGAR_DEPENDENCY_CYCLE" } });
    }
    expect(early.get("needs-missing")).toMatchObject({
      state: "errored",
      error: { phase: "dependency", code: "HANGAR_DEPENDENCY_MISSING" },
    });
    await starting;
  });
});
