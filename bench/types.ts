// The shape every bench file shares with bench/run.ts: one exported run() yielding rows of measured numbers.

/** One measured figure. A row with a baseline also carries their ratio, so a run reads as "x times the baseline". */
export interface BenchResult {
  /** The comparison this row belongs to, e.g. `startup` or `route throughput`; rows are tabled per group. */
  group: string;
  /** What was measured, e.g. `start N=1000`. */
  name: string;
  /** The measured value for hangar. */
  value: number;
  /** Unit of `value` and `baseline`, e.g. `ms`, `req/s`, `µs`. */
  unit: string;
  /** The same measurement for the bare baseline, in the same unit, when the comparison has one. */
  baseline?: number;
  /** `value / baseline`. Whether lower (a cost in ms) or higher (a rate in req/s) is better, `better` says. */
  ratio?: number;
  /** Which direction of `ratio` is good; shown next to it so a reader need not guess. */
  better?: "lower" | "higher";
  /** Anything a reader must know to trust the row, e.g. `SUPERLINEAR` or a count of errors. */
  note?: string;
}

/** What each `bench/*.bench.ts` exports. */
export interface BenchModule {
  run(): Promise<BenchResult[]>;
}

/** True for `HANGAR_BENCH_QUICK=1`: a smoke run with tiny sizes, for tests and CI (its numbers mean nothing). */
export function quickMode(): boolean {
  return process.env.HANGAR_BENCH_QUICK === "1";
}
