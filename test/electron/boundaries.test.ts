// hangar never imports `electron` itself: the app passes Electron's objects in, so headless code (CLI, tests,
// CI) never loads it, and hangar/electron works with whatever Electron version the app ships.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const src = fileURLToPath(new URL("../../src/", import.meta.url));

it("no module under src/ imports or requires electron or electron-store", async () => {
  const files = (await readdir(src, { recursive: true })).filter((file) => /\.[cm]?ts$/.test(file));
  expect(files).toContain(path.join("electron", "index.ts"));
  const offending: string[] = [];
  for (const file of files) {
    // Comments may show users `import Store from "electron-store"`; only code counts.
    const source = (await readFile(path.join(src, file), "utf8"))
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    if (/(?:from\s+|import\s*\(\s*|require\s*\(\s*)["']electron(?:-store)?(?:\/[^"']*)?["']/.test(source)) {
      offending.push(file);
    }
  }
  expect(offending).toEqual([]);
});
