// Config store bench: sets/s and main-thread time per set, hangar's file backend against `conf` (electron-store's core).
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import Conf from "conf";
import { createConfigFeed } from "../src/context/config-feed.js";
import { createFileConfigBackend } from "../src/context/config-file.js";
import type { JsonValue } from "../src/sdk/types.js";
import { goal } from "./support/goal.js";
import { type BenchResult, quickMode } from "./types.js";

/** What one run of one store measured. */
interface Measured {
  sets: number;
  seconds: number;
  /** Event-loop active time per set, in µs: how long the main thread could not serve anything else. */
  blockMicros: number;
  /**
   * The main thread's own CPU time per set, in µs (Linux: /proc schedstat), or NaN. Unlike the block, it
   * leaves out time the thread was ready but waiting for a CPU, which dominates the block on a loaded machine.
   */
  cpuMicros: number;
}

/** Nanoseconds the main thread has run on a CPU (Linux), or NaN where /proc has no schedstat. */
function mainThreadCpuNanos(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]);
  } catch {
    return Number.NaN;
  }
}

/** One way to perform a set: hangar's async store, or conf's synchronous one behind the same signature. */
type SetFn = (key: string, value: JsonValue) => Promise<void> | void;

const pluginId = "bench";
const measureSeconds = quickMode() ? 0.2 : 1.5;
/** Each scenario runs this many times, hangar and conf alternating; the median of each figure is reported. */
const trials = quickMode() ? 1 : 3;

/** About 1 kB once written with tab indentation, like a cached list item or a saved view. */
function record(i: number): JsonValue {
  return {
    id: i,
    title: `Waypoint ${i}`,
    note: "Holding pattern over the outer marker, expect further clearance. ".repeat(12),
    position: [51.47 + i / 1e4, -0.4543 - i / 1e4],
    tags: ["approach", "ils", "rwy27l"],
    updated: "2026-01-01T00:00:00.000Z",
  };
}

/** The starting file: `keys` records, written in the format both stores read. */
function initialValues(keys: number): Record<string, JsonValue> {
  const values: Record<string, JsonValue> = {};
  for (let i = 0; i < keys; i++) values[`record-${i}`] = record(i);
  return values;
}

/**
 * Runs `concurrency` loops that each await a set and start the next, for `measureSeconds`. Each loop
 * overwrites its own key, so the file keeps its size. Main-thread cost comes from
 * performance.eventLoopUtilization(): time the loop spent running code rather than waiting for I/O.
 */
async function measure(set: SetFn, concurrency: number): Promise<Measured> {
  // Warm up: lazy load, JIT, the folder entry.
  for (let i = 0; i < 20; i++) await set("warm-up", { i });
  let sets = 0;
  const started = performance.now();
  const until = started + measureSeconds * 1000;
  const elu = performance.eventLoopUtilization();
  const cpu = mainThreadCpuNanos();
  const loop = async (worker: number): Promise<void> => {
    const key = `worker-${worker}`;
    for (let n = 0; performance.now() < until; n++) {
      await set(key, { worker, n, at: "2026-01-01T00:00:00.000Z" });
      sets++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, worker) => loop(worker)));
  const used = performance.eventLoopUtilization(elu);
  const cpuMicros = (mainThreadCpuNanos() - cpu) / 1000 / sets;
  const seconds = (performance.now() - started) / 1000;
  return { sets, seconds, blockMicros: (used.active * 1000) / sets, cpuMicros };
}

