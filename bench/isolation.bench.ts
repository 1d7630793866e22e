// SPEC §12 / issue 11: what isolation costs, each figure against the same thing in-process in the same run.
// Route throughput through an isolated plugin vs in-process (goal ≥ 0.6×); IPC invoke round-trip to an isolated
// plugin (goal ≤ 100 µs median); start-up of N isolated plugins vs N in-process, with RSS per worker (≤ 15 MB).
import { createMemoryIpc, createShell } from "../src/index.js";
import { median, runPlainWorker } from "./support/child.js";
import { goal } from "./support/goal.js";
import { fire } from "./support/load.js";
import { type RouteServer, startRouteServer } from "./support/route-server.js";
import {
  createBenchWorkspace,
  writeBenchRouter,
  writeEchoIpcPlugin,
  writeLifecyclePlugins,
  writeRoutePlugin,
} from "./support/workspace.js";
import { type BenchResult, quickMode } from "./types.js";

const PATH = "/api/bench/ping";
const GROUP = "isolation (worker thread per plugin)";

async function requestsPerSecond(server: RouteServer, seconds: number, amount?: number): Promise<number> {
  const load = await fire({
    url: `${server.url}${PATH}`,
    connections: 10,
    ...(amount === undefined ? { duration: seconds } : { amount }),
  });
  const ok = load.statuses[200] ?? 0;
  if (load.errors > 0 || ok !== load.responses || ok === 0) {
    throw new Error(`${server.url}${PATH}: ${JSON.stringify(load.statuses)}, ${load.errors} errors`);
  }
  return load.requestsPerSecond;
}

async function routeThroughput(quick: boolean): Promise<BenchResult[]> {
  const ws = await createBenchWorkspace();
  const servers: RouteServer[] = [];
  try {
    await writeRoutePlugin(ws.pluginsDir, await writeBenchRouter(ws.root));
    const inProcess = await startRouteServer("shell", ws.root);
    servers.push(inProcess);
    const isolated = await startRouteServer("isolated", ws.root);
    servers.push(isolated);
    for (const server of servers) await requestsPerSecond(server, 2, quick ? 200 : undefined);
    const rounds = quick ? 1 : 6;
    const measured = new Map<RouteServer, number[]>(servers.map((server) => [server, []]));
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      // Rotate the order, so that no server always runs first (or last) on a machine whose load drifts.
      const order = servers.map((_, i) => servers[(i + round) % servers.length]!);
      const now = new Map<RouteServer, number>();
      for (const server of order)
        now.set(server, await requestsPerSecond(server, 3, quick ? 300 : undefined));
      for (const server of servers) measured.get(server)!.push(now.get(server)!);
      ratios.push(now.get(isolated)! / now.get(inProcess)!);
    }
    const ratio = median(ratios);
    return [
      {
        group: GROUP,
        name: `GET ${PATH}, 10 connections: isolated vs in-process`,
        value: median(measured.get(isolated)!),
        unit: "req/s",
        baseline: median(measured.get(inProcess)!),
        ratio,
        better: "higher",
        note: `${goal(ratio, 0.6, "×", "at least")}; median ratio of ${rounds} rounds`,
      },
    ];
  } finally {
    for (const server of servers) await server.close();
    await ws.cleanup();
  }
}

async function ipcRoundTrip(quick: boolean): Promise<BenchResult[]> {
  const ws = await createBenchWorkspace();
  await writeEchoIpcPlugin(ws.pluginsDir);
  const payload = (i: number) => ({ seq: i, flight: "KLM1234", position: [52.31, 4.76], altitudeFt: 35_000 });
  const timeEach = async (invoke: (i: number) => Promise<unknown>, count: number): Promise<number> => {
    for (let i = 0; i < Math.min(1_000, count); i += 1) await invoke(i);
    const each: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const started = performance.now();
      await invoke(i);
      each.push((performance.now() - started) * 1000);
    }
    return median(each);
  };
  const results: Record<string, number> = {};
  try {
    for (const isolation of ["none", "worker"] as const) {
      const ipc = createMemoryIpc();
      const shell = createShell({
        plugins: [ws.pluginsDir],
        dataDir: ws.dataDir,
        server: { port: 0 },
        ipc,
        isolation,
        log: { level: "silent" },
      });
      await shell.start();
      results[isolation] = await timeEach(
        (i) => ipc.invoke("plugin:bench:echo", payload(i)),
        quick ? 200 : 20_000,
      );
      await shell.stop();
    }
  } finally {
    await ws.cleanup();
  }
  const value = results.worker!;
  return [
    {
      group: GROUP,
      name: "IPC invoke round-trip (memory transport), median",
      value,
      unit: "µs/invoke",
      baseline: results.none!,
      ratio: value / results.none!,
      better: "lower",
      note: `${goal(value, 100, " µs median")}; one call at a time; baseline: the plugin in-process`,
    },
  ];
}

/**
 * One run of bench/workers/isolation-startup.mjs (`args`: plugins dir, data dir, mode) over `n` identical lifecycle
 * plugins; a mode already run on as many plugins in this bench is not run again (the process rows reuse the start-up
 * rows' in-process and worker runs when N is the same, as in quick mode).
 */
const startupRuns = new Map<string, unknown>();
async function startupRun<T>(n: number, args: string[]): Promise<T> {
  const key = `${args[2]}:${n}`;
  if (!startupRuns.has(key)) startupRuns.set(key, await runPlainWorker<T>("isolation-startup.mjs", args));
  return startupRuns.get(key) as T;
}

