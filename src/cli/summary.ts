// The summary `hangar run` prints once every plugin has settled: one table row per plugin, then a count per state.
import type { PluginStatus, ShellStatus } from "../status.js";
import { type Column, formatTable } from "./table.js";

const columns: Column<PluginStatus>[] = [
  { header: "ID", cell: (p) => p.id },
  { header: "VERSION", cell: (p) => p.version },
  { header: "STATE", cell: (p) => p.state },
  {
    header: "START",
    cell: (p) => (p.timings.startMs === null ? "—" : `${Math.round(p.timings.startMs)} ms`),
    align: "right",
  },
  { header: "ERROR", cell: (p) => (p.error ? `${p.error.code}: ${firstLine(p.error.message)}` : "") },
];

/** The summary table (id, version, state, start time, error) of every plugin, and a count per state. */
export function formatSummary(status: Pick<ShellStatus, "plugins"> & Partial<ShellStatus>): string {
  const counts = new Map<string, number>();
  for (const plugin of status.plugins) counts.set(plugin.state, (counts.get(plugin.state) ?? 0) + 1);
  const tally = [...counts].map(([state, count]) => `${count} ${state}`).join(", ") || "no plugins found";
  return `${formatTable(columns, status.plugins)}\n${tally}`;
}

/** A message's first line, marked when more follows: one row per plugin, however long its error (the log has it all). */
function firstLine(message: string): string {
  const lines = message.trim().split(/\r?\n/);
  return lines.length > 1 ? `${lines[0]} … (more in the log)` : (lines[0] ?? "");
}
