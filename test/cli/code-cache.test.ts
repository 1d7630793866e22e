// The V8 code cache that the `hangar` command runs its bundle through (src/cli/code-cache.ts), on real files: a
// first run compiles from source and writes the cache; later runs compile from it; a cut or altered file, or a
// folder that cannot be written, changes nothing but the speed. In one process V8 may also answer a second compile
// of the same text from its own in-memory cache: whether V8 itself takes or refuses a file is tested in fresh
// processes, through the CLI (code-cache-cli.test.ts).
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { codeCacheDir, runCachedScript } from "../../src/cli/code-cache.js";

let dir: string;
let script: string;
let cacheDir: string;

// A script that uses what a CommonJS bundle uses: require of a built-in, module.exports, __filename.
const SOURCE = `const path = require("node:path");
function greet(name) { return "hello " + name + " from " + path.basename(__filename); }
module.exports = { greet, answer: [1, 2, 3].map((n) => n * 2) };
`;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "hangar-code-cache-"));
  script = path.join(dir, "cli.cjs");
  cacheDir = path.join(dir, "cache");
  await writeFile(script, SOURCE);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Exports = { greet(name: string): string; answer: number[] };

function runIt(options: Partial<Parameters<typeof runCachedScript>[1]> = {}) {
  const ran = runCachedScript(script, { dir: cacheDir, variant: "run", ...options });
  return { ...ran, api: ran.exports as Exports };
}

async function cacheFiles(): Promise<string[]> {
  return readdir(cacheDir).catch(() => []);
}

describe("runCachedScript", () => {
  it("compiles from source and writes the cache once started, then compiles from the cache", async () => {
    const first = runIt();
    expect(first.compiledFrom).toBe("source");
    expect(first.api.greet("pilot")).toBe("hello pilot from cli.cjs");
    expect(await cacheFiles()).toEqual([]);
    await first.save();
    const files = await cacheFiles();
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{32}-run\.v8$/);

    const second = runIt();
    expect(second.compiledFrom).toBe("cache");
    expect(second.api.greet("crew")).toBe("hello crew from cli.cjs");
    expect(second.api.answer).toEqual([2, 4, 6]);
    // A start from the cache does not write it again.
    const before = await readFile(path.join(cacheDir, files[0] as string));
    await second.save();
    expect(await readFile(path.join(cacheDir, files[0] as string))).toEqual(before);
  });

  it("keeps one file per variant and per script text (a rebuilt bundle of the same length included)", async () => {
    await runIt().save();
    await runIt({ variant: "cli" }).save();
    // Same length, other text: V8 alone would take the old data (it checks the length only).
    await writeFile(script, SOURCE.replace("hello ", "howdy "));
    const rebuilt = runIt();
    expect(rebuilt.compiledFrom).toBe("source");
    expect(rebuilt.api.greet("pilot")).toBe("howdy pilot from cli.cjs");
    await rebuilt.save();
    const files = await cacheFiles();
    expect(files.filter((file) => file.endsWith("-run.v8"))).toHaveLength(2);
    expect(files.filter((file) => file.endsWith("-cli.v8"))).toHaveLength(1);
  });

  it("ignores a cut or altered cache file, and writes a good one in its place", async () => {
    await runIt().save();
    const [name] = await cacheFiles();
    const file = path.join(cacheDir, name as string);
    const good = await readFile(file);

    await writeFile(file, good.subarray(0, good.length - 100));
    const afterCut = runIt();
    expect(afterCut.compiledFrom).toBe("source");
    expect(afterCut.api.greet("pilot")).toBe("hello pilot from cli.cjs");
    await afterCut.save();
    expect(runIt().compiledFrom).toBe("cache");

    const altered = Buffer.from(good);
    altered[altered.length - 10] = (altered[altered.length - 10] as number) ^ 0xff;
    await writeFile(file, altered);
    const afterAlter = runIt();
    expect(afterAlter.compiledFrom).toBe("source");
    expect(afterAlter.api.answer).toEqual([2, 4, 6]);
    await afterAlter.save();
    expect(runIt().compiledFrom).toBe("cache");
  });

  it("keeps the folder bounded: writing deletes the oldest files past 24 (earlier builds, other Node versions)", async () => {
    await mkdir(cacheDir, { recursive: true });
    const now = Date.now() / 1000;
    for (let i = 0; i < 30; i += 1) {
      const old = path.join(cacheDir, `${String(i).padStart(32, "0")}-run.v8`);
      await writeFile(old, "stale");
      // i = 0 is the oldest.
      await utimes(old, now - 10_000 + i, now - 10_000 + i);
    }
    await writeFile(path.join(cacheDir, "notes.txt"), "not a cache file");
    const ran = runIt();
    await ran.save();
    const files = await cacheFiles();
    expect(files.filter((file) => file.endsWith(".v8"))).toHaveLength(24);
    expect(files).toContain("notes.txt");
    // The new file stays, with the 23 most recent of the old ones.
    expect(runIt().compiledFrom).toBe("cache");
    for (let i = 0; i < 7; i += 1) expect(files).not.toContain(`${String(i).padStart(32, "0")}-run.v8`);
    expect(files).toContain(`${String(7).padStart(32, "0")}-run.v8`);
  });

  it("runs without a cache when the folder cannot be created or written: no file, no error", async () => {
    // A regular file where the folder should be: mkdir fails (ENOTDIR) even for root.
    const blocked = path.join(dir, "not-a-folder");
    await writeFile(blocked, "");
    const ran = runIt({ dir: path.join(blocked, "cache") });
    expect(ran.compiledFrom).toBe("source");
    expect(ran.api.greet("pilot")).toBe("hello pilot from cli.cjs");
    await expect(ran.save()).resolves.toBeUndefined();
    expect(await readdir(dir)).toEqual(["cli.cjs", "not-a-folder"]);
  });

  it("with no folder (the cache switched off) compiles from source and writes nothing", async () => {
    const ran = runIt({ dir: null });
    expect(ran.compiledFrom).toBe("source");
    await ran.save();
    expect(await readdir(dir)).toEqual(["cli.cjs"]);
  });

  it("throws what the script throws", () => {
    return writeFile(script, 'throw new Error("broken bundle");').then(() => {
      expect(() => runIt()).toThrow("broken bundle");
    });
  });
});

describe("codeCacheDir", () => {
  it("is node_modules/.cache/hangar/code of the project hangar is installed in, or of a checkout", () => {
    expect(codeCacheDir("/app/node_modules/hangar", {})).toBe("/app/node_modules/.cache/hangar/code");
    expect(codeCacheDir("/src/hangar", {})).toBe("/src/hangar/node_modules/.cache/hangar/code");
  });

  it("follows HANGAR_CODE_CACHE: a folder, or off", () => {
    expect(codeCacheDir("/src/hangar", { HANGAR_CODE_CACHE: "/tmp/cc" })).toBe("/tmp/cc");
    expect(codeCacheDir("/src/hangar", { HANGAR_CODE_CACHE: "off" })).toBeNull();
    expect(codeCacheDir("/src/hangar", { HANGAR_CODE_CACHE: "0" })).toBeNull();
  });
});
