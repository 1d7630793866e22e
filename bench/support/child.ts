// Runs a bench worker (a TypeScript file) in a fresh Node process and parses the JSON line it prints.
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
/** The repo root: workers run from it, so `tsx` resolves. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** `node --import tsx bench/workers/<worker> ...args`; resolves with the last stdout line, parsed. */
export async function runWorker<T>(worker: string, args: string[], timeoutMs = 300_000): Promise<T> {
  const file = path.join(repoRoot, "bench", "workers", worker);
  const { stdout } = await run(process.execPath, ["--import", "tsx", file, ...args], {
    cwd: repoRoot,
    timeout: timeoutMs,
    maxBuffer: 16 * 2 ** 20,
  });
  const last = stdout.trim().split("\n").at(-1);
  if (!last) throw new Error(`bench worker ${worker} printed nothing`);
  return JSON.parse(last) as T;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * `node --expose-gc bench/workers/<worker> ...args` with no loader at all: for the fair yardstick, workers that
 * measure hangar are plain JavaScript running dist/, as `hangar run` does. Resolves with the last line, parsed.
 */
export async function runPlainWorker<T>(
  worker: string,
  args: string[],
  timeoutMs = 600_000,
  env: Record<string, string> = {},
): Promise<T> {
  const file = path.join(repoRoot, "bench", "workers", worker);
  const { stdout } = await run(process.execPath, ["--expose-gc", file, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    timeout: timeoutMs,
    maxBuffer: 16 * 2 ** 20,
  });
  const last = stdout.trim().split("\n").at(-1);
  if (!last) throw new Error(`bench worker ${worker} printed nothing`);
  return JSON.parse(last) as T;
}
