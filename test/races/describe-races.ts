// One race suite per machine: a workspace of controllable plugins, a batch of seeded runs, and the check
// that the transitions where the races are actually came up.
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RaceMachine, raceRuns, runRaces } from "./race-runner.js";
import { createRaceWorkspace } from "./race-system.js";

const replayDir = fileURLToPath(new URL("./replays", import.meta.url));

/**
 * A seed per machine whose batch reaches every must-reach transition. A batch depends on its seed (the
 * scheduler decides every ordering; docs/testing.md), so this one reaches them run after run — checked
 * 2026-11-30: the two runs of seed 1 differed only in one restart path (`backoff -> loaded`), not in a
 * must-reach. The batch with a fresh seed explores new orderings and reaches them in passing, but a
 * transition that needs two commands to meet inside one hook (a STOP while onResume runs) was missed by one
 * CI batch (seed 2016591184).
 */
const PINNED_SEEDS: Record<RaceMachine, number> = { plugin: 1, shell: 1 };

/**
 * Races on `machine`; every transition in `mustReach` must come up. The invariants are checked over a batch
 * with a fresh seed (HANGAR_RACE_SEED to repeat one); the coverage over that batch and, when it missed a
 * transition, a second batch from the pinned seed — so that coverage is deterministic and a machine change
 * that makes a transition unreachable still fails.
 */
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
      const missed = mustReach.filter((transition) => !outcome.reached.has(transition));
      if (missed.length === 0) return;
      const pinned = await runRaces({
        machine,
        numRuns: raceRuns(),
        workspace,
        mutant: null,
        replayDir,
        seed: PINNED_SEEDS[machine],
      });
      console.log(
        `races: seed ${outcome.seed} missed ${missed.join(", ")}; the pinned seed ${pinned.seed} reached ${pinned.reached.size} state changes`,
      );
      expect(pinned.failed, `${pinned.report}\nreplay file: ${pinned.replayFile}`).toBe(false);
      expect(missed.filter((transition) => !pinned.reached.has(transition))).toEqual([]);
    });
  });
}
