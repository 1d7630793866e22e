// File-backend specifics on real files in a temp dir: group commit, failed writes, the writer thread, exact bytes, temp files.
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFileConfigBackend } from "../../src/context/config-file.js";
import { parseConfigJournal } from "../../src/context/config-journal.js";
import { stopConfigWriter } from "../../src/context/config-writer.js";
import type { JsonValue } from "../../src/sdk/types.js";

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
    await backend.flush();
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
    await backend.flush();
    expect(await readJson(configFile("p"))).toEqual({ mode: "saved", other: 1 });
  });
});

describe("identity", () => {
  it("returns the same store for the same id and says where its file is", () => {
    const backend = createFileConfigBackend({ dataDir });
    expect(backend.store("p")).toBe(backend.store("p"));
    expect(backend.fileOf("p")).toBe(configFile("p"));
  });

  it("refuses an id that could name a path outside the config folder", () => {
    const backend = createFileConfigBackend({ dataDir });
    expect(() => backend.store("../escape")).toThrow(expect.objectContaining({ code: "HANGAR_INTERNAL" }));
  });

  it("an invalid value writes nothing at all", async () => {
    const backend = createFileConfigBackend({ dataDir });
    await expectCode(
      backend.store("p").set("k", () => 1),
      "HANGAR_CONFIG_VALUE",
    );
    expect(backend.writeCount).toBe(0);
  });
});

describe("the bytes on disk", () => {
  // Keys that are not array indexes keep their insertion order in a JS object too, so the two texts compare.
  const key = fc.constantFrom("alpha", "bravo", "charlie", "delta", "echo", 'k"\\n✈');
  // `wait`: await this change before making the next, which ends a group-commit batch.
  const change = fc.record({
    kind: fc.constantFrom("set" as const, "delete" as const),
    name: key,
    value: fc.jsonValue({ maxDepth: 3 }),
    wait: fc.boolean(),
  });

  it('are exactly JSON.stringify(values, null, "\\t") plus a newline, after any mix of sets and deletes', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(change, { maxLength: 30 }), async (changes) => {
        const id = `prop-${runs++}`;
        const model = new Map<string, JsonValue>();
        const calls: Promise<void>[] = [];
        const backend = createFileConfigBackend({ dataDir });
        const store = backend.store(id);
        for (const { kind, name, value, wait } of changes) {
          if (kind === "set") model.set(name, JSON.parse(JSON.stringify(value)) as JsonValue);
          else model.delete(name);
          const call = kind === "set" ? store.set(name, value) : store.delete(name);
          calls.push(call);
          if (wait) await call;
        }
        await Promise.all(calls);
        // What a restart would read (the JSON file with the journal replayed over it), then the folded file.
        const reopened = await createFileConfigBackend({ dataDir }).store(id).getAll();
        expect(JSON.stringify(reopened)).toBe(JSON.stringify(Object.fromEntries(model)));
        await backend.flush();
        await expect(readFile(`${configFile(id)}.journal`)).rejects.toMatchObject({ code: "ENOENT" });
        const text = await readFile(configFile(id), "utf8").catch(() => null);
        if (text === null)
          expect(model.size).toBe(0); // only deletes of missing keys: nothing to write
        else expect(text).toBe(`${JSON.stringify(Object.fromEntries(model), null, "\t")}\n`);
      }),
      { numRuns: 60 },
    );
  });
});

describe("the writer thread", () => {
  it("a write in flight when the thread stops is rejected, and later writes carry the whole file again", async () => {
    const backend = createFileConfigBackend({ dataDir });
    const store = backend.store("p");
    const values = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`key-${i}`, { i }]));
    await Promise.all(Object.entries(values).map(([k, v]) => store.set(k, v)));

    const inFlight = store.set("during-stop", 1);
    await stopConfigWriter();
    const error = await expectCode(inFlight, "HANGAR_CONFIG_WRITE", /Plugin 'p' could not save its config/);
    expect(error.message).toContain("config writer thread");
    expect(await store.get("during-stop")).toBeUndefined();

    // A new thread knows nothing of the file: it must be sent whole, or keys would vanish.
    await store.set("after", 2);
    await backend.flush();
    expect(await readJson(configFile("p"))).toEqual({ ...values, after: 2 });
  });

  it("leaves no temp file behind after many writes, and after flush() no journal either", async () => {
    const backend = createFileConfigBackend({ dataDir });
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => backend.store(`p${i % 3}`).set(`k${i}`, round)));
    }
    expect((await readdir(path.join(dataDir, "config"))).sort()).toEqual([
      "p0.json",
      "p0.json.journal",
      "p1.json",
      "p1.json.journal",
      "p2.json",
      "p2.json.journal",
    ]);
    await backend.flush();
    expect((await readdir(path.join(dataDir, "config"))).sort()).toEqual(["p0.json", "p1.json", "p2.json"]);
  });

  it("keeps a restrictive file mode the user set, and gives it to the journal", async () => {
    if (process.platform === "win32") return;
    const first = createFileConfigBackend({ dataDir });
    await first.store("secret").set("a", 1);
    await first.flush();
    await chmod(configFile("secret"), 0o600);
    const second = createFileConfigBackend({ dataDir });
    await second.store("secret").set("a", 2);
    await second.store("secret").set("a", 3);
    expect((await stat(`${configFile("secret")}.journal`)).mode & 0o777).toBe(0o600);
    await second.flush();
    expect((await stat(configFile("secret"))).mode & 0o777).toBe(0o600);
    expect(await readJson(configFile("secret"))).toEqual({ a: 3 });
  });
});

