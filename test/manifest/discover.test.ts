// discoverPlugins on real folders: both kinds of path, ignored subfolders, broken manifests and duplicate ids.
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HangarError } from "../../src/errors.js";
import { discoverPlugins } from "../../src/manifest/discover.js";

let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "hangar-discover-"));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function plugin(relative: string, manifest: unknown): Promise<string> {
  const folder = path.join(root, relative);
  await mkdir(folder, { recursive: true });
  const text = typeof manifest === "string" ? manifest : JSON.stringify(manifest);
  await writeFile(path.join(folder, "plugin.json"), text);
  return folder;
}

describe("discoverPlugins", () => {
  it("takes a path that is itself a plugin folder", async () => {
    const folder = await plugin("weather", { id: "weather", version: "1.0.0" });
    const found = await discoverPlugins([folder]);
    expect(found).toEqual([
      {
        folder,
        realFolder: await realpath(folder),
        id: "weather",
        manifest: { id: "weather", version: "1.0.0" },
        error: null,
      },
    ]);
  });

  it("lists the direct subfolders holding a plugin.json, sorted, and ignores the rest", async () => {
    await plugin("plugins/zulu", { id: "zulu", version: "1.0.0" });
    await plugin("plugins/alpha", { id: "alpha", version: "1.0.0" });
    await mkdir(path.join(root, "plugins", "assets"));
    await writeFile(path.join(root, "plugins", "README.md"), "not a plugin");
    await plugin("plugins/alpha/nested", { id: "nested", version: "1.0.0" });
    const found = await discoverPlugins([path.join(root, "plugins")]);
    expect(found.map((plugin) => plugin.id)).toEqual(["alpha", "zulu"]);
    expect(found.every((plugin) => plugin.error === null)).toBe(true);
  });

  it("lists a plugin linked into the plugins folder by a symlink", async () => {
    const real = await plugin("checkout/linked", { id: "linked", version: "1.0.0" });
    await mkdir(path.join(root, "plugins"));
    await symlink(real, path.join(root, "plugins", "linked"), "dir");
    const found = await discoverPlugins([path.join(root, "plugins")]);
    expect(found.map((plugin) => plugin.id)).toEqual(["linked"]);
    // The folder as found, and its real path (resolved once here, reused by the first load).
    expect(found[0]!.folder).toBe(path.join(root, "plugins", "linked"));
    expect(found[0]!.realFolder).toBe(await realpath(real));
  });

  it("lists a folder whose plugin.json is broken under the folder's name, with its error", async () => {
    await plugin("plugins/good", { id: "good", version: "1.0.0" });
    await plugin("plugins/Broken_Folder", "{ not json");
    await plugin("plugins/invalid", { id: "invalid", version: "one" });
    const found = await discoverPlugins([path.join(root, "plugins")]);
    expect(found.map((plugin) => [plugin.id, plugin.error?.code ?? null])).toEqual([
      ["Broken_Folder", "HANGAR_MANIFEST_UNREADABLE"],
      ["good", null],
      ["invalid", "HANGAR_MANIFEST_INVALID"],
    ]);
    const broken = found[0]!;
    expect(broken.manifest).toBeNull();
    expect(broken.error?.pluginId).toBe("Broken_Folder");
    expect(broken.error?.phase).toBe("load");
  });

  it("keeps the first of two folders with one id and errors the later one, naming both", async () => {
    const first = await plugin("a/weather", { id: "weather", version: "1.0.0" });
    const second = await plugin("b/weather-fork", { id: "weather", version: "2.0.0" });
    const found = await discoverPlugins([path.join(root, "b"), path.join(root, "a")]);
    expect(found.map((plugin) => plugin.folder)).toEqual([first, second]);
    expect(found[0]).toMatchObject({ id: "weather", error: null });
    const duplicate = found[1]!;
    expect(duplicate.id).toBe("weather-fork");
    expect(duplicate.error?.code).toBe("HANGAR_MANIFEST_DUPLICATE_ID");
    expect(duplicate.error?.message).toContain(first);
    expect(duplicate.error?.message).toContain(second);
    expect(duplicate.error?.pluginId).toBe("weather-fork");
  });

  it("never lists two plugins under one id, suffixing a taken folder name with ~2, ~3", async () => {
    await plugin("one/alpha", { id: "x", version: "1.0.0" });
    await plugin("one/beta", { id: "x", version: "1.0.0" }); // duplicate; its name "beta" is declared below
    await plugin("one/gamma", { id: "beta", version: "1.0.0" });
    await plugin("two/x", "{"); // broken; its name "x" is declared by alpha
    await plugin("three/x", "{"); // broken too; "x" and "x~2" are taken
    const found = await discoverPlugins(["one", "two", "three"].map((name) => path.join(root, name)));
    const ids = found.map((plugin) => plugin.id);
    expect(new Set(ids).size).toBe(ids.length);
    const byFolder = Object.fromEntries(found.map((plugin) => [path.relative(root, plugin.folder), plugin]));
    expect(byFolder["one/alpha"]).toMatchObject({ id: "x", error: null });
    expect(byFolder["one/gamma"]).toMatchObject({ id: "beta", error: null });
    expect(byFolder["one/beta"]?.id).toBe("beta~2");
    expect(byFolder["one/beta"]?.error?.code).toBe("HANGAR_MANIFEST_DUPLICATE_ID");
    expect(byFolder["three/x"]?.id).toBe("x~2");
    expect(byFolder["two/x"]?.id).toBe("x~3");
    expect(byFolder["two/x"]?.error?.pluginId).toBe("x~3");
  });

  it("lists a folder reached through two paths once", async () => {
    const folder = await plugin("plugins/solo", { id: "solo", version: "1.0.0" });
    const found = await discoverPlugins([path.join(root, "plugins"), folder]);
    expect(found).toHaveLength(1);
    expect(found[0]?.error).toBeNull();
  });

  it("throws HANGAR_SHELL_OPTIONS naming a path that does not exist", async () => {
    const missing = path.join(root, "nope");
    const error = await discoverPlugins([missing]).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(HangarError);
    expect((error as HangarError).code).toBe("HANGAR_SHELL_OPTIONS");
    expect((error as HangarError).message).toContain(missing);
  });

  it("throws HANGAR_SHELL_OPTIONS for a path that is a file", async () => {
    const file = path.join(root, "plugin.json");
    await writeFile(file, "{}");
    const error = await discoverPlugins([file]).catch((thrown: unknown) => thrown);
    expect((error as HangarError).code).toBe("HANGAR_SHELL_OPTIONS");
  });
});
