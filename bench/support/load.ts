// A thin typed layer over autocannon: fire GETs at a URL and count what came back, per status code.
import type { IncomingHttpHeaders } from "node:http";
import autocannon from "autocannon";

/** What a load run saw. */
export interface LoadResult {
  /** Responses per status code, e.g. `{ 200: 9990, 503: 10 }`. */
  statuses: Record<number, number>;
  /** Connection errors (refused, reset, timed out): the count that must stay zero. */
  errors: number;
  timeouts: number;
  /** Responses per second over the whole run (responses ÷ its duration). */
  requestsPerSecond: number;
  /** Total responses received. */
  responses: number;
  /** Latency percentiles in ms. */
  latency: { p50: number; p99: number };
}

export interface LoadOptions {
  url: string;
  connections: number;
  /** Stop after this many requests... */
  amount?: number;
  /** ...or after this many seconds. */
  duration?: number;
  /** Called with every response's status and body (bodies are only read when this is given). */
  onResponse?: (status: number, body: string, headers: IncomingHttpHeaders) => void;
}

export async function fire(options: LoadOptions): Promise<LoadResult> {
  const statuses: Record<number, number> = {};
  const { onResponse } = options;
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount === undefined ? { duration: options.duration ?? 5 } : { amount: options.amount }),
    timeout: 30,
    // Reading bodies costs the client time, so they are read only when someone looks at them.
    ...(onResponse
      ? {
          requests: [
            {
              method: "GET" as const,
              onResponse: (status: number, body: string, _context: object, headers?: IncomingHttpHeaders) => {
                statuses[status] = (statuses[status] ?? 0) + 1;
                onResponse(status, body, headers ?? {});
              },
            },
          ],
        }
      : {}),
  });
  if (!onResponse) {
    for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) {
      statuses[Number(code)] = Number(stats.count ?? 0);
    }
  }
  const responses = Object.values(statuses).reduce((sum, count) => sum + count, 0);
  return {
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    // Not autocannon's per-second average: a run of N requests rarely lasts whole seconds.
    requestsPerSecond: result.duration > 0 ? responses / result.duration : result.requests.average,
    responses,
    latency: { p50: result.latency.p50, p99: result.latency.p99 },
  };
}
