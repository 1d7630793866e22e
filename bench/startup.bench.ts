// SPEC §10, issue 13: start-up and shutdown of N plugins through the shell (dist/, plain node, as `hangar run`)
// against the true lower bound (the same manifests read, the same modules imported with a plain import(), then
// onStart/onStop with Promise.allSettled). Each run is a fresh process; growth must stay linear.

import { median, runPlainWorker } from "./support/child.js";
import { goal } from "./support/goal.js";
import { createBenchWorkspace, writeLifecyclePlugins } from "./support/workspace.js";
import { type BenchResult, quickMode } from "./types.js";

interface StartupSample {
  plugins: number;
  running: number;
  startMs: number;
  stopMs: number;
  heapPerPluginKB: number;
}

async function sample(mode: "shell" | "baseline", pluginsDir: string, dataDir: string, n: number) {
  const result = await runPlainWorker<StartupSample>("engine.mjs", [`startup-${mode}`, pluginsDir, dataDir]);
  if (result.plugins !== n || result.running !== n) {
    throw new Error(`${mode} run of ${n} plugins: ${result.running} of ${result.plugins} reached running`);
  }
  return result;
}

export async function run(): Promise<BenchResult[]> {
  const sizes = quickMode() ? [10, 100] : [100, 1_000, 10_000];
  const goalN = quickMode() ? 100 : 1_000;
  const rows: BenchResult[] = [];
  const totals = new Map<number, number>();

  for (const n of sizes) {
    const ws = await createBenchWorkspace();
    try {
      await writeLifecyclePlugins(ws.pluginsDir, n);
      // Alternate the sides; the median of a few runs (one at 10,000, which takes a while).
      const repeats = quickMode() ? 1 : n <= 1_000 ? 5 : 1;
      const shell: StartupSample[] = [];
      const baseline: StartupSample[] = [];
      for (let i = 0; i < repeats; i += 1) {
        baseline.push(await sample("baseline", ws.pluginsDir, ws.dataDir, n));
        shell.push(await sample("shell", ws.pluginsDir, ws.dataDir, n));
      }
      const m = (list: StartupSample[], key: keyof StartupSample) => median(list.map((s) => s[key]));
      for (const phase of ["start", "stop"] as const) {
        const key = phase === "start" ? "startMs" : "stopMs";
        const value = m(shell, key);
        const base = m(baseline, key);
        rows.push({
          group: "startup/shutdown of N plugins (dist/, plain node; baseline: plain import())",
          name: `${phase} N=${n}`,
          value,
          unit: "ms",
          baseline: base,
          ratio: value / base,
          better: "lower",
          note: `${((value / n) * 1000).toFixed(0)} µs/plugin (baseline ${((base / n) * 1000).toFixed(0)})`,
        });
      }
      const total = median(shell.map((s) => s.startMs + s.stopMs));
      const totalBase = median(baseline.map((s) => s.startMs + s.stopMs));
      totals.set(n, total);
      if (n === goalN) {
        const overhead = ((total - totalBase) / n) * 1000;
        rows.push({
          group: "per-plugin engine cost",
          name: `start+stop overhead over the lower bound, N=${n}`,
          value: overhead,
          unit: "µs",
          note: goal(overhead, 100, " µs"),
        });
        const heap = m(shell, "heapPerPluginKB");
        const heapBase = m(baseline, "heapPerPluginKB");
        rows.push({
          group: "per-plugin engine cost",
          name: `heap per idle plugin, N=${n}`,
          value: heap,
          unit: "kB",
          baseline: heapBase,
          ratio: heap / heapBase,
          better: "lower",
          note: goal(heap / heapBase, 2, "×"),
        });
      }
    } finally {
      await ws.cleanup();
    }
  }
  const small = sizes.at(-2)!;
  const large = sizes.at(-1)!;
  const growth = totals.get(large)! / totals.get(small)!;
  rows.push({
    group: "per-plugin engine cost",
    name: `t(${large})/t(${small}), start+stop`,
    value: growth,
    unit: "×",
    note: `${goal(growth, 11, "")} (10 is linear)`,
  });
  return rows;
}
