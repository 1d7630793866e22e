// SPEC §10 / issue 3 §3: requests per second through a plugin route on the shell's server against the same
// router on a bare Express app, in the same run (issue 13: ≥ 0.95× the requests/s, ≤ 1.05× the CPU per request). Each server runs in its own process; autocannon
// runs here. Each round measures both sides back to back (alternating which goes first) and the median of the
// rounds' ratios counts, so drift in the machine's load cancels out. The servers' CPU time per request is
// reported too: on a shared machine it is steadier than requests per second.
// A third server measures the floor of containment on Node 20: the same bare app with one AsyncLocalStorage.run
// per request (hangar attributes each request to its plugin that way, SPEC §11). An enabled AsyncLocalStorage
// turns on promise hooks for the whole process, so part of the gap to bare Express is Node's, not hangar's; the
// rows "… over the floor" say what hangar adds on top of it.

import { median } from "./support/child.js";
import { goal } from "./support/goal.js";
import { fire, type LoadResult } from "./support/load.js";
import { type RouteServer, startRouteServer } from "./support/route-server.js";
import { createBenchWorkspace, writeBenchRouter, writeRoutePlugin } from "./support/workspace.js";
import { type BenchResult, quickMode } from "./types.js";

const CONNECTIONS = 10;
const PATH = "/api/bench/ping";

interface Round {
  load: LoadResult;
  /** Server CPU µs per response. */
  cpuPerRequest: number;
}

async function measure(server: RouteServer, seconds: number, amount?: number): Promise<Round> {
  const cpuBefore = await server.cpu();
  const load = await fire({
    url: `${server.url}${PATH}`,
    connections: CONNECTIONS,
    ...(amount === undefined ? { duration: seconds } : { amount }),
  });
  const cpuAfter = await server.cpu();
  const ok = load.statuses[200] ?? 0;
  if (load.errors > 0 || ok !== load.responses || ok === 0) {
    throw new Error(
      `${server.url}${PATH} did not answer 200 throughout: ${JSON.stringify(load.statuses)}, ${load.errors} errors`,
    );
  }
  return { load, cpuPerRequest: (cpuAfter - cpuBefore) / load.responses };
}

/** The median over paired rounds of `of(hangar round) / of(other round)`. */
function pairedRatio(ours: Round[], theirs: Round[], of: (round: Round) => number): number {
  return median(ours.map((r, i) => of(r) / of(theirs[i]!)));
}

const rps = (r: Round) => r.load.requestsPerSecond;
const cpuOf = (r: Round) => r.cpuPerRequest;

export async function run(): Promise<BenchResult[]> {
  const quick = quickMode();
  const rounds = quick ? 1 : 8;
  const seconds = 3;
  const ws = await createBenchWorkspace();
  const servers: RouteServer[] = [];
  try {
    await writeRoutePlugin(ws.pluginsDir, await writeBenchRouter(ws.root));
    const shell = await startRouteServer("shell", ws.root);
    servers.push(shell);
    const bare = await startRouteServer("bare", ws.root);
    servers.push(bare);
    const floor = await startRouteServer("bare-als", ws.root);
    servers.push(floor);
    // The floor with hangar's leftover tracking on: what noting a context's timers and servers costs a request.
    const tracked = await startRouteServer("bare-als-leftovers", ws.root);
    servers.push(tracked);

    // Warm all three (JIT, connection pools) before anything counts.
    for (const server of servers) await measure(server, 2, quick ? 200 : undefined);

    const measured = new Map<RouteServer, Round[]>(servers.map((server) => [server, []]));
    for (let round = 0; round < rounds; round += 1) {
      // Each server goes first, second and third in turn, so drift in the machine's load falls on all alike.
      const order = servers.map((_, i) => servers[(i + round) % servers.length]!);
      for (const server of order) {
        measured.get(server)!.push(await measure(server, seconds, quick ? 500 : undefined));
      }
    }
    const shellRounds = measured.get(shell)!;
    const bareRounds = measured.get(bare)!;
    const floorRounds = measured.get(floor)!;
    const ratio = pairedRatio(shellRounds, bareRounds, rps);
    const cpuRatio = pairedRatio(shellRounds, bareRounds, cpuOf);
    const floorRatio = pairedRatio(floorRounds, bareRounds, rps);
    const floorCpuRatio = pairedRatio(floorRounds, bareRounds, cpuOf);
    const trackedRounds = measured.get(tracked)!;
    const each = quick ? "500 requests" : `${seconds} s`;
    const p50 = (rs: Round[]) => median(rs.map((r) => r.load.latency.p50));
    return [
      {
        group: "route throughput",
        name: `GET ${PATH}, ${CONNECTIONS} connections`,
        value: median(shellRounds.map(rps)),
        unit: "req/s",
        baseline: median(bareRounds.map(rps)),
        ratio,
        better: "higher",
        note:
          `${goal(ratio, 0.95, "×", "at least")}; p50 latency ${p50(shellRounds)} vs ${p50(bareRounds)} ms; ` +
          `median ratio of ${rounds} paired rounds × ${each}`,
      },
      {
        group: "route throughput",
        name: "server CPU per request",
        value: median(shellRounds.map(cpuOf)),
        unit: "µs",
        baseline: median(bareRounds.map(cpuOf)),
        ratio: cpuRatio,
        better: "lower",
        note: `${goal(cpuRatio, 1.05, "×")}; as throughput per CPU: ${(1 / cpuRatio).toFixed(2)}× bare Express; median of ${rounds} paired rounds`,
      },
      {
        group: "route throughput",
        name: "floor: bare Express + AsyncLocalStorage.run per request, req/s",
        value: median(floorRounds.map(rps)),
        unit: "req/s",
        baseline: median(bareRounds.map(rps)),
        ratio: floorRatio,
        better: "higher",
        note: `Node 20's cost of a per-request scope alone; hangar over this floor: ${pairedRatio(shellRounds, floorRounds, rps).toFixed(2)}×`,
      },
      {
        group: "route throughput",
        name: "floor: server CPU per request",
        value: median(floorRounds.map(cpuOf)),
        unit: "µs",
        baseline: median(bareRounds.map(cpuOf)),
        ratio: floorCpuRatio,
        better: "lower",
        note: `hangar over this floor: ${pairedRatio(shellRounds, floorRounds, cpuOf).toFixed(2)}×`,
      },
      {
        group: "route throughput",
        name: "leftover tracking: the floor + its init hook, req/s",
        value: median(trackedRounds.map(rps)),
        unit: "req/s",
        baseline: median(floorRounds.map(rps)),
        ratio: pairedRatio(trackedRounds, floorRounds, rps),
        better: "higher",
        note: `src/containment/leftover-handles.ts on (Node 20/22: one more init call per async resource); median of ${rounds} paired rounds`,
      },
      {
        group: "route throughput",
        name: "leftover tracking: server CPU per request",
        value: median(trackedRounds.map(cpuOf)),
        unit: "µs",
        baseline: median(floorRounds.map(cpuOf)),
        ratio: pairedRatio(trackedRounds, floorRounds, cpuOf),
        better: "lower",
        note: `against the floor without it; median of ${rounds} paired rounds`,
      },
    ];
  } finally {
    for (const server of servers) await server.close();
    await ws.cleanup();
  }
}
