// Tests the file config backend against real files in a temp dir: durability, group commit, recovery and validation.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFileConfigBackend } from "../../src/context/config-file.js";

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "hangar-config-"));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const configFile = (id: string) => path.join(dataDir, "config", `${id}.json`);
const readJson = async (file: string) => JSON.parse(await readFile(file, "utf8")) as unknown;

async function expectCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<Error> {
  const error = await promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e as Error & { code?: string },
  );
  expect((error as { code?: string }).code).toBe(code);
  if (message) expect(error.message).toMatch(message);
  return error;
}

describe("storing and reading", () => {
  it("keeps each plugin's values in <dataDir>/config/<id>.json and reads them back in a new backend", async () => {
    const backend = createFileConfigBackend({ dataDir });
    const store = backend.store("fleet-board");
    await store.set("refresh_interval", 30);
    await store.set("quick_links", [{ title: "Ops", url: "https://ops.example" }]);
    await store.set("last_sync", null);
    await backend.store("other-plugin").set("refresh_interval", 5);

    expect(await readJson(configFile("fleet-board"))).toEqual({
      refresh_interval: 30,
      quick_links: [{ title: "Ops", url: "https://ops.example" }],
      last_sync: null,
    });

    const reopened = createFileConfigBackend({ dataDir }).store("fleet-board");
    expect(await reopened.get("refresh_interval")).toBe(30);
    expect(await reopened.get("last_sync", "default")).toBeNull();
    expect(await reopened.getAll()).toEqual({
      refresh_interval: 30,
      quick_links: [{ title: "Ops", url: "https://ops.example" }],
      last_sync: null,
    });
    expect(await createFileConfigBackend({ dataDir }).store("other-plugin").getAll()).toEqual({
      refresh_interval: 5,
    });
  });

  it("returns the default for a missing key, and a missing file is an empty store that creates nothing", async () => {
    const store = createFileConfigBackend({ dataDir }).store("fresh");
    expect(await store.get("refresh_interval", 30)).toBe(30);
    expect(await store.get("refresh_interval")).toBeUndefined();
    expect(await store.getAll()).toEqual({});
    await store.delete("never-set");
    await expect(readdir(dataDir)).resolves.toEqual([]);
  });

  it("deletes keys durably", async () => {
    const backend = createFileConfigBackend({ dataDir });
    await backend.store("p").set("stale_key", 1);
    await backend.store("p").set("kept", 2);
    await backend.store("p").delete("stale_key");
    expect(await backend.store("p").get("stale_key")).toBeUndefined();
    expect(await readJson(configFile("p"))).toEqual({ kept: 2 });
  });

  it("treats dots in keys literally, not as paths", async () => {
    const store = createFileConfigBackend({ dataDir }).store("p");
    await store.set("ui.theme", "dark");
    expect(await store.getAll()).toEqual({ "ui.theme": "dark" });
    expect(await store.get("ui")).toBeUndefined();
  });

  it("stores copies: changing the caller's object or a returned value changes nothing stored", async () => {
    const store = createFileConfigBackend({ dataDir }).store("p");
    const links = [{ title: "Ops" }];
    await store.set("links", links);
    links[0]!.title = "changed by caller";
    links.push({ title: "added" });

    const read = (await store.get<{ title: string }[]>("links"))!;
    expect(read).toEqual([{ title: "Ops" }]);
    read[0]!.title = "changed by reader";
    const all = await store.getAll();
    (all.links as { title: string }[]).pop();
    expect(await store.get("links")).toEqual([{ title: "Ops" }]);
  });

  it("returns the same store for the same id", () => {
    const backend = createFileConfigBackend({ dataDir });
    expect(backend.store("p")).toBe(backend.store("p"));
    expect(backend.fileOf("p")).toBe(configFile("p"));
  });

  it("refuses an id that could name a path outside the config folder", () => {
    const backend = createFileConfigBackend({ dataDir });
    expect(() => backend.store("../escape")).toThrow(expect.objectContaining({ code: "HANGAR_INTERNAL" }));
  });
});

