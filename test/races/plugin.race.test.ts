// Races on one plugin's lifecycle through the real shell: start, stop, updates (with and without a code
// change, with and without onResume), auth changes, every hook resolved or rejected in any order, timeouts.
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { raceRuns, runRaces } from "./race-runner.js";
import { createRaceWorkspace } from "./race-system.js";

const replayDir = fileURLToPath(new URL("./replays", import.meta.url));
let workspace: Awaited<ReturnType<typeof createRaceWorkspace>>;

beforeAll(async () => {
  workspace = await createRaceWorkspace();
});
afterAll(() => workspace.cleanup());

/** The transitions where the races are: each must come up in any batch of runs this size. */
const MUST_REACH = [
  "plugin: starting -> stopping", // a STOP while onStart runs
  "plugin: resuming -> stopping", // a STOP while onResume runs
  "plugin: starting -> errored", // onStart rejects or times out
  "plugin: resuming -> errored",
  "plugin: stopping -> errored",
  "plugin: stopping -> starting", // update without onResume
  "plugin: stopping -> loading", // update with a code change
  "plugin: errored -> loaded", // retried on update
  "shell: starting -> shuttingDown",
  "shell: updating -> shuttingDown",
  "shell: starting -> updating", // an update queued during start-up
];

describe("plugin machine races (fast-check scheduler, real shell)", () => {
  it(`holds every invariant over ${raceRuns()} seeded runs`, { timeout: 600_000 }, async () => {
    const outcome = await runRaces({
      machine: "plugin",
      numRuns: raceRuns(),
      workspace,
      mutant: null,
      replayDir,
    });
    console.log(
      `races: plugin ${outcome.numRuns} runs, seed ${outcome.seed}, ${outcome.reached.size} state changes`,
    );
    expect(outcome.failed, `${outcome.report}\nreplay file: ${outcome.replayFile}`).toBe(false);
    expect(MUST_REACH.filter((transition) => !outcome.reached.has(transition))).toEqual([]);
  });
});
