// SPEC §10 / issue 3 §3: requests per second through a plugin route on the shell's server against the same
// router on a bare Express app, in the same run (issue 13: ≥ 0.95× the requests/s, ≤ 1.05× the CPU per request). Each server runs in its own process; autocannon
// runs here. Each round measures both sides back to back (alternating which goes first) and the median of the
// rounds' ratios counts, so drift in the machine's load cancels out. The servers' CPU time per request is
// reported too: on a shared machine it is steadier than requests per second.

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

    // Warm both (JIT, connection pools) before anything counts.
    for (const server of [shell, bare]) await measure(server, 2, quick ? 200 : undefined);

    const shellRounds: Round[] = [];
    const bareRounds: Round[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const order = round % 2 === 0 ? ([shell, bare] as const) : ([bare, shell] as const);
      for (const server of order) {
        const result = await measure(server, seconds, quick ? 500 : undefined);
        (server === shell ? shellRounds : bareRounds).push(result);
      }
    }
    const reqs = median(shellRounds.map((r) => r.load.requestsPerSecond));
    const bareReqs = median(bareRounds.map((r) => r.load.requestsPerSecond));
    const ratio = median(
      shellRounds.map((r, i) => r.load.requestsPerSecond / bareRounds[i]!.load.requestsPerSecond),
    );
    const cpu = median(shellRounds.map((r) => r.cpuPerRequest));
    const bareCpu = median(bareRounds.map((r) => r.cpuPerRequest));
    const cpuRatio = median(shellRounds.map((r, i) => r.cpuPerRequest / bareRounds[i]!.cpuPerRequest));
    const each = quick ? "500 requests" : `${seconds} s`;
    return [
      {
        group: "route throughput",
        name: `GET ${PATH}, ${CONNECTIONS} connections`,
        value: reqs,
        unit: "req/s",
        baseline: bareReqs,
        ratio,
        better: "higher",
        note:
          `${goal(ratio, 0.95, "×", "at least")}; p50 latency ${median(shellRounds.map((r) => r.load.latency.p50))}` +
          ` vs ${median(bareRounds.map((r) => r.load.latency.p50))} ms; median ratio of ${rounds} paired rounds × ${each}`,
      },
      {
        group: "route throughput",
        name: "server CPU per request",
        value: cpu,
        unit: "µs",
        baseline: bareCpu,
        ratio: cpuRatio,
        better: "lower",
        note: `${goal(cpuRatio, 1.05, "×")}; as throughput per CPU: ${(1 / cpuRatio).toFixed(2)}× bare Express; median of ${rounds} paired rounds`,
      },
    ];
  } finally {
    for (const server of servers) await server.close();
    await ws.cleanup();
  }
}
