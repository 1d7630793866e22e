// Every bench file runs once in quick mode (HANGAR_BENCH_QUICK=1): it must complete and yield finite numbers.
// Speed is never asserted here (BENCHMARKS.md records it); correctness figures that a bench reports are.
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { benchFiles, formatGoals, formatTable, runBenchFile } from "../../bench/run.js";

const files = await benchFiles();

beforeAll(() => {
  process.env.HANGAR_BENCH_QUICK = "1";
});

describe("npm run bench, quick mode", () => {
  it("finds the bench files", () => {
    expect(files.map((file) => path.basename(file))).toEqual(
      expect.arrayContaining([
        "startup.bench.ts",
        "route-throughput.bench.ts",
        "load-during-update.bench.ts",
        "ipc.bench.ts",
        "block.bench.ts",
        "reload.bench.ts",
        "cold-start.bench.ts",
      ]),
    );
  });

  it.each(files.map((file) => [path.basename(file), file]))(
    "%s completes and yields numbers",
    async (_name, file) => {
      const rows = await runBenchFile(file);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        expect(Number.isFinite(row.value), `${row.group} / ${row.name}`).toBe(true);
        if (row.baseline !== undefined) expect(Number.isFinite(row.baseline)).toBe(true);
      }
      expect(formatTable(rows)).toContain(rows[0]!.name);

      if (path.basename(file) === "load-during-update.bench.ts") {
        // The contract of the load test, not a speed: no connection error, nothing but 200 or the documented 503.
        const value = (name: string) => rows.find((row) => row.name === name)?.value;
        expect(value("connection errors")).toBe(0);
        expect(value("any other response")).toBe(0);
        expect(
          (value("responses 200") ?? 0) + (value("responses 503 (documented body and Retry-After)") ?? 0),
        ).toBe(1_000);
        expect(value("updates completed during the load")).toBeGreaterThan(0);
      }
    },
    120_000,
  );

  it("lists every goal a run judged, met or not, after the tables", () => {
    const text = formatGoals([
      {
        group: "cold start",
        name: "hangar run",
        value: 578,
        unit: "ms",
        baseline: 252,
        ratio: 2.29,
        note: "goal ≤ 1.5×: NOT MET",
      },
      {
        group: "config",
        name: "block per set",
        value: 48.2,
        unit: "µs",
        note: "goal ≤ 50 µs: met; CPU 30 µs",
      },
      { group: "config", name: "sets/s", value: 10, unit: "sets/s", note: "no goal here" },
    ]);
    expect(text.split("\n").filter((line) => line.startsWith("["))).toEqual([
      "[NOT MET] cold start — hangar run: 578 ms, 2.29× the baseline (goal ≤ 1.5×: NOT MET)",
      "[met]     config — block per set: 48.2 µs (goal ≤ 50 µs: met)",
    ]);
    expect(formatGoals([{ group: "g", name: "n", value: 1, unit: "ms" }])).toBe("");
  });
});