async function startup(quick: boolean): Promise<BenchResult[]> {
  // HANGAR_BENCH_ISOLATION_N overrides N (100) when the machine is too loaded to boot 100 workers in reasonable time.
  const n = quick ? 3 : Number(process.env.HANGAR_BENCH_ISOLATION_N ?? 100);
  const ws = await createBenchWorkspace();
  try {
    await writeLifecyclePlugins(ws.pluginsDir, n);
    type Run = { startMs: number; stopMs: number; rss: number; rssBefore: number; running: number };
    // Plain node on dist/, as `hangar run` (bench/workers/isolation-startup.mjs says why not tsx).
    const args = (mode: string) => [ws.pluginsDir, ws.dataDir, mode];
    const none = await startupRun<Run>(n, args("none"));
    const worker = await startupRun<Run>(n, args("worker"));
    const floor = await startupRun<Run>(n, args("floor"));
    if (none.running !== n || worker.running !== n) {
      throw new Error(
        `not every plugin ran: in-process ${none.running}/${n}, isolated ${worker.running}/${n}`,
      );
    }
    const perWorkerMb = (worker.rss - none.rss) / n / 2 ** 20;
    const floorMb = (floor.rss - floor.rssBefore) / n / 2 ** 20;
    return [
      {
        group: GROUP,
        name: `start-up of ${n} plugins: isolated vs in-process`,
        value: worker.startMs,
        unit: "ms",
        baseline: none.startMs,
        ratio: worker.startMs / none.startMs,
        better: "lower",
        note: "fresh process each; shell.start() until every plugin is running",
      },
      {
        group: GROUP,
        name: `shutdown of ${n} plugins: isolated vs in-process`,
        value: worker.stopMs,
        unit: "ms",
        baseline: none.stopMs,
        ratio: worker.stopMs / none.stopMs,
        better: "lower",
      },
      {
        group: GROUP,
        name: "RSS per isolated plugin vs a bare worker thread",
        value: perWorkerMb,
        unit: "MB",
        baseline: floorMb,
        ratio: perWorkerMb / floorMb,
        better: "lower",
        note: `${goal(perWorkerMb, 15, " MB")}; (RSS isolated − RSS in-process) / ${n}, all running; RSS ${Math.round(worker.rss / 2 ** 20)} vs ${Math.round(none.rss / 2 ** 20)} MB; baseline: ${n} worker threads whose module only answers pings`,
      },
    ];
  } finally {
    await ws.cleanup();
  }
}

/**
 * A Node process per plugin (childProcessHost) against a worker thread per plugin, both on the same N plugins
 * without routes: start-up, and memory per plugin. N is 20 (HANGAR_BENCH_PROCESS_N): each process is a whole
 * Node runtime, and the machine is shared.
 */
async function processHost(quick: boolean): Promise<BenchResult[]> {
  const n = quick ? 3 : Number(process.env.HANGAR_BENCH_PROCESS_N ?? 20);
  const ws = await createBenchWorkspace();
  try {
    await writeLifecyclePlugins(ws.pluginsDir, n);
    type Run = {
      startMs: number;
      stopMs: number;
      rss: number;
      running: number;
      childRss: number;
      childUss: number;
    };
    const args = (mode: string) => [ws.pluginsDir, ws.dataDir, mode];
    const none = await startupRun<Run>(n, args("none"));
    const worker = await startupRun<Run>(n, args("worker"));
    const child = await startupRun<Run>(n, args("process"));
    if (worker.running !== n || child.running !== n) {
      throw new Error(
        `not every plugin ran: worker threads ${worker.running}/${n}, processes ${child.running}/${n}`,
      );
    }
    const mb = (bytes: number) => bytes / 2 ** 20;
    const perWorkerMb = mb(worker.rss - none.rss) / n;
    // What the shell grew by, plus each child's own RSS (node's shared pages counted in each, as `ps` shows them).
    const perProcessMb = (mb(child.rss - none.rss) + mb(child.childRss)) / n;
    const perProcessUssMb = (mb(child.rss - none.rss) + mb(child.childUss)) / n;
    const group = "isolation (Node process per plugin, childProcessHost)";
    return [
      {
        group,
        name: `start-up of ${n} plugins: a process each vs a worker thread each`,
        value: child.startMs,
        unit: "ms",
        baseline: worker.startMs,
        ratio: child.startMs / worker.startMs,
        better: "lower",
        note: `fresh shell each; shell.start() until every plugin is running; in-process: ${Math.round(none.startMs)} ms`,
      },
      {
        group,
        name: `shutdown of ${n} plugins: a process each vs a worker thread each`,
        value: child.stopMs,
        unit: "ms",
        baseline: worker.stopMs,
        ratio: child.stopMs / worker.stopMs,
        better: "lower",
      },
      {
        group,
        name: "RSS per isolated plugin: a process vs a worker thread",
        value: perProcessMb,
        unit: "MB",
        baseline: perWorkerMb,
        ratio: perProcessMb / perWorkerMb,
        better: "lower",
        note: `process: (shell RSS − in-process shell RSS + Σ child RSS) / ${n}; USS (its private pages, what ending it frees): ${perProcessUssMb.toFixed(1)} MB`,
      },
    ];
  } finally {
    await ws.cleanup();
  }
}

export async function run(): Promise<BenchResult[]> {
  const quick = quickMode();
  startupRuns.clear();
  return [
    ...(await ipcRoundTrip(quick)),
    ...(await routeThroughput(quick)),
    ...(await startup(quick)),
    ...(await processHost(quick)),
  ];
}
