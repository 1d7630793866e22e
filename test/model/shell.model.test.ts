// Model-based replay of the shell machine: every transition and every transition pair is reached on a
// real actor (promise steps, simulated clock); shutdown from every reachable state must end `stopped`.
import { describe, expect, it } from "vitest";
import { shellMachine } from "../../src/machines/shell.machine.js";
import type { ModelPath } from "../../src/testing/model/graph.js";
import {
  coverageOf,
  planPairPaths,
  planStatePaths,
  planTransitionPaths,
} from "../../src/testing/model/paths.js";
import { pairId } from "../../src/testing/model/transitions.js";
import { ShellReplay, shellModel } from "./shell-harness.js";

interface SuiteResult {
  violations: string[];
  lostUpdates: string[];
  transitions: Set<string>;
  pairs: Set<string>;
}

async function replayAll(paths: readonly ModelPath[]): Promise<SuiteResult> {
  const result: SuiteResult = { violations: [], lostUpdates: [], transitions: new Set(), pairs: new Set() };
  for (const path of paths) {
    const shell = new ShellReplay(shellMachine);
    await shell.run(path);
    result.lostUpdates.push(...shell.lostUpdates);
    const taken = shell.replay.taken;
    for (const transition of taken) result.transitions.add(transition);
    for (let i = 1; i < taken.length; i += 1) result.pairs.add(pairId(taken[i - 1]!, taken[i]!));
    result.violations.push(...shell.replay.finish());
  }
  return result;
}

const report = (violations: string[]) => violations.slice(0, 10).join("\n");

/** Boots a replayed shell to `running`, every boot step succeeding. */
async function runningShell(): Promise<ShellReplay> {
  const shell = new ShellReplay(shellMachine);
  await shell.replay.cause({ type: "START" });
  await shell.replay.settleActor("initAuth", { output: { authenticated: true } });
  await shell.replay.settleActor("listen", { output: { url: "http://127.0.0.1:2066" } });
  await shell.replay.settleActor("discoverPlugins", { output: undefined });
  await shell.replay.settleActor("startPlugins", { output: undefined });
  expect(shell.top).toBe("running");
  return shell;
}

describe("shell machine, model-based", () => {
  const model = shellModel(shellMachine);

  it("takes every declared transition on a real actor, each as the model predicts", async () => {
    const result = await replayAll(planTransitionPaths(model));
    const coverage = coverageOf(
      model.transitions.map((t) => t.id),
      result.transitions,
    );
    console.log(`transition coverage: shell ${coverage.covered}/${coverage.total}`);
    expect(result.violations, report(result.violations)).toEqual([]);
    expect(coverage.missing).toEqual([]);
    expect(coverage.total).toBeGreaterThan(30);
  });

  it("takes every feasible pair of consecutive transitions", async () => {
    const result = await replayAll(planPairPaths(model));
    const coverage = coverageOf(model.pairs, result.pairs);
    console.log(`pair coverage: shell ${coverage.covered}/${coverage.total}`);
    expect(result.violations, report(result.violations)).toEqual([]);
    expect(coverage.missing).toEqual([]);
    expect(coverage.total).toBeGreaterThan(model.transitions.length);
  });

  it.each(["graceful", "hung"] as const)(
    "ends stopped after a %s shutdown from any reachable state",
    async (mode) => {
      const violations: string[] = [];
      for (const path of planStatePaths(model)) {
        const shell = new ShellReplay(shellMachine);
        await shell.run(path);
        await shell.shutDown(mode, path.goal);
        violations.push(...shell.replay.finish());
      }
      expect(violations, report(violations)).toEqual([]);
    },
  );

  // SPEC §4: "an update during start-up or another update runs once the current one settles".
  // shell.update() resolves only in `running` with nothing queued, so a queued update left behind makes
  // every pending shell.update() call hang.
  it("runs an update queued during an update that then fails", async () => {
    const shell = await runningShell();
    shell.replay.actor.send({ type: "UPDATE", changed: ["fleet-board"] });
    shell.replay.actor.send({ type: "UPDATE", changed: ["pilot-notes"] });
    await shell.replay.settleActor("updatePlugins", { error: new Error("fleet-board could not be read") });
    expect(shell.top).toBe("updating");
    expect(shell.replay.pendingActors().map((call) => call.input)).toEqual([
      { changed: ["pilot-notes"], generation: 2 },
    ]);
    shell.replay.finish();
  });

  it("never rests in running with an update still queued, on any replayed path", async () => {
    const result = await replayAll(planPairPaths(model));
    expect(result.lostUpdates, report(result.lostUpdates)).toEqual([]);
  });
});
