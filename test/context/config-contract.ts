// The one contract every ConfigBackend passes (SPEC §3 config), run against real files in a temp dir.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConfigBackend, ConfigWarningListener } from "../../src/context/config-backend.js";
import type { JsonValue } from "../../src/sdk/types.js";

/** A backend implementation under test. */
export interface ConfigBackendSubject {
  /** Shown in the test names. */
  name: string;
  /**
   * A new backend keeping each plugin's values in `<configDir>/<id>.json`. `configDir` is always a
   * folder named `config`, so a backend rooted at a data dir can use its parent.
   */
  create(configDir: string, onWarning?: ConfigWarningListener): ConfigBackend;
}

/** Values that must survive a round trip unchanged, by key; keys include characters that need escaping. */
export const roundTripValues: Record<string, JsonValue> = {
  refresh_interval: 30,
  ratio: -0.125,
  big: 9007199254740991,
  title: 'Fleet — board ✈ 航空 \u0000 "quoted" \\ back\nslash',
  enabled: true,
  disabled: false,
  nothing: null,
  empty_string: "",
  empty_object: {},
  empty_array: [],
  quick_links: [{ title: "Ops", url: "https://ops.example", pinned: true, order: [3, 1, 2] }],
  nested: { a: { b: { c: [null, { d: "deep" }, [[]]] } } },
  "ui.theme": "dark",
  'key with spaces, "quotes" and a\nnewline': 1,
  "42": "an integer-like key",
  proto_inside: JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as JsonValue,
};

/** Sets every entry of `values` in one go. */
export async function setAll(backend: ConfigBackend, pluginId: string, values: Record<string, JsonValue>) {
  const store = backend.store(pluginId);
  await Promise.all(Object.entries(values).map(([key, value]) => store.set(key, value)));
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error as Error & { code?: string },
  );
}

