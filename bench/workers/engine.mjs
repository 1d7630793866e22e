// One engine measurement in a fresh, plain Node process (no tsx, no hooks thread before t0), running hangar from
// dist/ as `hangar run` does. Prints one JSON line. Plain JavaScript on purpose: a TypeScript worker would need
// a loader whose start-up would be measured too.
// Usage: node --expose-gc bench/workers/engine.mjs <mode> <pluginsDir> <dataDir> [count]
//   startup-shell | startup-baseline   start then stop all plugins: times, heap per idle plugin
//   block                              max event-loop delay during start(), update() of all, stop()
//   reload <count>                     <count> updates of all plugins: heap/RSS and update time over the run
//                                      (HANGAR_BENCH_RELOAD_ISOLATION=worker: each plugin in a worker thread)
import { existsSync, readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const [mode, pluginsDir, dataDir, countArg] = process.argv.slice(2);
if (!mode || !pluginsDir || !dataDir)
  throw new Error("usage: engine.mjs <mode> <pluginsDir> <dataDir> [count]");

const gc = globalThis.gc ?? (() => {});
/** CPU time of the whole process (every thread: GC, the loader's), in ms: less swayed by load than wall time. */
function cpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Heap in use after a full collection, in bytes. */
function settledHeap() {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function createShell() {
  // HANGAR_BENCH_DIST: another build of hangar (a folder inside the repo), to compare a change in one run.
  const dist = process.env.HANGAR_BENCH_DIST ?? path.join(repoRoot, "dist");
  const { createShell: create } = await import(pathToFileURL(path.join(dist, "index.js")).href);
  return (extra = {}) =>
    create({
      plugins: [pluginsDir],
      dataDir,
      server: { port: 0 },
      // Generous: on a loaded machine 1,000 concurrent imports can take longer than the default 10 s load timeout.
      timeouts: { load: 120_000, start: 120_000, stop: 120_000, shutdown: 600_000 },
      log: { level: "silent" },
      ...extra,
    });
}

async function startupShell() {
  const make = await createShell();
  const shell = make();
  const heap0 = settledHeap();
  const c0 = cpuMs();
  const t0 = performance.now();
  await shell.start();
  const t1 = performance.now();
  const c1 = cpuMs();
  const status = shell.status();
  const heapIdle = settledHeap() - heap0;
  const c2 = cpuMs();
  const t2 = performance.now();
  await shell.stop();
  const t3 = performance.now();
  const c3 = cpuMs();
  return {
    plugins: status.plugins.length,
    running: status.plugins.filter((p) => p.state === "running").length,
    startMs: t1 - t0,
    stopMs: t3 - t2,
    startCpuMs: c1 - c0,
    stopCpuMs: c3 - c2,
    heapPerPluginKB: heapIdle / status.plugins.length / 1024,
  };
}

// The true lower bound: the same manifests read, the same modules imported with a plain import(), then their
// onStart and onStop called. No machines, no contexts, no server.
async function startupBaseline() {
  const heap0 = settledHeap();
  const c0 = cpuMs();
  const t0 = performance.now();
  const folders = (await readdir(pluginsDir)).sort().map((name) => path.join(pluginsDir, name));
  const modules = await Promise.all(
    folders.map(async (folder) => {
      const manifest = JSON.parse(await readFile(path.join(folder, "plugin.json"), "utf8"));
      const module = await import(pathToFileURL(path.join(folder, manifest.background.entryModule)).href);
      return { id: manifest.id, module };
    }),
  );
  const started = await Promise.allSettled(modules.map(({ id, module }) => module.onStart({ pluginId: id })));
  const t1 = performance.now();
  const c1 = cpuMs();
  const heapIdle = settledHeap() - heap0;
  const c2 = cpuMs();
  const t2 = performance.now();
  await Promise.allSettled(modules.map(({ module }) => module.onStop()));
  const t3 = performance.now();
  const c3 = cpuMs();
  return {
    plugins: modules.length,
    running: started.filter((r) => r.status === "fulfilled").length,
    startMs: t1 - t0,
    stopMs: t3 - t2,
    startCpuMs: c1 - c0,
    stopCpuMs: c3 - c2,
    heapPerPluginKB: heapIdle / modules.length / 1024,
  };
}

// CPU time of this process's main thread in ns: Linux's per-thread schedstat (the main thread's id is the pid);
// elsewhere the whole process's CPU time (every thread) stands in for it.
const schedstat = `/proc/self/task/${process.pid}/schedstat`;
const mainThreadCpuNs = existsSync(schedstat)
  ? () => Number(readFileSync(schedstat, "utf8").split(" ")[0])
  : () => {
      const { user, system } = process.cpuUsage();
      return (user + system) * 1000;
    };

/**
 * Max event-loop delay (ms) while `work` runs: the longest the main thread could not serve anything. Also the
 * most CPU time the main thread used between two ticks of a 1 ms timer (`cpuMs`): on a machine shared with
 * other work the delay includes time the thread waited for a CPU; its CPU time does not.
 */
async function maxBlock(work) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  // Let the histogram's timer arm before the work starts.
  await new Promise((resolve) => setTimeout(resolve, 20));
  histogram.enable();
  let maxCpu = 0;
  let last = mainThreadCpuNs();
  const ticker = setInterval(() => {
    const now = mainThreadCpuNs();
    maxCpu = Math.max(maxCpu, now - last);
    last = now;
  }, 1);
  await new Promise((resolve) => setImmediate(resolve));
  const result = await work();
  await new Promise((resolve) => setTimeout(resolve, 20));
  clearInterval(ticker);
  histogram.disable();
  return { ms: histogram.max / 1e6, cpuMs: maxCpu / 1e6, result };
}

async function block() {
  const make = await createShell();
  const shell = make();
  const start = await maxBlock(() => shell.start());
  const ids = shell.status().plugins.map((p) => p.id);
  const update = await maxBlock(() => shell.update({ changed: ids }));
  const running = shell.status().plugins.filter((p) => p.state === "running").length;
  const stop = await maxBlock(() => shell.stop());
  return {
    plugins: ids.length,
    running,
    startMaxMs: start.ms,
    updateMaxMs: update.ms,
    stopMaxMs: stop.ms,
    startMaxCpuMs: start.cpuMs,
    updateMaxCpuMs: update.cpuMs,
    stopMaxCpuMs: stop.cpuMs,
  };
}

async function reload() {
  const count = Number(countArg ?? 1000);
  const make = await createShell();
  // HANGAR_BENCH_RELOAD_ISOLATION=worker: every plugin in a worker thread, a fresh one per generation.
  const isolation = process.env.HANGAR_BENCH_RELOAD_ISOLATION === "worker" ? "worker" : "none";
  const shell = make({ isolation });
  await shell.start();
  const ids = shell.status().plugins.map((p) => p.id);
  const times = [];
  const warmup = Math.max(1, Math.floor(count / 10));
  let heapAfterWarmup = 0;
  let rssAfterWarmup = 0;
  // HANGAR_BENCH_RELOAD_NONE=1: updates that re-import nothing, to tell the engine's share from the loader's.
  const changed = process.env.HANGAR_BENCH_RELOAD_NONE === "1" ? [] : ids;
  // Heap (after full GCs) and RSS after every tenth of the run: flat or still climbing?
  const trace = [];
  for (let i = 0; i < count; i += 1) {
    const t0 = performance.now();
    await shell.update({ changed });
    times.push(performance.now() - t0);
    if (i + 1 === warmup) {
      heapAfterWarmup = settledHeap();
      rssAfterWarmup = process.memoryUsage().rss;
    }
    if ((i + 1) % warmup === 0) {
      trace.push({
        updates: i + 1,
        heapMB: settledHeap() / 2 ** 20,
        rssMB: process.memoryUsage().rss / 2 ** 20,
      });
    }
  }
  const heapEnd = settledHeap();
  const rssEnd = process.memoryUsage().rss;
  const running = shell.status().plugins.filter((p) => p.state === "running").length;
  await shell.stop();
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const window = Math.max(1, Math.floor(count / 20));
  return {
    plugins: ids.length,
    running,
    updates: count,
    measuredUpdates: count - warmup,
    heapGrowthMB: (heapEnd - heapAfterWarmup) / 2 ** 20,
    rssGrowthMB: (rssEnd - rssAfterWarmup) / 2 ** 20,
    firstUpdateMs: median(times.slice(warmup, warmup + window)),
    lastUpdateMs: median(times.slice(-window)),
    trace,
  };
}

const modes = {
  "startup-shell": startupShell,
  "startup-baseline": startupBaseline,
  block,
  reload,
};
const measure = modes[mode];
if (!measure) throw new Error(`unknown mode ${mode}: one of ${Object.keys(modes).join(", ")}`);
process.stdout.write(`${JSON.stringify({ mode, ...(await measure()) })}\n`);
