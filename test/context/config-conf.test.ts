// The conf (electron-store) backend's own behaviour beyond the shared contract: conf's reserved key, files
// that go bad while open, failed writes, and the options each plugin's instance is built with.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import Conf from "conf";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ConfStoreOptions, createConfStoreBackend } from "../../src/context/config-conf.js";

let configDir: string;
let warnings: [string, string][];
beforeEach(async () => {
  configDir = path.join(await mkdtemp(path.join(tmpdir(), "hangar-config-conf-")), "config");
  warnings = [];
});
afterEach(async () => {
  await rm(path.dirname(configDir), { recursive: true, force: true });
});

const backend = () =>
  createConfStoreBackend({
    Store: Conf,
    cwd: configDir,
    onWarning: (id, message) => warnings.push([id, message]),
  });
const fileOf = (id: string) => path.join(configDir, `${id}.json`);

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error as Error & { code?: string },
  );
}

describe("conf backend", () => {
  it("builds each plugin's instance with its id as both names, literal keys and no silent reset", async () => {
    const seen: ConfStoreOptions[] = [];
    class Recording extends Conf {
      constructor(options: ConfStoreOptions) {
        seen.push(options);
        super(options);
      }
    }
    const configs = createConfStoreBackend({ Store: Recording, cwd: configDir });
    await configs.store("fleet-board").get("k");
    await configs.store("fleet-board").set("k", 1);
    expect(seen).toHaveLength(1); // one instance per plugin, kept
    expect(seen[0]).toMatchObject({
      cwd: configDir,
      configName: "fleet-board",
      name: "fleet-board",
      accessPropertiesByDotNotation: false,
      clearInvalidConfig: false,
      watch: false,
    });
    expect(configs.fileOf("fleet-board")).toBe(fileOf("fleet-board"));
  });

  it("refuses conf's own __internal__ key, and hides conf's internal data from getAll", async () => {
    const store = backend().store("p");
    for (const key of ["__internal__", "__internal__.migrations"]) {
      const error = await rejection(store.set(key, 1));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.code).toBe("HANGAR_CONFIG_KEY");
      expect(error.message).toContain("electron-store reserves");
      expect((await rejection(store.get(key))).code).toBe("HANGAR_CONFIG_KEY");
    }

    await mkdir(configDir, { recursive: true });
    await writeFile(
      fileOf("migrated"),
      JSON.stringify({ __internal__: { migrations: { version: "1.0.0" } }, a: 1 }),
    );
    const migrated = backend().store("migrated");
    expect(await migrated.getAll()).toEqual({ a: 1 });
    await migrated.set("b", 2);
    // conf keeps its own data when it rewrites the file.
    expect(JSON.parse(await readFile(fileOf("migrated"), "utf8"))).toEqual({
      __internal__: { migrations: { version: "1.0.0" } },
      a: 1,
      b: 2,
    });
  });

  it("a file corrupted while the store is open is moved aside on the next call, with a warning", async () => {
    const store = backend().store("p");
    await store.set("kept", "before");
    await writeFile(fileOf("p"), '{"kept": "half-written');

    expect(await store.get("kept", "default")).toBe("default");
    const moved = (await readdir(configDir)).filter((name) => name.startsWith("p.json.corrupt-"));
    expect(moved).toHaveLength(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]![1]).toContain(moved[0]);

    await store.set("after", 1);
    expect(JSON.parse(await readFile(fileOf("p"), "utf8"))).toEqual({ after: 1 });
  });

  it("a write that fails rejects with HANGAR_CONFIG_WRITE naming the plugin and the folder, and the old value stays", async () => {
    const store = backend().store("p");
    await store.set("mode", "saved");
    // A file where the folder must be: conf's mkdir and write fail.
    await rm(configDir, { recursive: true });
    await writeFile(configDir, "not a folder");
    const error = await rejection(store.set("mode", "lost"));
    expect(error.code).toBe("HANGAR_CONFIG_WRITE");
    expect(error.message).toContain("Plugin 'p' could not save its config");
    expect(error.message).toContain(configDir);

    await rm(configDir);
    await mkdir(configDir);
    await store.set("mode", "saved again");
    expect(await backend().store("p").get("mode")).toBe("saved again");
  });

  it("a Store class that throws while constructing rejects with HANGAR_CONFIG_READ, and is tried again", async () => {
    let attempts = 0;
    class Flaky extends Conf {
      constructor(options: ConfStoreOptions) {
        attempts++;
        if (attempts === 1) throw new Error("userData is not ready");
        super(options);
      }
    }
    const store = createConfStoreBackend({ Store: Flaky, cwd: configDir }).store("p");
    const error = await rejection(store.get("k"));
    expect(error.code).toBe("HANGAR_CONFIG_READ");
    expect(error.message).toContain("userData is not ready");
    await store.set("k", 1);
    expect(await store.get("k")).toBe(1);
  });
});
