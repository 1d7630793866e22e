// Where the main thread blocks during start(), update() of all and stop(): prints every gap over TH ms (default
// 6) between ticks of a 1 ms timer, with what the main thread did in it (Linux schedstat): `cpu` its run time,
// `wait` its time ready to run but waiting for a CPU (preempted), and the rest of `wall` it slept (blocked in a
// system call, or waiting for the garbage collector's helper threads); `abs` its monotonic time in µs, to cut a
// `--cpu-prof` profile at the gap. THREADS=1 adds, per gap, the CPU time every other thread of this process and
// of its child processes (esbuild's) used meanwhile (`others`, by thread name). Plain JavaScript running dist/
// (or another build, third argument), as bench/workers/engine.mjs does. BENCHMARKS.md "Main-thread block".
// Usage: TH=6 [THREADS=1] node [--cpu-prof] bench/workers/block-gaps.mjs <pluginsDir> <dataDir> [distDir]
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const [pluginsDir, dataDir, distArg] = process.argv.slice(2);
if (!pluginsDir || !dataDir) throw new Error("usage: block-gaps.mjs <pluginsDir> <dataDir> [distDir]");
const dist = distArg ?? path.join(repoRoot, "dist");
const { createShell } = await import(pathToFileURL(path.join(dist, "index.js")).href);
const threshold = Number(process.env.TH ?? 6);
const allThreads = process.env.THREADS === "1";

/** [run ns, run-queue wait ns] of one thread. */
function schedstat(pid, tid) {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ");
    return [Number(run), Number(wait)];
  } catch {
    return [0, 0];
  }
}
const main = () => schedstat(process.pid, process.pid);

/** Every other thread of this process and its children: key → run ns. */
function others() {
  const result = new Map();
  const visit = (pid, depth) => {
    let tids = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      return;
    }
    for (const tid of tids) {
      if (pid === process.pid && Number(tid) === process.pid) continue;
      let name = "?";
      try {
        name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      } catch {}
      const key = `${pid === process.pid ? "" : "child:"}${name}`;
      result.set(key, (result.get(key) ?? 0) + schedstat(pid, tid)[0]);
      if (depth < 2) {
        try {
          for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim().split(" ")) {
            if (child !== "") visit(child, depth + 1);
          }
        } catch {}
      }
    }
  };
  visit(process.pid, 0);
  return result;
}

function diff(after, before) {
  const out = {};
  for (const [key, value] of after) {
    const ms = (value - (before.get(key) ?? 0)) / 1e6;
    if (ms >= 0.5) out[key] = +ms.toFixed(1);
  }
  return out;
}

async function watch(phase, work) {
  await new Promise((resolve) => setTimeout(resolve, 20));
  const gaps = [];
  let lastWall = performance.now();
  let [lastCpu, lastWait] = main();
  let lastOthers = allThreads ? others() : null;
  const t0 = lastWall;
  const ticker = setInterval(() => {
    const wall = performance.now();
    const [cpu, wait] = main();
    const now = allThreads ? others() : null;
    if (wall - lastWall > threshold) {
      const gap = {
        abs: Number(process.hrtime.bigint() / 1000n) - Math.round((wall - lastWall) * 1000),
        at: +(lastWall - t0).toFixed(1),
        wall: +(wall - lastWall).toFixed(1),
        cpu: +((cpu - lastCpu) / 1e6).toFixed(1),
        wait: +((wait - lastWait) / 1e6).toFixed(1),
      };
      if (now !== null) gap.others = diff(now, lastOthers);
      gaps.push(gap);
    }
    lastWall = wall;
    lastCpu = cpu;
    lastWait = wait;
    lastOthers = now;
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
