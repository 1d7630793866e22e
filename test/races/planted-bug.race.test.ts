// The mutation check: a planted bug (a STOP during start-up whose onStop settles without disposing the
// context) must make the race runs fail, shrink, and leave a replay file that reproduces the same failure.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { raceRuns, readReplay, replayRace, runRaces } from "./race-runner.js";
import { createRaceWorkspace } from "./race-system.js";

let workspace: Awaited<ReturnType<typeof createRaceWorkspace>>;
let replayDir: string;

beforeAll(async () => {
  workspace = await createRaceWorkspace();
  replayDir = await mkdtemp(path.join(os.tmpdir(), "hangar-race-replays-"));
});
afterAll(async () => {
  await workspace.cleanup();
  await rm(replayDir, { recursive: true, force: true });
});

describe("planted bug", () => {
  it("is caught by the race runs, shrunk, and reproduced exactly from its replay file", {
    timeout: 600_000,
  }, async () => {
    const outcome = await runRaces({
      machine: "plugin",
      numRuns: raceRuns(),
      workspace,
      mutant: "skip-dispose-on-requested-stop",
      replayDir,
    });
    console.log(outcome.report);
    expect(outcome.failed).toBe(true);
    expect(outcome.failure).toMatch(/solo is stopped with 1 live contexts|IPC handler survives/);
    const replay = await readReplay(outcome.replayFile!);
    console.log(`replayed commands: ${JSON.stringify(replay.commands)}`);
    const again = await replayRace(replay, { workspace });
    expect(again).toBe(outcome.failure);
  });
});
