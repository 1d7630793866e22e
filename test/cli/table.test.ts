// The summary table's layout: columns line up, numbers align right, the last column runs free.
import { describe, expect, it } from "vitest";
import { formatSummary } from "../../src/cli/summary.js";
import { formatTable } from "../../src/cli/table.js";
import type { PluginStatus } from "../../src/status.js";

function plugin(fields: Partial<PluginStatus> & Pick<PluginStatus, "id" | "state">): PluginStatus {
  return {
    version: "1.0.0",
    name: fields.id,
    background: true,
    timings: { loadMs: 1, startMs: null },
    ...fields,
  };
}

describe("formatTable", () => {
  it("pads every column but the last to its widest cell", () => {
    const text = formatTable(
      [
        { header: "ID", cell: (row: { id: string; ms: string; note: string }) => row.id },
        { header: "MS", cell: (row) => row.ms, align: "right" },
        { header: "NOTE", cell: (row) => row.note },
      ],
      [
        { id: "fleet-board", ms: "7", note: "" },
        { id: "x", ms: "1234", note: "a long note that does not widen anything" },
      ],
    );
    expect(text).toBe(
      [
        "ID             MS  NOTE",
        "fleet-board     7",
        "x            1234  a long note that does not widen anything",
        "",
      ].join("\n"),
    );
  });
});

describe("formatSummary", () => {
  it("shows id, version, state, start time and the error, then a count per state", () => {
    const text = formatSummary({
      state: "running",
      server: { url: "http://127.0.0.1:2066" },
      plugins: [
        plugin({ id: "fleet-board", state: "running", timings: { loadMs: 3, startMs: 12.4 } }),
        plugin({
          id: "crashy",
          state: "errored",
          error: {
            phase: "start",
            code: "HANGAR_START_FAILED",
            message: "Plugin 'crashy' failed in onStart",
          },
        }),
        plugin({ id: "livery-gallery", state: "inactive", background: false }),
      ],
    });
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^ID\s+VERSION\s+STATE\s+START\s+ERROR$/);
    expect(lines[1]).toMatch(/^fleet-board\s+1\.0\.0\s+running\s+12 ms$/);
    expect(lines[2]).toMatch(
      /^crashy\s+1\.0\.0\s+errored\s+—\s+HANGAR_START_FAILED: Plugin 'crashy' failed in onStart$/,
    );
    expect(lines.at(-1)).toBe("1 running, 1 errored, 1 inactive");
  });
});

describe("a multi-line error", () => {
  it("stays on its plugin's row: the first line, marked, and never a line that looks like another row", () => {
    const text = formatSummary({
      plugins: [
        plugin({
          id: "zod-victim",
          state: "errored",
          error: { phase: "load", code: "HANGAR_MANIFEST_INVALID", message: "plugin.json:\n✖ id\n  → at id" },
        }),
        plugin({ id: "fine", state: "running" }),
      ],
    });
    const rows = text.split("\n").slice(1, 3);
    expect(rows[0]).toMatch(/^zod-victim .* HANGAR_MANIFEST_INVALID: plugin\.json: … \(more in the log\)$/);
    expect(rows[1]).toMatch(/^fine /);
    expect(text).not.toContain("✖");
  });

  it("formatTable keeps any cell on one line", () => {
    const text = formatTable([{ header: "A", cell: (row: string) => row }], ["one\ntwo\r\nthree"]);
    expect(text).toBe("A\none two three\n");
  });
});
