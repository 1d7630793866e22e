// createPlugin validates its argument at once; the SDK depends on nothing else in hangar.
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createPlugin } from "../../src/sdk/index.js";

describe("createPlugin", () => {
  it("returns the very object it was given", () => {
    const definition = { async onStart() {}, async onStop() {}, async onResume() {} };
    expect(createPlugin(definition)).toBe(definition);
  });

  it.each([
    ["onStart is missing", { onStop() {} }, "createPlugin: onStart must be a function, got undefined"],
    ["onStop is missing", { onStart() {} }, "createPlugin: onStop must be a function, got undefined"],
    [
      "onStop is a string",
      { onStart() {}, onStop: "stop" },
      "createPlugin: onStop must be a function, got string",
    ],
    ["onStart is null", { onStart: null, onStop() {} }, "createPlugin: onStart must be a function, got null"],
    [
      "onResume is not a function",
      { onStart() {}, onStop() {}, onResume: 1 },
      "createPlugin: onResume must be a function when given, got number",
    ],
    [
      "the argument is undefined",
      undefined,
      "createPlugin: expected an object with onStart and onStop functions, got undefined",
    ],
    [
      "the argument is an array",
      [],
      "createPlugin: expected an object with onStart and onStop functions, got an array",
    ],
  ])("throws a TypeError when %s", (_label, definition, message) => {
    expect(() => createPlugin(definition as never)).toThrow(new TypeError(message));
  });

  it("imports nothing outside src/sdk, so plugins can depend on it alone", async () => {
    const folder = fileURLToPath(new URL("../../src/sdk/", import.meta.url));
    const files = (await readdir(folder)).filter((file) => file.endsWith(".ts"));
    expect(files).toContain("index.ts");
    for (const file of files) {
      const source = await readFile(`${folder}${file}`, "utf8");
      const specifiers = [
        ...source.matchAll(/\bfrom\s+["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']/g),
      ].map((match) => match[1] ?? match[2]);
      for (const specifier of specifiers)
        expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\/[^/]+\.js$/);
    }
  });
});
