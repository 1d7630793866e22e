// Issue 13: no main-thread block over one frame (16 ms) during start(), update() and stop() of 100 plugins,
// half of them TypeScript, measured with an event-loop delay histogram (max) in a fresh plain-node process.

import { runPlainWorker } from "./support/child.js";
import { goal } from "./support/goal.js";
import { createBenchWorkspace, writeMixedPlugins } from "./support/workspace.js";
import { type BenchResult, quickMode } from "./types.js";

interface BlockSample {
  plugins: number;
  running: number;
  startMaxMs: number;
  updateMaxMs: number;
  stopMaxMs: number;
}

export async function run(): Promise<BenchResult[]> {
  const n = quickMode() ? 10 : 100;
  const runs = quickMode() ? 1 : 3;
  const ws = await createBenchWorkspace();
  try {
    await writeMixedPlugins(ws.pluginsDir, n);
    const samples: BlockSample[] = [];
    for (let i = 0; i < runs; i += 1) {
      const sample = await runPlainWorker<BlockSample>("engine.mjs", ["block", ws.pluginsDir, ws.dataDir]);
      if (sample.running !== n) throw new Error(`block run: ${sample.running} of ${n} plugins running`);
      samples.push(sample);
    }
    const rows: BenchResult[] = [];
    for (const [phase, key] of [
      ["start()", "startMaxMs"],
      ["update() of all", "updateMaxMs"],
      ["stop()", "stopMaxMs"],
    ] as const) {
      // The worst of the runs: a block is what a user notices once.
      const worst = Math.max(...samples.map((s) => s[key]));
      rows.push({
        group: `main-thread block, ${n} plugins (half TypeScript)`,
        name: `max event-loop delay during ${phase}`,
        value: worst,
        unit: "ms",
        note: `${goal(worst, 16, " ms")}; runs: ${samples.map((s) => s[key].toFixed(1)).join(", ")}`,
      });
    }
    return rows;
  } finally {
    await ws.cleanup();
  }
}
