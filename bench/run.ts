// `npm run bench`: runs every bench/*.bench.ts in sequence and prints one table per comparison.
// Usage: npm run bench [-- <name filter>...] [-- --json out.json]; HANGAR_BENCH_QUICK=1 for a smoke run.
import { readdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type BenchModule, type BenchResult, quickMode } from "./types.js";

const benchDir = path.dirname(fileURLToPath(import.meta.url));

/** The bench files in name order, optionally only those whose name contains one of `filters`. */
export async function benchFiles(filters: string[] = []): Promise<string[]> {
  const names = (await readdir(benchDir)).filter((name) => name.endsWith(".bench.ts")).sort();
  const chosen = filters.length === 0 ? names : names.filter((name) => filters.some((f) => name.includes(f)));
  return chosen.map((name) => path.join(benchDir, name));
}

/** Imports one bench file and runs it. */
export async function runBenchFile(file: string): Promise<BenchResult[]> {
  const module = (await import(pathToFileURL(file).href)) as Partial<BenchModule>;
  if (typeof module.run !== "function") {
    throw new Error(
      `${path.basename(file)} does not export run(): export async function run(): Promise<BenchResult[]>`,
    );
  }
  return module.run();
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 0.1) return value.toFixed(2);
  return value.toPrecision(2);
}

/** A goal's verdict in a row's note: `goal ≤ 16 ms: met`, `goal ≥ 0.95×: NOT MET` (bench/support/goal.ts). */
const GOAL_NOTE = /goal [≤≥] [^:;]+: (met|NOT MET)/;

/**
 * Every row that judges one of issue 13's goals, as one list after the tables:
 * `[met] group — name: value unit, ratio× the baseline (goal …)`.
 * Empty when no row carries a goal.
 */
export function formatGoals(rows: BenchResult[]): string {
  const lines: string[] = [];
  for (const row of rows) {
    const match = GOAL_NOTE.exec(row.note ?? "");
    if (!match) continue;
    const ratio = row.ratio === undefined ? "" : `, ${row.ratio.toFixed(2)}× the baseline`;
    const shown = `${formatNumber(row.value)} ${row.unit}${ratio}`;
    lines.push(
      `${match[1] === "met" ? "[met]    " : "[NOT MET]"} ${row.group} — ${row.name}: ${shown} (${match[0]})`,
    );
  }
  return lines.length === 0 ? "" : `\n## Goals (issue 13)\n${lines.join("\n")}\n`;
}

/** A plain-text table of `rows`, one block per group. */
export function formatTable(rows: BenchResult[]): string {
  const out: string[] = [];
  const groups = [...new Set(rows.map((row) => row.group))];
  for (const group of groups) {
    const cells = rows
      .filter((row) => row.group === group)
      .map((row) => [
        row.name,
        `${formatNumber(row.value)} ${row.unit}`,
        row.baseline === undefined ? "" : `${formatNumber(row.baseline)} ${row.unit}`,
        row.ratio === undefined
          ? ""
          : `${row.ratio.toFixed(2)}×${row.better ? ` (${row.better} is better)` : ""}`,
        row.note ?? "",
      ]);
    const header = ["measure", "hangar", "baseline", "ratio", "note"];
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
    const line = (c: string[]) =>
      c
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd();
    out.push(`\n## ${group}`, line(header), line(widths.map((w) => "-".repeat(w))), ...cells.map(line));
  }
  return out.join("\n");
}

async function main(argv: string[]): Promise<number> {
  const jsonAt = argv.indexOf("--json");
  const jsonFile = jsonAt === -1 ? null : argv[jsonAt + 1];
  const filters = argv.filter((arg, i) => arg !== "--json" && (jsonAt === -1 || i !== jsonAt + 1));
  const files = await benchFiles(filters);
  const cpus = os.cpus();
  process.stdout.write(
    `hangar bench: node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? "unknown CPU"}, ` +
      `${os.platform()} ${os.release()}${quickMode() ? ", QUICK MODE (numbers mean nothing)" : ""}\n`,
  );
  const all: BenchResult[] = [];
  let failed = 0;
  for (const file of files) {
    const name = path.basename(file);
    process.stdout.write(`\n# ${name}\n`);
    const started = performance.now();
    try {
      const rows = await runBenchFile(file);
      all.push(...rows);
      process.stdout.write(
        `${formatTable(rows)}\n(${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
      );
    } catch (error) {
      failed += 1;
      process.stdout.write(
        `${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
  }
  process.stdout.write(formatGoals(all));
  if (jsonFile) await writeFile(jsonFile, `${JSON.stringify(all, null, 2)}\n`);
  if (files.length === 0) process.stdout.write(`No bench file matches ${filters.join(", ")}.\n`);
  return failed > 0 || files.length === 0 ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
