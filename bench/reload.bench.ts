// Issue 13: 1,000 reload updates (`update({ changed: all })`) of 50 plugins, half TypeScript, each with a
// relative import. After a warm-up (the first tenth), heap and RSS must stay flat (≤ 5 MB growth) and one
// update must take as long at the end as at the start. Then the same with every plugin isolated in a worker
// thread (a fresh worker per generation), on fewer plugins and updates (HANGAR_BENCH_RELOAD_ISOLATED_N,
// HANGAR_BENCH_RELOAD_ISOLATED_UPDATES; defaults 5 and 200): a worker costs ~15 MB and a boot per reload.

import { runPlainWorker } from "./support/child.js";
import { goal } from "./support/goal.js";
import { createBenchWorkspace, writeMixedPlugins } from "./support/workspace.js";
import { type BenchResult, quickMode } from "./types.js";

interface ReloadSample {
  trace: Array<{ updates: number; heapMB: number; rssMB: number }>;
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
  const inProcess = await measure("none", quickMode() ? 4 : 50, quickMode() ? 20 : 1_000);
  const isolated = await measure(
    "worker",
    quickMode() ? 2 : Number(process.env.HANGAR_BENCH_RELOAD_ISOLATED_N ?? 5),
    quickMode() ? 10 : Number(process.env.HANGAR_BENCH_RELOAD_ISOLATED_UPDATES ?? 200),
  );
  return [...inProcess, ...isolated];
}

async function measure(isolation: "none" | "worker", n: number, updates: number): Promise<BenchResult[]> {
  const ws = await createBenchWorkspace();
  try {
    await writeMixedPlugins(ws.pluginsDir, n);
    const s = await runPlainWorker<ReloadSample>(
      "engine.mjs",
      ["reload", ws.pluginsDir, ws.dataDir, String(updates)],
      3_600_000,
      { HANGAR_BENCH_RELOAD_ISOLATION: isolation },
    );
    if (s.running !== n) throw new Error(`reload run: ${s.running} of ${n} plugins running at the end`);
    const where = isolation === "worker" ? ", each in a worker thread" : "";
    const group = `${updates} reload updates of ${n} plugins (half TypeScript${where})`;
    const slowdown = s.lastUpdateMs / s.firstUpdateMs;
    const trace = s.trace.map((t) => `${t.updates}: ${t.heapMB.toFixed(1)}/${t.rssMB.toFixed(0)}`).join(", ");
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
        note: `${goal(s.rssGrowthMB, 5, " MB")}; heap/RSS MB after n updates: ${trace}`,
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
