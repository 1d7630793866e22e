// Keeps docs/errors.md in step with ErrorCodes: every code documented, no stale ones, every entry complete.
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { type ErrorCode, ErrorCodes, errorTemplates } from "../../src/errors.js";

const doc = await readFile(new URL("../../docs/errors.md", import.meta.url), "utf8");

/** Each `### HANGAR_*` section of the doc, keyed by code. */
const sections = new Map(
  doc
    .split(/^### /m)
    .slice(1)
    .map((section) => [section.slice(0, section.indexOf("\n")).trim(), section] as const),
);

describe("docs/errors.md", () => {
  it("documents every code in ErrorCodes", () => {
    const missing = Object.keys(ErrorCodes).filter((code) => !sections.has(code));
    expect(missing).toEqual([]);
  });

  it("documents no code that ErrorCodes lacks", () => {
    const stale = [...sections.keys()].filter((code) => !Object.hasOwn(ErrorCodes, code));
    expect(stale).toEqual([]);
    const mentioned = new Set(doc.match(/HANGAR_[A-Z_]+/g));
    expect([...mentioned].filter((code) => !Object.hasOwn(ErrorCodes, code))).toEqual([]);
  });

  it.each(Object.keys(ErrorCodes))("gives %s a cause, a phase, what to do and an example message", (code) => {
    const section = sections.get(code) ?? "";
    for (const field of ["**Cause:**", "**Phase:**", "**What to do:**", "**Example:**"]) {
      expect(section, `${code} lacks ${field}`).toContain(field);
    }
  });

  it.each(Object.keys(ErrorCodes))(
    "gives %s an example that is one of its sentences in src/errors.ts",
    (code) => {
      const example = /\*\*Example:\*\* `(.+)`\s*$/m.exec(sections.get(code) ?? "")?.[1];
      expect(example, `${code}'s example is not one backquoted message`).toBeDefined();
      const sentences = errorTemplates(code as ErrorCode).map(asPattern);
      expect(
        sentences.some((sentence) => sentence.test(example!)),
        `${code}'s example matches none of:\n${errorTemplates(code as ErrorCode).join("\n")}`,
      ).toBe(true);
    },
  );
});

/** A template as a whole-string pattern: each `{part}` stands for any text; a line break may be shown as a space. */
function asPattern(template: string): RegExp {
  const pieces = template.split(/\{[A-Za-z][A-Za-z0-9]*\}/);
  const escaped = pieces.map((piece) => piece.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\n/g, "\\s"));
  return new RegExp(`^${escaped.join("[\\s\\S]*")}$`);
}
