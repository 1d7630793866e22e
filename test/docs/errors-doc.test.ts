// Keeps docs/errors.md in step with ErrorCodes: every code documented, no stale ones, every entry complete.
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { ErrorCodes } from "../../src/errors.js";

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
});
