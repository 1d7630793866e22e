// SPEC §10: start-up and shutdown of N plugins through the shell against a bare baseline that imports the same
// modules and calls the same onStart/onStop with Promise.allSettled. Each run is a fresh process; growth must
// stay linear, so each row also shows the cost per plugin and flags a per-plugin cost that grows with N.
import { median, runWorker } from "./support/child.js";
import { createBenchWorkspace, writeLifecyclePlugins } from "./support/workspace.js";
import { type BenchResult, quickMode } from "./types.js";
import type { StartupSample } from "./workers/startup.js";

/**
 * Per-plugin cost may grow by this factor per tenfold N before the row is flagged SUPERLINEAR. Linear growth
 * keeps it near 1 (or below: fixed costs are spread thinner); quadratic growth would make it about 10.
 */
const SUPERLINEAR_FACTOR = 1.5;

async function sample(mode: "shell" | "baseline", pluginsDir: string, dataDir: string, n: number) {
  const result = await runWorker<StartupSample>("startup.ts", [mode, pluginsDir, dataDir]);
  if (result.plugins !== n || result.running !== n) {
    throw new Error(`${mode} run of ${n} plugins: ${result.running} of ${result.plugins} reached running`);
  }
  return result;
}

export async function run(): Promise<BenchResult[]> {
  const sizes = quickMode() ? [10, 100] : [10, 100, 1_000, 10_000];
  const rows: BenchResult[] = [];
  const perPlugin = new Map<string, number>();

  for (const n of sizes) {
    const ws = await createBenchWorkspace();
    try {
      await writeLifecyclePlugins(ws.pluginsDir, n);
      // Small N is dominated by noise and fixed costs: take the median of a few runs, alternating the two sides.
      const repeats = quickMode() ? 1 : n <= 100 ? 5 : n <= 1_000 ? 3 : 1;
      const shell: StartupSample[] = [];
      const baseline: StartupSample[] = [];
      for (let i = 0; i < repeats; i += 1) {
        baseline.push(await sample("baseline", ws.pluginsDir, ws.dataDir, n));
        shell.push(await sample("shell", ws.pluginsDir, ws.dataDir, n));
      }
      for (const phase of ["start", "stop"] as const) {
        const key = phase === "start" ? "startMs" : "stopMs";
        const value = median(shell.map((s) => s[key]));
        const base = median(baseline.map((s) => s[key]));
        const cost = value / n;
        const previous = perPlugin.get(`${phase}:${n / 10}`);
        perPlugin.set(`${phase}:${n}`, cost);
        const growth = previous === undefined ? undefined : cost / previous;
        const flagged = growth !== undefined && n >= 1_000 && growth > SUPERLINEAR_FACTOR;
        rows.push({
          group: "startup/shutdown of N plugins",
          name: `${phase} N=${n}`,
          value,
          unit: "ms",
          baseline: base,
          ratio: value / base,
          better: "lower",
          note:
            `${(cost * 1000).toFixed(0)} µs/plugin (baseline ${((base / n) * 1000).toFixed(0)})` +
            (growth === undefined ? "" : `; per-plugin ×${growth.toFixed(2)} vs N=${n / 10}`) +
            (flagged ? " SUPERLINEAR" : "") +
            (phase === "start" ? `; heap ${median(shell.map((s) => s.heapMB)).toFixed(0)} MB` : ""),
        });
      }
    } finally {
      await ws.cleanup();
    }
  }
  return rows;
}
