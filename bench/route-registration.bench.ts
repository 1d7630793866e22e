// Issue 10: one plugin registering and disposing 20,000 routes. Registration was O(N²) (13.8 s frozen at start,
// 7 s at stop); this row keeps it linear: ctx.server.registerRouter against app.use on a bare Express 5 app,
// the same handlers from the same module, each side in a fresh plain-node process running dist/.

import { median, runPlainWorker } from "./support/child.js";
import { createBenchWorkspace, writeRouteRegistrationPlugin } from "./support/workspace.js";
import { type BenchResult, quickMode } from "./types.js";

interface RegistrationSample {
  running: number;
  answers: boolean;
  registerMs: number;
  stopMs?: number;
}

async function sample(mode: "hangar" | "express", count: number): Promise<RegistrationSample> {
  const ws = await createBenchWorkspace();
  try {
    const handlersFile = await writeRouteRegistrationPlugin(ws.root, ws.pluginsDir, count);
    const args =
      mode === "hangar" ? [ws.pluginsDir, ws.dataDir, String(count)] : [handlersFile, String(count)];
    const result = await runPlainWorker<RegistrationSample>("route-registration.mjs", [mode, ...args]);
    if (result.running !== 1 || !result.answers) {
      throw new Error(
        `route registration (${mode}, ${count}): the plugin is not running or its last route is not served`,
      );
    }
    return result;
  } finally {
    await ws.cleanup();
  }
}

export async function run(): Promise<BenchResult[]> {
  const count = quickMode() ? 200 : 20_000;
  const rounds = quickMode() ? 1 : 3;
  const hangar: RegistrationSample[] = [];
  const empty: RegistrationSample[] = [];
  const express: RegistrationSample[] = [];
  // Interleaved, so a load spike on this shared machine hits both sides of a round alike.
  for (let round = 0; round < rounds; round += 1) {
    express.push(await sample("express", count));
    hangar.push(await sample("hangar", count));
    empty.push(await sample("hangar", 0));
  }
  const group = `route registration, ${count.toLocaleString("en-US")} routers from one plugin (median of ${rounds})`;
  const register = median(hangar.map((s) => s.registerMs));
  const baseline = median(express.map((s) => s.registerMs));
  // Disposal happens inside stop(); the same shell's stop() with no routes is subtracted.
  const dispose = Math.max(
    0,
    median(hangar.map((s) => s.stopMs ?? 0)) - median(empty.map((s) => s.stopMs ?? 0)),
  );
  return [
    {
      group,
      name: "register (ctx.server.registerRouter vs app.use)",
      value: register,
      unit: "ms",
      baseline,
      ratio: register / baseline,
      better: "lower",
      note: `${((register / count) * 1000).toFixed(1)} µs per route`,
    },
    {
      group,
      name: "dispose (stop() with the routes minus stop() without)",
      value: dispose,
      unit: "ms",
      note: `${((dispose / count) * 1000).toFixed(1)} µs per route; Express 5 cannot unmount, so no baseline`,
    },
  ];
}