describe("group commit and durability", () => {
  it("coalesces 100 concurrent sets into far fewer file writes, and every value is on disk", async () => {
    const backend = createFileConfigBackend({ dataDir });
    const store = backend.store("busy");
    const keys = Array.from({ length: 100 }, (_, i) => `key-${i}`);
    await Promise.all(keys.map((key, i) => store.set(key, { i })));

    expect(backend.writeCount).toBeGreaterThanOrEqual(1);
    expect(backend.writeCount).toBeLessThanOrEqual(2);
    const reopened = await createFileConfigBackend({ dataDir }).store("busy").getAll();
    expect(Object.keys(reopened)).toHaveLength(100);
    keys.forEach((key, i) => {
      expect(reopened[key]).toEqual({ i });
    });
  });

  it("batches changes queued behind a running write into the next single write, last change winning", async () => {
    const backend = createFileConfigBackend({ dataDir });
    const store = backend.store("p");
    const first = store.set("counter", 0);
    // Wait until the first write has started (the folder exists), then pile up changes behind it.
    while ((await readdir(dataDir)).length === 0) await new Promise((resolve) => setImmediate(resolve));
    const later = Array.from({ length: 50 }, (_, i) => store.set("counter", i + 1));
    await Promise.all([first, ...later]);

    expect(backend.writeCount).toBeLessThanOrEqual(3);
    expect(await readJson(configFile("p"))).toEqual({ counter: 50 });
  });

  it("a set that has resolved survives the process being killed right after", async () => {
    const script = path.join(dataDir, "crash.mts");
    const source = pathToImport(path.join(repoRoot, "src/context/config-file.ts"));
    await writeFile(
      script,
      `import { createFileConfigBackend } from ${JSON.stringify(source)};
const store = createFileConfigBackend({ dataDir: process.argv[2] }).store("crashy");
await store.set("saved", { pilots: 42 });
process.kill(process.pid, "SIGKILL");`,
    );
    const child = run(process.execPath, ["--import", "tsx", script, dataDir], { cwd: repoRoot });
    await expect(child).rejects.toMatchObject({ signal: "SIGKILL" });

    expect(await createFileConfigBackend({ dataDir }).store("crashy").get("saved")).toEqual({ pilots: 42 });
  });

  it("flush() waits for writes nobody awaited", async () => {
    const backend = createFileConfigBackend({ dataDir });
    for (let i = 0; i < 10; i++) void backend.store(`p${i}`).set("n", i);
    await backend.flush();
    for (let i = 0; i < 10; i++) expect(await readJson(configFile(`p${i}`))).toEqual({ n: i });
  });

  it("a failed write rejects with HANGAR_CONFIG_WRITE and what get() returns still matches the disk", async () => {
    const backend = createFileConfigBackend({ dataDir });
    const store = backend.store("p");
    await store.set("mode", "saved");

    // Put a file where the config folder must be: every later write fails.
    await rm(path.join(dataDir, "config"), { recursive: true });
    await writeFile(path.join(dataDir, "config"), "not a folder");
    const error = await expectCode(
      store.set("mode", "lost"),
      "HANGAR_CONFIG_WRITE",
      /Plugin 'p' could not save/,
    );
    expect((error as { cause?: unknown }).cause).toBeInstanceOf(Error);
    await expectCode(store.delete("mode"), "HANGAR_CONFIG_WRITE");
    expect(await store.get("mode")).toBe("saved");
    expect(await store.getAll()).toEqual({ mode: "saved" });

    // Once the disk is usable again, writes succeed and contain only accepted changes.
    await rm(path.join(dataDir, "config"));
    await store.set("other", 1);
    expect(await readJson(configFile("p"))).toEqual({ mode: "saved", other: 1 });
  });
});

describe("an unreadable file", () => {
  it("rejects with HANGAR_CONFIG_READ, leaves the file alone, and reads again on the next call", async () => {
    // A folder where the file should be: reading fails with EISDIR even when running as root.
    await mkdir(configFile("p"), { recursive: true });
    const warnings: string[] = [];
    const store = createFileConfigBackend({ dataDir, onWarning: (_id, m) => warnings.push(m) }).store("p");
    await expectCode(store.get("k"), "HANGAR_CONFIG_READ", /Plugin 'p' could not read its config file/);
    await expectCode(store.set("k", 1), "HANGAR_CONFIG_READ");
    expect(await readdir(path.join(dataDir, "config"))).toEqual(["p.json"]);
    expect(warnings).toEqual([]);

    await rm(configFile("p"), { recursive: true });
    await writeFile(configFile("p"), JSON.stringify({ k: "readable now" }));
    expect(await store.get("k")).toBe("readable now");
  });
});

