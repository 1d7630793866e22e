// The layering is enforced: docs/architecture.md's table says which parts and packages each part of src/ may
// import; every import under src/ (static, re-export, dynamic, type-only) is checked against it.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

interface Part {
  name: string;
  files: string[];
  parts: Set<string>;
  packages: string[];
}

function readTable(): Part[] {
  const doc = readFileSync("docs/architecture.md", "utf8");
  const table = /<!-- layering table: start -->([\s\S]*?)<!-- layering table: end -->/.exec(doc)?.[1];
  if (!table) throw new Error("docs/architecture.md has no layering table between its markers");
  const list = (cell: string): string[] =>
    cell.trim() === "—"
      ? []
      : cell
          .split(",")
          .map((item) => item.trim().replaceAll("`", ""))
          .filter(Boolean);
  return table
    .split("\n")
    .filter((line) => line.startsWith("| ") && !line.startsWith("| part") && !line.startsWith("| ---"))
    .map((line) => {
      const [name, files, parts, packages] = line.split("|").slice(1, -1);
      return {
        name: name!.trim(),
        files: list(files!),
        parts: new Set(list(parts!)),
        packages: list(packages!),
      };
    });
}

function partOf(file: string, parts: Part[]): Part | undefined {
  let best: { part: Part; length: number } | undefined;
  for (const part of parts) {
    for (const entry of part.files) {
      const matches = entry.endsWith("/") ? file.startsWith(entry) : file === entry;
      if (matches && (!best || entry.length > best.length)) best = { part, length: entry.length };
    }
  }
  return best?.part;
}

/** `node:fs/promises` stays whole; `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
function packageOf(specifier: string): string {
  if (specifier.startsWith("node:")) return specifier;
  const segments = specifier.split("/");
  return specifier.startsWith("@") ? segments.slice(0, 2).join("/") : segments[0]!;
}

function packageAllowed(name: string, allowed: string[]): boolean {
  return allowed.some(
    (rule) => rule === "*" || rule === name || (rule === "node:*" && name.startsWith("node:")),
  );
}

/** Every violation in `source` (the text of `file`, a path like `src/x/y.ts`). */
function violations(file: string, source: string, parts: Part[]): string[] {
  const part = partOf(file, parts);
  if (!part) return [`${file} belongs to no part: add it to docs/architecture.md's table`];
  const found: string[] = [];
  for (const { fileName: specifier } of ts.preProcessFile(source, true, true).importedFiles) {
    if (specifier.startsWith(".")) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
      const resolved = target.replace(/\.js$/, ".ts");
      const other = partOf(resolved, parts) ?? partOf(target.replace(/\.js$/, ".tsx"), parts);
      if (!other) found.push(`${file} imports ${specifier}, which belongs to no part`);
      else if (other !== part && !part.parts.has(other.name)) {
        found.push(`${file} (${part.name}) imports ${specifier} (${other.name}), which ${part.name} may not`);
      }
    } else if (!packageAllowed(packageOf(specifier), part.packages)) {
      found.push(`${file} (${part.name}) imports the package '${specifier}', which ${part.name} may not`);
    }
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|tsx|mts|cts)$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [full] : [];
  });
}

describe("layering (docs/architecture.md)", () => {
  const parts = readTable();

  it("names only parts that exist in its may-import column", () => {
    const names = new Set(parts.map((part) => part.name));
    const unknown = parts.flatMap((part) => [...part.parts].filter((name) => !names.has(name)));
    expect(unknown).toEqual([]);
  });

  it("holds for every import under src/", () => {
    const problems = sourceFiles("src").flatMap((file) =>
      violations(file, readFileSync(file, "utf8"), parts),
    );
    expect(problems).toEqual([]);
  });

  it("catches what it is there to catch", () => {
    expect(
      violations("src/machines/x.ts", 'import { readFile } from "node:fs/promises";', parts),
    ).toHaveLength(1);
    expect(
      violations("src/sdk/x.ts", 'import type { HangarError } from "../errors.js";', parts),
    ).toHaveLength(1);
    expect(violations("src/server/x.ts", 'export { main } from "../cli/main.js";', parts)).toHaveLength(1);
    expect(violations("src/context/x.ts", 'const m = await import("../cli/output.js");', parts)).toHaveLength(
      1,
    );
    expect(
      violations("src/server/x.ts", 'import { connect } from "../client/index.js";', parts),
    ).toHaveLength(1);
    expect(violations("src/new-folder/x.ts", "", parts)).toHaveLength(1);
    expect(violations("src/server/x.ts", 'import express from "express";', parts)).toEqual([]);
  });
});
