// Issue 13: 1,000 reload updates (`update({ changed: all })`) of 50 plugins, half TypeScript, each with a
// relative import. After a warm-up (the first tenth), heap and RSS must stay flat (≤ 5 MB growth) and one
// update must take as long at the end as at the start.

import { runPlainWorker } from "./support/child.js";
import { goal } from "./support/goal.js";
import { createBenchWorkspace, writeMixedPlugins } from "./support/workspace.js";
import { type BenchResult, quickMode } from "./types.js";

interface ReloadSample {
  plugins: number;
  running: number;
  updates: number;
  measuredUpdates: number;
  heapGrowthMB: number;
  rssGrowthMB: number;
  firstUpdateMs: number;
  lastUpdateMs: number;
}

export async function run(): Promise<BenchResult[]> {
  const n = quickMode() ? 4 : 50;
  const updates = quickMode() ? 20 : 1_000;
  const ws = await createBenchWorkspace();
  try {
    await writeMixedPlugins(ws.pluginsDir, n);
    const s = await runPlainWorker<ReloadSample>("engine.mjs", [
      "reload",
      ws.pluginsDir,
      ws.dataDir,
      String(updates),
    ]);
    if (s.running !== n) throw new Error(`reload run: ${s.running} of ${n} plugins running at the end`);
    const group = `${updates} reload updates of ${n} plugins (half TypeScript)`;
    const slowdown = s.lastUpdateMs / s.firstUpdateMs;
    return [
      {
        group,
        name: `heap growth over the last ${s.measuredUpdates} updates`,
        value: s.heapGrowthMB,
        unit: "MB",
        note: `${goal(s.heapGrowthMB, 5, " MB")}; ${((s.heapGrowthMB * 1024) / s.measuredUpdates).toFixed(1)} kB per update`,
      },
      {
        group,
        name: `RSS growth over the last ${s.measuredUpdates} updates`,
        value: s.rssGrowthMB,
        unit: "MB",
        note: goal(s.rssGrowthMB, 5, " MB"),
      },
      {
        group,
        name: "one update, end of run vs after warm-up (medians)",
        value: s.lastUpdateMs,
        unit: "ms",
        baseline: s.firstUpdateMs,
        ratio: slowdown,
        better: "lower",
        note: `${goal(slowdown, 1.25, "×")} (flat)`,
      },
    ];
  } finally {
    await ws.cleanup();
  }
}
