// Races on the shell over two plugins, one depending on the other: start-up and shutdown in dependency
// order, updates of every subset while anything else is in flight, auth changes, hook outcomes, timeouts.
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
  "plugin: loaded -> errored", // the dependency failed: the dependent never starts
  "plugin: loaded -> stopped", // shutdown before the dependent's turn
  "plugin: starting -> stopping",
  "plugin: resuming -> stopping",
  "plugin: stopping -> starting",
  "plugin: stopping -> loading",
  "plugin: errored -> loaded",
  "shell: starting -> shuttingDown",
  "shell: starting -> updating",
  "shell: updating -> shuttingDown",
  "shell: updating -> updating", // an update queued behind another
];

describe("shell machine races (fast-check scheduler, real shell)", () => {
  it(`holds every invariant over ${raceRuns()} seeded runs`, { timeout: 600_000 }, async () => {
    const outcome = await runRaces({
      machine: "shell",
      numRuns: raceRuns(),
      workspace,
      mutant: null,
      replayDir,
    });
    console.log(
      `races: shell ${outcome.numRuns} runs, seed ${outcome.seed}, ${outcome.reached.size} state changes`,
    );
    expect(outcome.failed, `${outcome.report}\nreplay file: ${outcome.replayFile}`).toBe(false);
    expect(MUST_REACH.filter((transition) => !outcome.reached.has(transition))).toEqual([]);
  });
});