/** Registers the contract's tests for `subject`. */
export function describeConfigBackendContract(subject: ConfigBackendSubject): void {
  describe(`ConfigBackend contract: ${subject.name}`, () => {
    let root: string;
    let configDir: string;
    let warnings: [string, string][];
    const create = () => subject.create(configDir, (pluginId, message) => warnings.push([pluginId, message]));
    const fileOf = (pluginId: string) => path.join(configDir, `${pluginId}.json`);
    const readJson = async (pluginId: string) =>
      JSON.parse(await readFile(fileOf(pluginId), "utf8")) as unknown;

    beforeEach(async () => {
      root = await mkdtemp(path.join(tmpdir(), "hangar-config-contract-"));
      configDir = path.join(root, "config");
      warnings = [];
    });
    afterEach(async () => {
      await rm(root, { recursive: true, force: true });
    });

    describe("round trip", () => {
      it("reads back every kind of JSON value, from the same store and from a new backend", async () => {
        const backend = create();
        await setAll(backend, "fleet-board", roundTripValues);
        const store = backend.store("fleet-board");
        for (const [key, value] of Object.entries(roundTripValues))
          expect(await store.get(key)).toEqual(value);
        expect(await store.getAll()).toEqual(roundTripValues);

        const reopened = create().store("fleet-board");
        expect(await reopened.getAll()).toEqual(roundTripValues);
        expect(await reopened.get("ui.theme")).toBe("dark");
        expect(await reopened.get("ui")).toBeUndefined();
        expect(warnings).toEqual([]);
      });

      it("after flush() (a clean stop) keeps the values in <configDir>/<id>.json as one JSON object, and nothing else", async () => {
        const backend = create();
        await backend.store("fleet-board").set("refresh_interval", 30);
        await backend.store("fleet-board").set("quick_links", [{ title: "Ops" }]);
        await backend.flush();
        expect(await readJson("fleet-board")).toEqual({
          refresh_interval: 30,
          quick_links: [{ title: "Ops" }],
        });
        expect((await readdir(configDir)).filter((name) => !name.startsWith("."))).toEqual([
          "fleet-board.json",
        ]);
      });

      it("returns the default for a missing key, and an empty store creates no file", async () => {
        const store = create().store("fresh");
        expect(await store.get("refresh_interval", 30)).toBe(30);
        expect(await store.get("refresh_interval")).toBeUndefined();
        expect(await store.get("nothing", "default")).toBe("default");
        expect(await store.getAll()).toEqual({});
        await store.delete("never-set");
        await expect(readFile(fileOf("fresh"))).rejects.toMatchObject({ code: "ENOENT" });
      });

      it("keeps a stored null distinct from a missing key", async () => {
        const store = create().store("p");
        await store.set("last_sync", null);
        expect(await store.get("last_sync", "default")).toBeNull();
      });

      it("the last of many changes to one key wins, even when made in one tick", async () => {
        const backend = create();
        const store = backend.store("p");
        await Promise.all([
          store.set("k", 1),
          store.set("k", 2),
          store.delete("k"),
          store.set("k", { final: true }),
        ]);
        expect(await store.get("k")).toEqual({ final: true });
        expect(await create().store("p").get("k")).toEqual({ final: true });
      });

      it("lands every one of many concurrent sets", async () => {
        const backend = create();
        const store = backend.store("busy");
        const values = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`key-${i}`, { i }]));
        await setAll(backend, "busy", values);
        expect(await store.getAll()).toEqual(values);
        expect(await create().store("busy").getAll()).toEqual(values);
        await backend.flush();
        expect(await readJson("busy")).toEqual(values);
      });
    });

    describe("copies", () => {
      it("changing the caller's object, or a value handed out, changes nothing stored", async () => {
        const store = create().store("p");
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

      it("a value with an own __proto__ key stays data and pollutes nothing", async () => {
        const store = create().store("p");
        await store.set("k", JSON.parse('{"__proto__": {"polluted": true}}'));
        const read = (await store.get<Record<string, unknown>>("k"))!;
        expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
        expect(Object.hasOwn(read, "__proto__")).toBe(true);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        const reopened = (await create().store("p").get<Record<string, unknown>>("k"))!;
        expect(Object.getPrototypeOf(reopened)).toBe(Object.prototype);
        expect(Object.hasOwn(reopened, "__proto__")).toBe(true);
      });
    });

    describe("validation", () => {
      for (const key of ["__proto__", "constructor", "prototype", ""]) {
        it(`refuses the key ${JSON.stringify(key)} in every method with a TypeError (HANGAR_CONFIG_KEY)`, async () => {
          const store = create().store("strict");
          for (const call of [() => store.set(key, 1), () => store.get(key), () => store.delete(key)]) {
            const error = await rejection(call());
            expect(error).toBeInstanceOf(TypeError);
            expect(error.code).toBe("HANGAR_CONFIG_KEY");
            expect(error.message).toContain("Plugin 'strict' called config.");
          }
        });
      }

      it("refuses a key that is not a string", async () => {
        const error = await rejection(
          create()
            .store("strict")
            .set(42 as unknown as string, 1),
        );
        expect(error).toMatchObject({ code: "HANGAR_CONFIG_KEY" });
        expect(error.message).toMatch(/number key/);
      });

      class Waypoint {
        constructor(readonly ident: string) {}
      }
      const cyclic: Record<string, unknown> = { name: "loop" };
      cyclic.self = cyclic;
      // Deep enough that V8's own recursion (JSON, structured clone) would overflow its stack on the main thread.
      const nested = (levels: number): unknown[] => {
        let value: unknown[] = [];
        for (let i = 1; i < levels; i++) value = [value];
        return value;
      };
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
        [
          "a value nested 5,000 deep",
          { tree: nested(5000) },
          /value is nested deeper than 1,000 levels \(flatten it/,
        ],
      ];
      for (const [what, value, message] of invalid) {
        it(`refuses ${what} with a TypeError (HANGAR_CONFIG_VALUE) naming the key and path, writing nothing`, async () => {
          const backend = create();
          const error = await rejection(backend.store("strict").set("k", value));
          expect(error).toBeInstanceOf(TypeError);
          expect(error.code).toBe("HANGAR_CONFIG_VALUE");
          expect(error.message).toContain("Plugin 'strict' called config.set('k', value)");
          expect(error.message).toMatch(message);
          expect(await backend.store("strict").get("k")).toBeUndefined();
          await backend.flush();
          await expect(readFile(fileOf("strict"))).rejects.toMatchObject({ code: "ENOENT" });
        });
      }
    });

    it("accepts a value nested exactly 1,000 levels deep (hangar's nesting limit)", async () => {
      let deepest: unknown[] = [];
      for (let i = 1; i < 1000; i++) deepest = [deepest];
      await create().store("strict").set("k", deepest);
      expect(JSON.stringify(await create().store("strict").get("k"))).toBe(
        "[".repeat(1000) + "]".repeat(1000),
      );
    });

    it("accepts an object shared twice (not a cycle) and drops undefined properties as JSON does", async () => {
      const store = create().store("strict");
      const shared = { a: 1 };
      const nullProto = Object.assign(Object.create(null) as object, { b: 2 });
      await store.set("k", { x: shared, y: shared, gone: undefined, nullProto });
      const expected = { x: { a: 1 }, y: { a: 1 }, nullProto: { b: 2 } };
      expect(await store.get("k")).toEqual(expected);
      expect(await create().store("strict").get("k")).toEqual(expected);
    });

    describe("delete and getAll", () => {
      it("deletes a key durably and leaves the others", async () => {
        const backend = create();
        await setAll(backend, "p", { stale: 1, kept: 2 });
        await backend.store("p").delete("stale");
        expect(await backend.store("p").get("stale")).toBeUndefined();
        expect(await backend.store("p").getAll()).toEqual({ kept: 2 });
        expect(await create().store("p").getAll()).toEqual({ kept: 2 });
        await backend.flush();
        expect(await readJson("p")).toEqual({ kept: 2 });
        expect(await create().store("p").getAll()).toEqual({ kept: 2 });
      });

      it("getAll returns every key as a fresh plain object", async () => {
        const backend = create();
        await setAll(backend, "p", { a: 1, b: [2] });
        const first = await backend.store("p").getAll();
        expect(Object.getPrototypeOf(first)).toBe(Object.prototype);
        first.a = 99;
        expect(await backend.store("p").getAll()).toEqual({ a: 1, b: [2] });
      });

      it("keeps plugins apart: one plugin never sees another's values", async () => {
        const backend = create();
        await backend.store("first").set("token_hint", "first's");
        await backend.store("second").set("other", 2);
        expect(await backend.store("first").getAll()).toEqual({ token_hint: "first's" });
        expect(await backend.store("second").getAll()).toEqual({ other: 2 });
        expect(backend.store("first")).toBe(backend.store("first"));
      });
    });

    describe("persistence", () => {
      it("flush() waits for writes nobody awaited; a new backend then reads them", async () => {
        const backend = create();
        for (let i = 0; i < 10; i++) void backend.store(`p${i}`).set("n", i);
        await backend.flush();
        const reopened = create();
        for (let i = 0; i < 10; i++) expect(await reopened.store(`p${i}`).get("n")).toBe(i);
      });

      it("reads a file written by hand in the shared format", async () => {
        await mkdir(configDir, { recursive: true });
        await writeFile(fileOf("p"), '\uFEFF{\n\t"a": 1,\n\t"b": {"c": [true]}\n}');
        expect(await create().store("p").getAll()).toEqual({ a: 1, b: { c: [true] } });
      });
    });

    describe("a corrupt or unreadable file", () => {
      for (const [what, content] of [
        ["invalid JSON", '{"refresh_interval": 30,'],
        ["a JSON array", "[1, 2, 3]"],
        ["a JSON string", '"just text"'],
        ["an empty file", ""],
      ] as const) {
        it(`holding ${what} is moved aside with a warning; the store starts empty and saves again`, async () => {
          await mkdir(configDir, { recursive: true });
          await writeFile(fileOf("fleet-board"), content);
          const backend = create();
          const store = backend.store("fleet-board");

          expect(await store.get("refresh_interval", 15)).toBe(15);
          const files = await readdir(configDir);
          const moved = files.find((name) => name.startsWith("fleet-board.json.corrupt-"));
          expect(moved).toBeDefined();
          expect(moved).not.toContain(":");
          expect(await readFile(path.join(configDir, moved!), "utf8")).toBe(content);
          expect(warnings).toHaveLength(1);
          expect(warnings[0]![0]).toBe("fleet-board");
          expect(warnings[0]![1]).toContain(path.join(configDir, moved!));

          await store.set("refresh_interval", 20);
          await backend.flush();
          expect(await readJson("fleet-board")).toEqual({ refresh_interval: 20 });
          expect(await create().store("fleet-board").getAll()).toEqual({ refresh_interval: 20 });
          expect(warnings).toHaveLength(1);
        });
      }

      it("does not touch other plugins' files", async () => {
        await mkdir(configDir, { recursive: true });
        await writeFile(fileOf("broken"), "{");
        await writeFile(fileOf("fine"), JSON.stringify({ a: 1 }));
        const backend = create();
        expect(await backend.store("broken").getAll()).toEqual({});
        expect(await backend.store("fine").getAll()).toEqual({ a: 1 });
        expect(warnings.map(([pluginId]) => pluginId)).toEqual(["broken"]);
      });

      it("ignores a reserved key found in a hand-edited file, with a warning", async () => {
        await mkdir(configDir, { recursive: true });
        await writeFile(fileOf("p"), '{"__proto__": {"polluted": true}, "ok": 1}');
        const store = create().store("p");
        expect(await store.getAll()).toEqual({ ok: 1 });
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(warnings.map(([, message]) => message).join()).toContain("'__proto__'");
      });

      it("that cannot be read rejects with HANGAR_CONFIG_READ, is left alone, and is read again later", async () => {
        // A folder where the file should be: reading fails (EISDIR) even when running as root.
        await mkdir(fileOf("p"), { recursive: true });
        const store = create().store("p");
        const error = await rejection(store.get("k"));
        expect(error.code).toBe("HANGAR_CONFIG_READ");
        expect(error.message).toContain("Plugin 'p' could not read its config file");
        expect((await rejection(store.set("k", 1))).code).toBe("HANGAR_CONFIG_READ");
        expect(await readdir(configDir)).toEqual(["p.json"]);
        expect(warnings).toEqual([]);

        await rm(fileOf("p"), { recursive: true });
        await writeFile(fileOf("p"), JSON.stringify({ k: "readable now" }));
        expect(await store.get("k")).toBe("readable now");
      });
    });
  });
}
