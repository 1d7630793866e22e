// "The shell stays responsive", measured so that it fails when the shell freezes but not when this loaded
// machine starves the test or the shell: a probe loop against a healthy route, with the test process's own
// stalls and the shell's main thread's wait for a CPU measured alongside (the rule is written in
// docs/testing.md, "Is the shell responsive?").
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

/** One request of the probe loop. */
export interface ProbeSample {
  /** When it was sent, ms since the loop began. */
  at: number;
  /** Send to answer read, ms. */
  latencyMs: number;
  /** How long the test process itself was stalled (its timers late) while the probe was out, ms. */
  stallMs: number;
  /**
   * How long the shell's main thread waited for a CPU (runnable, not running: Linux's schedstat run delay) while
   * the probe was out, ms; 0 where it cannot be read.
   */
  cpuWaitMs: number;
  /** How long the shell's main thread ran on a CPU while the probe was out, ms (0 where unknown). */
  cpuRunMs: number;
  /**
   * What the shell is to blame for, ms: the larger of the CPU time its main thread spent while the probe was out
   * (a busy loop or a long synchronous task is CPU time, however slowly a loaded machine hands it out) and the
   * wait that neither the test's stalls nor the shell's waits for a CPU explain (a thread blocked off-CPU).
   */
  shellMs: number;
  status: number;
}

/** What a probe loop saw. */
export interface ProbeReport {
  samples: ProbeSample[];
  /** The largest shellMs. */
  maxShellMs: number;
  /** The largest raw latency. */
  maxLatencyMs: number;
  /** The longest time between the ends of two consecutive probes (or the loop's start and the first), ms. */
  maxGapMs: number;
  /** One line to print with an assertion: counts, percentiles, the worst samples. */
  summary: string;
}

export interface ProbeOptions {
  /** Pause between the end of one probe and the next one, ms. Default 20. */
  everyMs?: number;
  /** Checks each answer (status, body); a throw stops the loop and fails {@link ProbeLoop.stop}. */
  check?: (response: Response, body: unknown) => void;
  /** The pid of the process serving `url` (the shell): its main thread's waits for a CPU are excused. */
  servedBy?: number;
}

/**
 * Nanoseconds thread `pid` (a process's main thread) has spent runnable but waiting for a CPU since it started:
 * the second field of /proc/<pid>/task/<pid>/schedstat. Null where it cannot be read (not Linux, process gone).
 */
export function cpuWaitNs(pid: number): number | null {
  return schedstat(pid)?.waitNs ?? null;
}

/** Thread `pid`'s time on a CPU and waiting for one, in ns since it started (Linux), or null. */
function schedstat(pid: number): { runNs: number; waitNs: number } | null {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ").map(Number);
    return Number.isFinite(run) && Number.isFinite(wait) ? { runNs: run!, waitNs: wait! } : null;
  } catch {
    return null;
  }
}

export interface ProbeLoop {
  /** Stops the loop after the probe in flight and returns what it saw (rejects with a failed check). */
  stop(): Promise<ProbeReport>;
}

/** How often the stall monitor's timer is due, ms. */
const TICK_MS = 5;

/**
 * Probes `url` every `everyMs` until stopped. Beside it, a 5 ms timer measures how late this process's own event
 * loop runs: a probe that was out while this process was stalled is excused by that much (the answer may have
 * been waiting, unread), and no more.
 */
export function startProbeLoop(url: string, options: ProbeOptions = {}): ProbeLoop {
  const everyMs = options.everyMs ?? 20;
  const began = performance.now();
  // Each late tick: when it ran, and how late it was.
  const stalls: Array<{ at: number; lateMs: number }> = [];
  let due = began + TICK_MS;
  const monitor = setInterval(() => {
    const now = performance.now();
    const late = now - due;
    if (late > 1) stalls.push({ at: now, lateMs: late });
    due = now + TICK_MS;
  }, TICK_MS);
  const stallWithin = (from: number, to: number) => {
    let sum = 0;
    for (const stall of stalls) if (stall.at >= from && stall.at <= to) sum += stall.lateMs;
    return sum;
  };

  const samples: ProbeSample[] = [];
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const before = options.servedBy === undefined ? null : schedstat(options.servedBy);
      const ownBefore = schedstat(process.pid);
      const sent = performance.now();
      const response = await fetch(url);
      const body: unknown = await response.json().catch(() => undefined);
      const answered = performance.now();
      const after = options.servedBy === undefined ? null : schedstat(options.servedBy);
      const ownAfter = schedstat(process.pid);
      const latencyMs = answered - sent;
      // The monitor's tick that ends a stall runs before the answer's callback: include ticks up to now.
      // Late timers, or this thread's own waits for a CPU (schedstat), whichever says more.
      const ownWaitMs = ownBefore && ownAfter ? (ownAfter.waitNs - ownBefore.waitNs) / 1e6 : 0;
      const stallMs = Math.min(latencyMs, Math.max(ownWaitMs, stallWithin(sent, answered + TICK_MS)));
      const cpuWaitMs = before && after ? (after.waitNs - before.waitNs) / 1e6 : 0;
      const cpuRunMs = before && after ? (after.runNs - before.runNs) / 1e6 : 0;
      samples.push({
        at: sent - began,
        latencyMs,
        stallMs,
        cpuWaitMs,
        cpuRunMs,
        shellMs: Math.max(0, latencyMs - stallMs - cpuWaitMs, cpuRunMs),
        status: response.status,
      });
      options.check?.(response, body);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  // A failed check or request ends the loop; stop() reports it (not an unhandled rejection meanwhile).
  loop.catch(() => {});

  return {
    async stop() {
      stopping = true;
      try {
        await loop;
      } finally {
        clearInterval(monitor);
      }
      return report(samples);
    },
  };
}

function report(samples: ProbeSample[]): ProbeReport {
  const round = (n: number) => Math.round(n);
  const maxShellMs = Math.max(0, ...samples.map((s) => s.shellMs));
  const maxLatencyMs = Math.max(0, ...samples.map((s) => s.latencyMs));
  let maxGapMs = 0;
  let previousEnd = 0;
  for (const sample of samples) {
    const end = sample.at + sample.latencyMs;
    maxGapMs = Math.max(maxGapMs, end - previousEnd);
    previousEnd = end;
  }
  const sorted = samples.map((s) => s.latencyMs).sort((a, b) => a - b);
  const pct = (p: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0);
  const worst = [...samples]
    .sort((a, b) => b.shellMs - a.shellMs)
    .slice(0, 5)
    .map(
      (s) =>
        `${round(s.latencyMs)} ms, blamed ${round(s.shellMs)} (test stalled ${round(s.stallMs)}, shell waited for a CPU ${round(s.cpuWaitMs)}, ran ${round(s.cpuRunMs)}) at +${round(s.at)}`,
    );
  const summary =
    `${samples.length} probes: latency p50 ${pct(0.5)} / p99 ${pct(0.99)} / max ${round(maxLatencyMs)} ms, ` +
    `max blamed on the shell ${round(maxShellMs)} ms, max gap ${round(maxGapMs)} ms; most blamed: ${worst.join(", ")}`;
  return { samples, maxShellMs, maxLatencyMs, maxGapMs, summary };
}