describe("a corrupt file", () => {
  for (const [what, content] of [
    ["invalid JSON", '{"refresh_interval": 30,'],
    ["a JSON array", "[1, 2, 3]"],
    ["an empty file", ""],
  ] as const) {
    it(`holding ${what} is moved aside, reported, and the store starts empty`, async () => {
      await mkdir(path.join(dataDir, "config"), { recursive: true });
      await writeFile(configFile("fleet-board"), content);
      const warnings: [string, string][] = [];
      const backend = createFileConfigBackend({
        dataDir,
        onWarning: (pluginId, message) => warnings.push([pluginId, message]),
      });
      const store = backend.store("fleet-board");

      expect(await store.get("refresh_interval", 15)).toBe(15);
      const files = await readdir(path.join(dataDir, "config"));
      const moved = files.find((f) => f.startsWith("fleet-board.json.corrupt-"));
      expect(moved).toBeDefined();
      expect(moved).not.toContain(":");
      expect(files).not.toContain("fleet-board.json");
      expect(await readFile(path.join(dataDir, "config", moved!), "utf8")).toBe(content);

      expect(warnings).toHaveLength(1);
      expect(warnings[0]![0]).toBe("fleet-board");
      expect(warnings[0]![1]).toContain(path.join(dataDir, "config", moved!));
      expect(warnings[0]![1]).toContain("fleet-board");

      await store.set("refresh_interval", 20);
      expect(await readJson(configFile("fleet-board"))).toEqual({ refresh_interval: 20 });
      expect(warnings).toHaveLength(1);
    });
  }

  it("does not affect other plugins' stores", async () => {
    await mkdir(path.join(dataDir, "config"), { recursive: true });
    await writeFile(configFile("broken"), "{");
    await writeFile(configFile("fine"), JSON.stringify({ a: 1 }));
    const backend = createFileConfigBackend({ dataDir, onWarning: () => {} });
    expect(await backend.store("broken").getAll()).toEqual({});
    expect(await backend.store("fine").getAll()).toEqual({ a: 1 });
  });

  it("drops reserved keys found in a hand-edited file, with a warning", async () => {
    await mkdir(path.join(dataDir, "config"), { recursive: true });
    await writeFile(configFile("p"), '{"__proto__": {"polluted": true}, "ok": 1}');
    const warnings: string[] = [];
    const store = createFileConfigBackend({ dataDir, onWarning: (_id, m) => warnings.push(m) }).store("p");
    const all = await store.getAll();
    expect(all).toEqual({ ok: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(warnings.join()).toContain("'__proto__'");
  });
});

describe("validation", () => {
  const store = () => createFileConfigBackend({ dataDir }).store("strict");

  for (const key of ["__proto__", "constructor", "prototype", ""]) {
    it(`rejects the key ${JSON.stringify(key)} with a TypeError (HANGAR_CONFIG_KEY)`, async () => {
      const s = store();
      const error = await expectCode(
        s.set(key, 1),
        "HANGAR_CONFIG_KEY",
        /Plugin 'strict' called config\.set\(\)/,
      );
      expect(error).toBeInstanceOf(TypeError);
      await expectCode(s.get(key), "HANGAR_CONFIG_KEY");
      await expectCode(s.delete(key), "HANGAR_CONFIG_KEY");
    });
  }

  it("rejects a non-string key", async () => {
    await expectCode(store().set(42 as unknown as string, 1), "HANGAR_CONFIG_KEY", /number key/);
  });

  it("never pollutes Object.prototype through a key or a value", async () => {
    const s = store();
    await s.set("k", JSON.parse('{"__proto__": {"polluted": true}}'));
    const read = (await s.get<Record<string, unknown>>("k"))!;
    expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
    expect(Object.hasOwn(read, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const reopened = await createFileConfigBackend({ dataDir })
      .store("strict")
      .get<Record<string, unknown>>("k");
    expect(Object.getPrototypeOf(reopened)).toBe(Object.prototype);
  });

  class Waypoint {
    constructor(readonly ident: string) {}
  }
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  const sparse: number[] = [1];
  sparse[2] = 3; // index 1 is a hole

  const invalid: [string, unknown, RegExp][] = [
    ["a nested function", { links: [{}, {}, { cb: () => 1 }] }, /value\.links\[2\]\.cb is a function/],
    ["a class instance", { home: new Waypoint("EGLL") }, /value\.home is an instance of Waypoint/],
    ["a Date", { when: new Date(0) }, /value\.when is a Date .*toISOString/],
    ["a Map", new Map([["a", 1]]), /value is a Map/],
    ["a cycle", cyclic, /value\.self is a cycle: it refers back to value\b/],
    ["a bigint", { big: 10n }, /value\.big is a bigint/],
    ["a symbol", [Symbol("s")], /value\[0\] is a symbol/],
    ["NaN", { ratio: Number.NaN }, /value\.ratio is NaN \(JSON would store it as null\)/],
    ["Infinity", Number.POSITIVE_INFINITY, /value is Infinity/],
    ["undefined", undefined, /value is undefined .*config\.delete\('k'\)/],
    ["a hole in an array", sparse, /value\[1\] is undefined/],
    ["an odd key", { "odd key": () => 1 }, /value\["odd key"\] is a function/],
  ];
  for (const [what, value, message] of invalid) {
    it(`rejects ${what} with a TypeError (HANGAR_CONFIG_VALUE) naming the path, and writes nothing`, async () => {
      const backend = createFileConfigBackend({ dataDir });
      const error = await expectCode(backend.store("strict").set("k", value), "HANGAR_CONFIG_VALUE", message);
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toContain("Plugin 'strict' called config.set('k', value)");
      expect(await backend.store("strict").get("k")).toBeUndefined();
      expect(backend.writeCount).toBe(0);
    });
  }

  it("accepts an object shared twice (not a cycle) and drops undefined properties as JSON does", async () => {
    const s = store();
    const shared = { a: 1 };
    await s.set("k", {
      x: shared,
      y: shared,
      gone: undefined,
      nullProto: Object.assign(Object.create(null), { b: 2 }),
    });
    expect(await s.get("k")).toEqual({ x: { a: 1 }, y: { a: 1 }, nullProto: { b: 2 } });
  });
});

function pathToImport(file: string): string {
  return new URL(`file://${file}`).href;
}
