// A small plain-text table for the terminal: columns padded to their widest cell, the last one left free.

/** One column of a table: its heading and how to read its cell from a row. */
export interface Column<Row> {
  header: string;
  cell(row: Row): string;
  /** Right-align numbers so their digits line up. Default: left. */
  align?: "left" | "right";
}

// Two spaces read as a column gap without drawing borders that break when a terminal wraps.
const GAP = "  ";

/**
 * Renders `rows` under a header line, one line each, ending with a newline. The last column is not
 * padded, so a long cell there (an error message) runs on without widening the others.
 */
export function formatTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cells = [
    columns.map((column) => column.header),
    // A line break inside a cell would start a new row in the terminal: each cell is kept to one line.
    ...rows.map((row) => columns.map((c) => c.cell(row).replace(/\s*[\r\n]+\s*/g, " "))),
  ];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => width(line[i] ?? ""))));
  const lines = cells.map((line) =>
    line
      .map((cell, i) => {
        if (i === columns.length - 1) return cell;
        const padding = " ".repeat((widths[i] ?? 0) - width(cell));
        return columns[i]?.align === "right" ? padding + cell : cell + padding;
      })
      .join(GAP)
      .trimEnd(),
  );
  return `${lines.join("\n")}\n`;
}

/** Terminal columns a cell takes: code points, so `✓` and `—` count as one. */
function width(text: string): number {
  return [...text].length;
}
