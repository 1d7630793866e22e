// Where the main thread blocks during start(), update() of all and stop(): prints every gap over TH ms (default
// 6) between ticks of a 1 ms timer, with the main thread's CPU time in it (Linux schedstat) and its monotonic
// time in µs (`abs`, to cut a `--cpu-prof` profile at the gap). Plain JavaScript running dist/ (or another
// build, third argument), as bench/workers/engine.mjs does. BENCHMARKS.md "Main-thread block, session 3".
// Usage: TH=6 node [--cpu-prof] bench/workers/block-gaps.mjs <pluginsDir> <dataDir> [distDir]
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const [pluginsDir, dataDir, distArg] = process.argv.slice(2);
if (!pluginsDir || !dataDir) throw new Error("usage: block-gaps.mjs <pluginsDir> <dataDir> [distDir]");
const dist = distArg ?? path.join(repoRoot, "dist");
const { createShell } = await import(pathToFileURL(path.join(dist, "index.js")).href);
const cpuNs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]);
const threshold = Number(process.env.TH ?? 6);

async function watch(phase, work) {
  await new Promise((resolve) => setTimeout(resolve, 20));
  const gaps = [];
  let lastWall = performance.now();
  let lastCpu = cpuNs();
  const t0 = lastWall;
  const ticker = setInterval(() => {
    const wall = performance.now();
    const cpu = cpuNs();
    if (wall - lastWall > threshold) {
      gaps.push({
        abs: Number(process.hrtime.bigint() / 1000n) - Math.round((wall - lastWall) * 1000),
        at: +(lastWall - t0).toFixed(1),
        wall: +(wall - lastWall).toFixed(1),
        cpu: +((cpu - lastCpu) / 1e6).toFixed(1),
      });
    }
    lastWall = wall;
    lastCpu = cpu;
  }, 1);
  const started = performance.now();
  await work();
  const total = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 20));
  clearInterval(ticker);
  const max = (key) => Math.max(0, ...gaps.map((gap) => gap[key]));
  console.log(
    JSON.stringify({ phase, totalMs: Math.round(total), maxWallMs: max("wall"), maxCpuMs: max("cpu"), gaps }),
  );
}

const shell = createShell({
  plugins: [pluginsDir],
  dataDir,
  server: { port: 0 },
  timeouts: { load: 120_000, start: 120_000, stop: 120_000, shutdown: 600_000 },
  log: { level: "silent" },
});
await watch("start", () => shell.start());
const ids = shell.status().plugins.map((plugin) => plugin.id);
await watch("update", () => shell.update({ changed: ids }));
await watch("stop", () => shell.stop());