describe("the journal", () => {
  const journalOf = (id: string) => `${configFile(id)}.journal`;

  it("takes a store's later sets (one flush each), which a restart replays and flush() folds into the JSON file", async () => {
    const backend = createFileConfigBackend({ dataDir, journalIdleMs: 60_000 });
    const store = backend.store("p");
    await store.set("first", 1); // the store's first write: the JSON file itself, and an empty journal
    expect(await readJson(configFile("p"))).toEqual({ first: 1 });
    await store.set("second", { two: 2 });
    await store.delete("first");
    // Acknowledged, in the journal, and not (yet) in the JSON file.
    expect(await readJson(configFile("p"))).toEqual({ first: 1 });
    expect((await stat(journalOf("p"))).size).toBeGreaterThan(0);
    expect(await createFileConfigBackend({ dataDir }).store("p").getAll()).toEqual({ second: { two: 2 } });

    await backend.flush();
    expect(await readFile(configFile("p"), "utf8")).toBe('{\n\t"second": {\n\t\t"two": 2\n\t}\n}\n');
    await expect(stat(journalOf("p"))).rejects.toMatchObject({ code: "ENOENT" });
    // The store goes on after a flush: the next change makes a new journal.
    await store.set("third", 3);
    expect(await createFileConfigBackend({ dataDir }).store("p").getAll()).toEqual({
      second: { two: 2 },
      third: 3,
    });
  });

  it("reads the record format docs/config.md shows", async () => {
    const doc = await readFile(path.join(repoRoot, "docs/config.md"), "utf8");
    const example = /```\n(\d+ [0-9a-f]{8}\n.*\n)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    expect(parseConfigJournal(Buffer.from(example!))).toEqual({
      operations: [["refresh_interval", 60], ["stale_cache"]],
      tornBytes: 0,
    });
  });

  it("ignores a torn tail without a warning, and the store's first write drops it", async () => {
    const backend = createFileConfigBackend({ dataDir });
    await backend.store("p").set("a", 1);
    await backend.store("p").set("b", 2);
    await backend.store("p").set("c", 3);
    const intact = await readFile(journalOf("p"));
    const tails: [string, Buffer][] = [
      ["half a record", intact.subarray(0, intact.length - 5)],
      ["a record whose checksum does not match", Buffer.from(intact.toString().replace('"c",3', '"c",4'))],
      ["zeros after the records", Buffer.concat([intact, Buffer.alloc(4096)])],
      ["a header and no payload", Buffer.concat([intact, Buffer.from("120 0badc0de\n[[")])],
      ["a header that is not one", Buffer.concat([intact, Buffer.from("garbage\n")])],
    ];
    for (const [what, bytes] of tails) {
      await writeFile(journalOf("p"), bytes);
      const warnings: string[] = [];
      const reopened = createFileConfigBackend({ dataDir, onWarning: (_id, m) => warnings.push(m) });
      const expected =
        what === "zeros after the records" || what.startsWith("a header")
          ? { a: 1, b: 2, c: 3 }
          : { a: 1, b: 2 };
      expect(await reopened.store("p").getAll(), what).toEqual(expected);
      expect(warnings, what).toEqual([]);
      // The first write rewrites the JSON file and empties the journal: no later record follows the garbage.
      await reopened.store("p").set("d", what);
      expect((await stat(journalOf("p"))).size, what).toBe(0);
      await reopened.store("p").set("e", what);
      expect(await createFileConfigBackend({ dataDir }).store("p").getAll(), what).toEqual({
        ...expected,
        d: what,
        e: what,
      });
      await reopened.flush();
      await writeFile(journalOf("p"), intact); // a, b, c again for the next case
      await writeFile(configFile("p"), '{"a": 1}');
    }
  });

  it("a journal a crash left is folded in by flush() even when the store only read", async () => {
    await mkdir(path.join(dataDir, "config"), { recursive: true });
    for (const [id, journal] of [
      ["empty", ""],
      ["behind", '12 ae80e4b1\n[["late",1]]\n'],
    ] as const) {
      await writeFile(configFile(id), '{"early": 0}');
      await writeFile(journalOf(id), journal);
    }
    const { crc32 } = await import("node:zlib");
    expect(crc32('[["late",1]]').toString(16).padStart(8, "0")).toBe("ae80e4b1");
    const backend = createFileConfigBackend({ dataDir });
    expect(await backend.store("empty").getAll()).toEqual({ early: 0 });
    expect(await backend.store("behind").getAll()).toEqual({ early: 0, late: 1 });
    await backend.flush();
    expect((await readdir(path.join(dataDir, "config"))).sort()).toEqual(["behind.json", "empty.json"]);
    expect(await readJson(configFile("behind"))).toEqual({ early: 0, late: 1 });
    expect(await readJson(configFile("empty"))).toEqual({ early: 0 });
  });

  it("is folded into the JSON file past journalLimitBytes, without waiting for flush()", async () => {
    const backend = createFileConfigBackend({ dataDir, journalLimitBytes: 400, journalIdleMs: 60_000 });
    const store = backend.store("p");
    for (let n = 0; n < 40; n++) await store.set("n", { n, pad: "x".repeat(20) });
    expect((await stat(journalOf("p"))).size).toBeLessThanOrEqual(400 + 100);
    const folded = (await readJson(configFile("p"))) as { n: { n: number } };
    expect(folded.n.n).toBeGreaterThan(30);
    expect(await createFileConfigBackend({ dataDir }).store("p").get("n")).toEqual({
      n: 39,
      pad: "x".repeat(20),
    });
  });

  it("is folded into the JSON file once the store has been idle for journalIdleMs", async () => {
    const backend = createFileConfigBackend({ dataDir, journalIdleMs: 50 });
    const store = backend.store("p");
    await store.set("n", 1);
    await store.set("n", 2); // in the journal only, until the store has been idle for 50 ms
    await expect.poll(() => readJson(configFile("p")), { timeout: 10_000 }).toEqual({ n: 2 });
    // The fold renames the new JSON file into place first, then empties the journal: wait for its last step.
    await expect.poll(async () => (await stat(journalOf("p"))).size, { timeout: 10_000 }).toBe(0);
  });

  it("a journal deleted while in use fails the set (HANGAR_CONFIG_WRITE) instead of writing into nothing", async () => {
    const backend = createFileConfigBackend({ dataDir, journalIdleMs: 60_000 });
    const store = backend.store("p");
    await store.set("kept", 1);
    await store.set("also", 2);
    await rm(journalOf("p"));
    await expectCode(store.set("lost", 3), "HANGAR_CONFIG_WRITE", /deleted while in use/);
    // The next write starts over from what the store holds: nothing acknowledged is missing.
    await store.set("after", 4);
    expect(await createFileConfigBackend({ dataDir }).store("p").getAll()).toEqual({
      kept: 1,
      also: 2,
      after: 4,
    });
  });
});

describe("temp files left by a killed process", () => {
  it("are deleted when the store loads; those of a live process are left alone", async () => {
    const child = await run(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
    const deadPid = Number(child.stdout);
    await mkdir(path.join(dataDir, "config"), { recursive: true });
    await writeFile(configFile("p"), JSON.stringify({ kept: true }));
    const stale = `p.json.${deadPid}-7.tmp`;
    const live = `p.json.${process.ppid}-3.tmp`;
    const other = `q.json.${deadPid}-1.tmp`;
    for (const name of [stale, live, other]) await writeFile(path.join(dataDir, "config", name), "{");

    expect(await createFileConfigBackend({ dataDir }).store("p").getAll()).toEqual({ kept: true });
    const names = await readdir(path.join(dataDir, "config"));
    expect(names).not.toContain(stale);
    expect(names).toContain(live);
    expect(names).toContain(other);
  });
});

function pathToImport(file: string): string {
  return new URL(`file://${file}`).href;
}
