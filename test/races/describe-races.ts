// One race suite per machine: a workspace of controllable plugins, a batch of seeded runs, and the check
// that the transitions where the races are actually came up.
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RaceMachine, raceRuns, runRaces } from "./race-runner.js";
import { createRaceWorkspace } from "./race-system.js";

const replayDir = fileURLToPath(new URL("./replays", import.meta.url));

/** Races on `machine`; every transition in `mustReach` must come up in any batch of runs this size. */
export function describeRaces(machine: RaceMachine, title: string, mustReach: readonly string[]): void {
  describe(title, () => {
    let workspace: Awaited<ReturnType<typeof createRaceWorkspace>>;

    beforeAll(async () => {
      workspace = await createRaceWorkspace();
    });
    afterAll(() => workspace.cleanup());

    it(`holds every invariant over ${raceRuns()} seeded runs`, { timeout: 600_000 }, async () => {
      const outcome = await runRaces({ machine, numRuns: raceRuns(), workspace, mutant: null, replayDir });
      console.log(
        `races: ${machine} ${outcome.numRuns} runs, seed ${outcome.seed}, ${outcome.reached.size} state changes`,
      );
      expect(outcome.failed, `${outcome.report}\nreplay file: ${outcome.replayFile}`).toBe(false);
      expect(mustReach.filter((transition) => !outcome.reached.has(transition))).toEqual([]);
    });
  });
}