async function withDir<T>(use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), "hangar-bench-config-"));
  try {
    return await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeInitial(configDir: string, values: Record<string, JsonValue>): Promise<number> {
  await mkdir(configDir, { recursive: true });
  const text = `${JSON.stringify(values, null, "\t")}\n`;
  await writeFile(path.join(configDir, `${pluginId}.json`), text);
  return Buffer.byteLength(text);
}

async function measureHangar(keys: number, concurrency: number): Promise<Measured & { bytes: number }> {
  return withDir(async (dataDir) => {
    const bytes = await writeInitial(path.join(dataDir, "config"), initialValues(keys));
    const store = createFileConfigBackend({ dataDir }).store(pluginId);
    return { ...(await measure((key, value) => store.set(key, value), concurrency)), bytes };
  });
}

/** The same store behind the UI feed, as the shell hands it to plugins: each durable set numbered and published. */
async function measureFeed(keys: number, concurrency: number): Promise<Measured> {
  return withDir(async (dataDir) => {
    await writeInitial(path.join(dataDir, "config"), initialValues(keys));
    let published = 0;
    const feed = createConfigFeed(createFileConfigBackend({ dataDir }), {
      publish: () => {
        published++;
      },
    });
    const store = feed.backend.store(pluginId);
    const measured = await measure((key, value) => store.set(key, value), concurrency);
    if (published < measured.sets)
      throw new Error(`the feed published ${published} of ${measured.sets} sets`);
    return measured;
  });
}

async function measureConf(keys: number, concurrency: number): Promise<Measured> {
  return withDir(async (dir) => {
    await writeInitial(dir, initialValues(keys));
    // An app's electron-store, as it ships: conf's defaults, which fsync the file (atomically) but not its folder.
    const conf = new Conf<Record<string, JsonValue>>({ cwd: dir, configName: pluginId });
    return measure((key, value) => conf.set(key, value), concurrency);
  });
}

/**
 * The floor of any design that keeps the disk off the main thread: the same lone set as a bare worker-thread
 * round trip, with no store around it. The main thread posts `[id, record]` and awaits the answer; the worker
 * appends the record to a journal file and fdatasyncs it, as hangar's writer does, and answers with the id.
 * What hangar's set costs the main thread above this is its own work (checks, the copy, the JSON, the queue).
 */
async function measureFloor(concurrency: number): Promise<Measured> {
  return withDir(async (dir) => {
    const journal = path.join(dir, "floor.journal");
    const worker = new Worker(
      `const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const fd = fs.openSync(${JSON.stringify(journal)}, "a");
parentPort.on("message", ([id, record]) => {
  fs.writeSync(fd, record);
  fs.fdatasyncSync(fd);
  parentPort.postMessage(id);
});`,
      { eval: true },
    );
    worker.unref();
    const waiting = new Map<number, () => void>();
    let next = 0;
    worker.on("message", (id: number) => {
      const resolve = waiting.get(id);
      waiting.delete(id);
      if (waiting.size === 0) worker.unref();
      resolve?.();
    });
    const set: SetFn = (key, value) =>
      new Promise<void>((resolve) => {
        const id = ++next;
        waiting.set(id, resolve);
        if (waiting.size === 1) worker.ref();
        worker.postMessage([id, `${JSON.stringify([[key, value]])}\n`]);
      });
    try {
      return await measure(set, concurrency);
    } finally {
      await worker.terminate();
    }
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Median sets/s, µs of main-thread block and of main-thread CPU per set over `runs`. */
function summarise(runs: Measured[]): { rate: number; block: number; cpu: number } {
  return {
    rate: median(runs.map((r) => r.sets / r.seconds)),
    block: median(runs.map((r) => r.blockMicros)),
    cpu: median(runs.map((r) => r.cpuMicros)),
  };
}

/** Issue 13's goals: one set at a time ≥ 1.5× conf's sets/s, 64 at a time ≥ 30×; ≤ 50 µs block per set. */
const rateGoal = (concurrency: number): number => (concurrency === 1 ? 1.5 : 30);

/** The bench entry point `npm run bench` calls. */
export async function run(): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  const gains: BenchResult[] = [];
  const sizes = [
    { label: "small file", keys: 5 },
    { label: "~0.5 MB file", keys: 500 },
  ];
  for (const { label, keys } of sizes) {
    const rateAt = new Map<number, number>();
    for (const concurrency of [1, 64]) {
      const hangarRuns: Measured[] = [];
      const confRuns: Measured[] = [];
      const floorRuns: Measured[] = [];
      // The floor matters for the goal row only: one set at a time, small file.
      const withFloor = concurrency === 1 && keys === 5;
      let bytes = 0;
      for (let trial = 0; trial < trials; trial++) {
        const measured = await measureHangar(keys, concurrency);
        bytes = measured.bytes;
        hangarRuns.push(measured);
        confRuns.push(await measureConf(keys, concurrency));
        if (withFloor) floorRuns.push(await measureFloor(concurrency));
      }
      const hangar = summarise(hangarRuns);
      const conf = summarise(confRuns);
      rateAt.set(concurrency, hangar.rate);
      const group = `config set, ${label} (${(bytes / 1024).toFixed(0)} kB), concurrency ${concurrency}; baseline: conf`;
      rows.push(
        {
          group,
          name: "sets/s",
          value: hangar.rate,
          unit: "sets/s",
          baseline: conf.rate,
          ratio: hangar.rate / conf.rate,
          better: "higher",
          note: goal(hangar.rate / conf.rate, rateGoal(concurrency), "× conf", "at least"),
        },
        {
          group,
          name: "main-thread block per set",
          value: hangar.block,
          unit: "µs",
          baseline: conf.block,
          ratio: hangar.block / conf.block,
          better: "lower",
          // Issue 13's ≤ 50 µs is for one set at a time on a small file (its "why" measured that case); the
          // other rows report.
          note: withFloor ? goal(hangar.block, 50, " µs") : "report only",
        },
      );
      if (withFloor) {
        const floor = summarise(floorRuns);
        rows.push({
          group,
          name: "floor: bare worker round trip + fdatasync, block per set",
          value: hangar.block,
          unit: "µs",
          baseline: floor.block,
          ratio: hangar.block / floor.block,
          better: "lower",
          note: `the floor's CPU per set ${floor.cpu.toFixed(1)} µs (hangar ${hangar.cpu.toFixed(1)} µs); hangar over the floor: ${(hangar.block - floor.block).toFixed(1)} µs block`,
        });
      }
      if (!Number.isNaN(hangar.cpu))
        rows.push({
          group,
          name: "main-thread CPU per set (no run-queue wait)",
          value: hangar.cpu,
          unit: "µs",
          baseline: conf.cpu,
          ratio: hangar.cpu / conf.cpu,
          better: "lower",
        });
    }
    const one = rateAt.get(1)!;
    const many = rateAt.get(64)!;
    gains.push({
      group: "config group commit: hangar sets/s at concurrency 64; baseline: hangar at concurrency 1",
      name: label,
      value: many,
      unit: "sets/s",
      baseline: one,
      ratio: many / one,
      better: "higher",
    });
  }
  // What keeping plugin UIs in sync costs a set: the feed (a copy, ordering, a publish) over the bare backend.
  for (const concurrency of [1, 64]) {
    const bare: Measured[] = [];
    const fed: Measured[] = [];
    for (let trial = 0; trial < trials; trial++) {
      bare.push(await measureHangar(5, concurrency));
      fed.push(await measureFeed(5, concurrency));
    }
    const base = summarise(bare);
    const feed = summarise(fed);
    const group = `config set through the UI feed, small file, concurrency ${concurrency}; baseline: the file backend alone`;
    rows.push(
      {
        group,
        name: "sets/s",
        value: feed.rate,
        unit: "sets/s",
        baseline: base.rate,
        ratio: feed.rate / base.rate,
        better: "higher",
      },
      {
        group,
        name: "main-thread block per set",
        value: feed.block,
        unit: "µs",
        baseline: base.block,
        ratio: feed.block / base.block,
        better: "lower",
      },
    );
  }
  const load = os.loadavg()[0] ?? 0;
  for (const row of [...rows, ...gains])
    row.note = [row.note, `load ${load.toFixed(1)}`].filter(Boolean).join("; ");
  return [...rows, ...gains];
}
