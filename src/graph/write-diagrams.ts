// Writes the statechart diagrams to disk and checks committed ones for staleness: the only I/O in src/graph/.
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { makeDirectory } from "../base/directories.js";
import { createError } from "../errors.js";
import {
  type DiagramFormat,
  type MachineDiagramSource,
  machineDiagramSources,
  renderDiagrams,
} from "./diagrams.js";

/** Where `hangar graph` and `npm run graph` write when no `--out` is given. */
export const DEFAULT_DIAGRAM_DIR = "visualizations";

/** Options of {@link writeDiagrams}. */
export interface WriteDiagramsOptions {
  /** Which diagrams to write; `all` writes Mermaid (`.mmd` + `.md`), DOT and SVG. Default `all`. */
  format?: DiagramFormat;
  /** Directory to write into, created when missing. Default `visualizations`. */
  outDir?: string;
}

/**
 * Generates the diagrams of hangar's machines and writes them into `outDir`, overwriting files of
 * the same name and leaving any other file alone.
 * @returns the written paths (`outDir` joined with each file name), sorted.
 */
export async function writeDiagrams(options: WriteDiagramsOptions = {}): Promise<string[]> {
  return writeDiagramsOf(machineDiagramSources, options);
}

/** {@link writeDiagrams} for other machines (tests, or a shell that draws its own). */
export async function writeDiagramsOf(
  sources: readonly MachineDiagramSource[],
  { format = "all", outDir = DEFAULT_DIAGRAM_DIR }: WriteDiagramsOptions = {},
): Promise<string[]> {
  const files = await renderDiagrams(format, sources);
  // A folder that cannot be made is HANGAR_FOLDER_UNWRITABLE; a failed write (permissions, disk full) surfaces as
  // Node's own error, which names the path.
  try {
    await makeDirectory(outDir);
  } catch (cause) {
    throw createError(
      "HANGAR_FOLDER_UNWRITABLE",
      {
        what: "The diagrams folder",
        folder: outDir,
        reason: cause instanceof Error ? cause.message : String(cause),
        option: "--out",
      },
      { cause },
    );
  }
  const written: string[] = [];
  for (const [name, contents] of files) {
    const file = path.join(outDir, name);
    await writeFile(file, contents, "utf8");
    written.push(file);
  }
  return written;
}

/** What {@link checkDiagrams} found; `ok` when the directory matches freshly generated output. */
export interface DiagramCheck {
  ok: boolean;
  /** Files whose contents differ from what the machines generate now. */
  changed: string[];
  /** Files the machines generate that the directory lacks. */
  missing: string[];
  /** Diagram files (`.mmd`, `.md`, `.dot`, `.svg`) that no machine generates any more. */
  extra: string[];
}

const DIAGRAM_EXTENSIONS = new Set([".mmd", ".md", ".dot", ".svg"]);

/**
 * Regenerates every diagram in memory and compares it with the files in `dir` (line endings
 * ignored, so a checkout with CRLF does not fail). Reads only; never writes.
 */
export async function checkDiagrams(
  dir: string = DEFAULT_DIAGRAM_DIR,
  sources: readonly MachineDiagramSource[] = machineDiagramSources,
): Promise<DiagramCheck> {
  const expected = await renderDiagrams("all", sources);
  const present = await listFiles(dir);
  const changed: string[] = [];
  const missing: string[] = [];
  for (const [name, contents] of expected) {
    const file = path.join(dir, name);
    if (!present.has(name)) {
      missing.push(file);
      continue;
    }
    const actual = await readFile(file, "utf8");
    if (normalise(actual) !== normalise(contents)) changed.push(file);
  }
  const extra = [...present]
    .filter((name) => !expected.has(name) && DIAGRAM_EXTENSIONS.has(path.extname(name)))
    .sort()
    .map((name) => path.join(dir, name));
  return { ok: changed.length + missing.length + extra.length === 0, changed, missing, extra };
}

/** The message `npm run graph:check` prints when {@link checkDiagrams} is not ok. */
export function describeStaleDiagrams(check: DiagramCheck, dir: string = DEFAULT_DIAGRAM_DIR): string {
  const lines = [`hangar graph: the diagrams in ${dir}/ are stale (the machine definitions changed since):`];
  for (const file of check.changed) lines.push(`  changed: ${file}`);
  for (const file of check.missing) lines.push(`  missing: ${file}`);
  for (const file of check.extra) lines.push(`  no longer generated (delete it): ${file}`);
  lines.push("run: npm run graph   (or: npx hangar graph)   then commit the result.");
  return lines.join("\n");
}

async function listFiles(dir: string): Promise<Set<string>> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return new Set(entries.filter((entry) => entry.isFile()).map((entry) => entry.name));
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return new Set();
    throw cause;
  }
}

function normalise(text: string): string {
  return text.replace(/\r\n/g, "\n");
}
