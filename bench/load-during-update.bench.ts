// Issue 3 §3: 10,000 requests over 32 connections to a plugin route while shell.update() restarts that plugin
// back to back (it has no onResume, so each update is onStop + onStart). Zero connection errors are allowed;
// every response must be 200 or the documented 503 (JSON `{ success: false, error, state }` with Retry-After).
import { fire } from "./support/load.js";
import { startRouteServer } from "./support/route-server.js";
import { createBenchWorkspace, writeBenchRouter, writeRoutePlugin } from "./support/workspace.js";
import { type BenchResult, quickMode } from "./types.js";

const CONNECTIONS = 32;

/** True for the 503 body and headers docs/server.md documents. */
function isDocumented503(body: string, retryAfter: unknown): boolean {
  try {
    const parsed = JSON.parse(body) as { success?: unknown; error?: unknown; state?: unknown };
    return (
      parsed.success === false &&
      typeof parsed.error === "string" &&
      typeof parsed.state === "string" &&
      typeof retryAfter === "string"
    );
  } catch {
    return false;
  }
}

export async function run(): Promise<BenchResult[]> {
  const requests = quickMode() ? 1_000 : 10_000;
  const ws = await createBenchWorkspace();
  await writeRoutePlugin(ws.pluginsDir, await writeBenchRouter(ws.root));
  const server = await startRouteServer("shell", ws.root);
  try {
    let ok = 0;
    let documented503 = 0;
    let other = 0;
    const startsSeen = new Set<number>();
    server.startUpdates();
    const load = await fire({
      url: `${server.url}/api/bench/ping`,
      connections: CONNECTIONS,
      amount: requests,
      onResponse(status, body, headers) {
        if (status === 200 && /"ok":true/.test(body)) {
          ok += 1;
          startsSeen.add((JSON.parse(body) as { starts: number }).starts);
        } else if (status === 503 && isDocumented503(body, headers["retry-after"])) {
          documented503 += 1;
        } else {
          other += 1;
        }
      },
    });
    const updates = await server.stopUpdates();
    const failed = load.errors > 0 || other > 0 || load.responses !== requests;
    const count = (name: string, value: number, note?: string): BenchResult => ({
      group: `load during update (${requests} requests, ${CONNECTIONS} connections)`,
      name,
      value,
      unit: "",
      ...(note === undefined ? {} : { note }),
    });
    return [
      count("responses 200", ok),
      count("responses 503 (documented body and Retry-After)", documented503),
      count("any other response", other, failed ? "FAILED: must be 0" : "must be 0"),
      count("connection errors", load.errors, `${load.timeouts} timeouts; must be 0`),
      count("updates completed during the load", updates.completed, `${updates.failed} failed`),
      count("plugin starts seen by clients", startsSeen.size, "distinct onStart generations served"),
      count(
        "requests per second under restarts",
        load.requestsPerSecond,
        `p99 latency ${load.latency.p99} ms`,
      ),
    ];
  } finally {
    await server.close();
    await ws.cleanup();
  }
}
