// Model-based replay of the plugin machine: every transition and every transition pair is reached on a
// real actor (promise hooks, simulated clock), with the ownership and hook rules checked after each step.
import { describe, expect, it } from "vitest";
import { pluginMachine } from "../../src/machines/plugin.machine.js";
import type { MachineModel, ModelPath } from "../../src/testing/model/graph.js";
import {
  coverageOf,
  planPairPaths,
  planStatePaths,
  planTransitionPaths,
} from "../../src/testing/model/paths.js";
import { pairId } from "../../src/testing/model/transitions.js";
import { type PluginMachine, PluginReplay, pluginModel } from "./plugin-harness.js";
import { withoutDisposalOnExit, withoutStopDuringStart } from "./plugin-mutants.js";

interface SuiteResult {
  violations: string[];
  transitions: Set<string>;
  pairs: Set<string>;
}

async function replayAll(machine: PluginMachine, paths: readonly ModelPath[]): Promise<SuiteResult> {
  const result: SuiteResult = { violations: [], transitions: new Set(), pairs: new Set() };
  for (const path of paths) {
    const plugin = new PluginReplay(machine);
    await plugin.run(path);
    const taken = plugin.replay.taken;
    for (const transition of taken) result.transitions.add(transition);
    for (let i = 1; i < taken.length; i += 1) result.pairs.add(pairId(taken[i - 1]!, taken[i]!));
    result.violations.push(...plugin.replay.finish());
  }
  return result;
}

/** From every reachable state: STOP, let every hook settle, and expect a settled plugin with no context. */
async function shutDownEverywhere(machine: PluginMachine, model: MachineModel): Promise<string[]> {
  const violations: string[] = [];
  for (const path of planStatePaths(model)) {
    const plugin = new PluginReplay(machine);
    await plugin.run(path);
    await plugin.shutDown(path.goal);
    violations.push(...plugin.replay.finish());
  }
  return violations;
}

const report = (violations: string[]) => violations.slice(0, 10).join("\n");

describe("plugin machine, model-based", () => {
  const model = pluginModel(pluginMachine);

  it("takes every declared transition on a real actor, each as the model predicts", async () => {
    const result = await replayAll(pluginMachine, planTransitionPaths(model));
    const coverage = coverageOf(
      model.transitions.map((t) => t.id),
      result.transitions,
    );
    console.log(`transition coverage: plugin ${coverage.covered}/${coverage.total}`);
    expect(result.violations, report(result.violations)).toEqual([]);
    expect(coverage.missing).toEqual([]);
    expect(coverage.total).toBeGreaterThan(30);
  });

  it("takes every feasible pair of consecutive transitions", async () => {
    const result = await replayAll(pluginMachine, planPairPaths(model));
    const coverage = coverageOf(model.pairs, result.pairs);
    console.log(`pair coverage: plugin ${coverage.covered}/${coverage.total}`);
    expect(result.violations, report(result.violations)).toEqual([]);
    expect(coverage.missing).toEqual([]);
    expect(coverage.total).toBeGreaterThan(model.transitions.length);
  });

  it("settles with no context open when stopped from any reachable state", async () => {
    const violations = await shutDownEverywhere(pluginMachine, model);
    expect(violations, report(violations)).toEqual([]);
  });

  it("reports a violation when leaving the active state does not dispose its context (planted bug)", async () => {
    const mutant = withoutDisposalOnExit(pluginMachine);
    const result = await replayAll(mutant, planPairPaths(pluginModel(mutant)));
    expect(result.violations.some((v) => v.startsWith("1 contexts open in stopped, expected 0"))).toBe(true);
  });

  it("reports a violation when a STOP during start-up is forgotten (planted bug)", async () => {
    const mutant = withoutStopDuringStart(pluginMachine);
    const violations = await shutDownEverywhere(mutant, pluginModel(mutant));
    expect(violations.some((v) => v.startsWith("STOP left the plugin running"))).toBe(true);
  });

  it("reports where a planted bug departs from the real machine's model", async () => {
    const result = await replayAll(withoutStopDuringStart(pluginMachine), planPairPaths(model));
    expect(
      result.violations.some((v) =>
        v.startsWith('expected state {"state":{"active":{"stopping":"toStopped"}},"stopRequested":true,'),
      ),
    ).toBe(true);
  });
});
