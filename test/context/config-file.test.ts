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
        const store = createFileConfigBackend({ dataDir }).store(id);
        const model = new Map<string, JsonValue>();
        const calls: Promise<void>[] = [];
        for (const { kind, name, value, wait } of changes) {
          if (kind === "set") model.set(name, JSON.parse(JSON.stringify(value)) as JsonValue);
          else model.delete(name);
          const call = kind === "set" ? store.set(name, value) : store.delete(name);
          calls.push(call);
          if (wait) await call;
        }
        await Promise.all(calls);
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
    expect(await readJson(configFile("p"))).toEqual({ ...values, after: 2 });
  });

  it("leaves no temp file behind after many writes", async () => {
    const backend = createFileConfigBackend({ dataDir });
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => backend.store(`p${i % 3}`).set(`k${i}`, round)));
    }
    expect((await readdir(path.join(dataDir, "config"))).sort()).toEqual(["p0.json", "p1.json", "p2.json"]);
  });

  it("keeps a restrictive file mode the user set", async () => {
    if (process.platform === "win32") return;
    await createFileConfigBackend({ dataDir }).store("secret").set("a", 1);
    await chmod(configFile("secret"), 0o600);
    await createFileConfigBackend({ dataDir }).store("secret").set("a", 2);
    expect((await stat(configFile("secret"))).mode & 0o777).toBe(0o600);
    expect(await readJson(configFile("secret"))).toEqual({ a: 2 });
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
