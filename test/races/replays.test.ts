// Every replay file in test/races/replays reruns here. A planted bug's replay must fail exactly as recorded
// (and pass on the real machine); a replay of a real failure must pass once the bug is fixed, and stay so.
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readReplay, replayRace } from "./race-runner.js";
import { createRaceWorkspace } from "./race-system.js";

const replayDir = fileURLToPath(new URL("./replays", import.meta.url));
const files = readdirSync(replayDir).filter((file) => file.endsWith(".json"));
let workspace: Awaited<ReturnType<typeof createRaceWorkspace>>;

beforeAll(async () => {
  workspace = await createRaceWorkspace();
});
afterAll(() => workspace.cleanup());

/** The violations of a failure message, without the trace (which names every step taken). */
const violations = (failure: string | null) => failure?.split("\nnow: ")[0] ?? null;

describe("race replay files", () => {
  it("include at least the planted bug's", () => {
    expect(files.some((file) => file.includes("skip-dispose-on-requested-stop"))).toBe(true);
  });

  for (const file of files) {
    it(`reproduce ${file}`, async () => {
      const replay = await readReplay(path.join(replayDir, file));
      if (replay.mutant) {
        expect(violations(await replayRace(replay, { workspace }))).toBe(violations(replay.failure));
        expect(await replayRace(replay, { workspace, mutant: null })).toBeNull();
      } else {
        expect(await replayRace(replay, { workspace })).toBeNull();
      }
    });
  }
});
