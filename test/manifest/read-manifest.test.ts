// readManifest and resolveEntryModule against real files: bad JSON, schema errors and every way out of the folder.
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HangarError } from "../../src/errors.js";
import { readManifest, resolveEntryModule } from "../../src/manifest/read-manifest.js";

let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "hangar-manifest-"));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function plugin(name: string, manifest: unknown, files: Record<string, string> = {}): Promise<string> {
  const folder = path.join(root, name);
  await mkdir(folder, { recursive: true });
  const text = typeof manifest === "string" ? manifest : JSON.stringify(manifest);
  await writeFile(path.join(folder, "plugin.json"), text);
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(folder, file)), { recursive: true });
    await writeFile(path.join(folder, file), content);
  }
  return folder;
}

async function caught(promise: Promise<unknown>): Promise<HangarError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(HangarError);
  return error as HangarError;
}

describe("readManifest", () => {
  it("returns the manifest and keeps unknown top-level keys", async () => {
    const folder = await plugin("weather", {
      id: "weather",
      version: "1.2.3",
      name: "Weather",
      background: { entryModule: "background/index.ts", startTimeoutMs: 2000 },
      dependsOn: ["auth-bridge"],
      ui: { entry: "ui/index.tsx", routes: ["/weather"] },
    });
    const manifest = await readManifest(folder);
    expect(manifest).toEqual({
      id: "weather",
      version: "1.2.3",
      name: "Weather",
      background: { entryModule: "background/index.ts", startTimeoutMs: 2000 },
      dependsOn: ["auth-bridge"],
      ui: { entry: "ui/index.tsx", routes: ["/weather"] },
    });
  });

  it("accepts a file saved with a UTF-8 byte order mark", async () => {
    const folder = await plugin("bom", `\uFEFF${JSON.stringify({ id: "bom", version: "1.0.0" })}`);
    await expect(readManifest(folder)).resolves.toMatchObject({ id: "bom" });
  });

  it("reports a missing plugin.json as unreadable, naming the file", async () => {
    const folder = path.join(root, "empty");
    await mkdir(folder);
    const error = await caught(readManifest(folder));
    expect(error.code).toBe("HANGAR_MANIFEST_UNREADABLE");
    expect(error.phase).toBe("load");
    expect(error.pluginId).toBe("empty");
    expect(error.message).toContain(path.join(folder, "plugin.json"));
    expect(error.message).toContain("does not exist");
  });

  it("reports bad JSON with the parser's message and the file path", async () => {
    const folder = await plugin("broken", '{ "id": "broken", "version": "1.0.0", }');
    const error = await caught(readManifest(folder));
    expect(error.code).toBe("HANGAR_MANIFEST_UNREADABLE");
    expect(error.pluginId).toBe("broken");
    expect(error.message).toContain(path.join(folder, "plugin.json"));
    expect(error.message).toContain("is not valid JSON");
    let parseMessage = "";
    try {
      JSON.parse('{ "id": "broken", "version": "1.0.0", }');
    } catch (parseError) {
      parseMessage = (parseError as Error).message;
    }
    expect(error.message).toContain(parseMessage);
  });

  it.each([
    ["an id with capitals", { id: "Weather", version: "1.0.0" }, "at id"],
    ["an id that is too long", { id: `a${"b".repeat(64)}`, version: "1.0.0" }, "at id"],
    ["a missing id", { version: "1.0.0" }, "at id"],
    ["a version that is not semver", { id: "w", version: "1.0" }, "not a semver version"],
    [
      "a zero timeout",
      { id: "w", version: "1.0.0", background: { entryModule: "a.ts", stopTimeoutMs: 0 } },
      "at background.stopTimeoutMs",
    ],
    [
      "a fractional timeout",
      { id: "w", version: "1.0.0", background: { entryModule: "a.ts", startTimeoutMs: 1.5 } },
      "at background.startTimeoutMs",
    ],
    [
      "an entry with an unknown extension",
      { id: "w", version: "1.0.0", background: { entryModule: "main.py" } },
      ".ts .js .mjs .cjs .mts .cts",
    ],
    [
      "a background without entryModule",
      { id: "w", version: "1.0.0", background: {} },
      "at background.entryModule",
    ],
    [
      "a misspelt background key",
      { id: "w", version: "1.0.0", background: { entryModule: "a.ts", startTimeoutMS: 5 } },
      "startTimeoutMS",
    ],
    ["a dependsOn on itself", { id: "w", version: "1.0.0", dependsOn: ["w"] }, "cannot depend on itself"],
    ["a dependsOn with a bad id", { id: "w", version: "1.0.0", dependsOn: ["Not An Id"] }, "at dependsOn[0]"],
    ["a manifest that is an array", [], "expected object"],
  ])("rejects %s with the field named", async (_label, manifest, expected) => {
    const folder = await plugin("invalid", manifest);
    const error = await caught(readManifest(folder));
    expect(error.code).toBe("HANGAR_MANIFEST_INVALID");
    expect(error.phase).toBe("load");
    expect(error.pluginId).toBe("invalid");
    expect(error.message).toContain(path.join(folder, "plugin.json"));
    expect(error.message).toContain(expected);
  });
});

describe("resolveEntryModule", () => {
  const manifestWith = (entryModule: string) => ({ id: "p", version: "1.0.0", background: { entryModule } });

  it("returns the real absolute path of an entry inside the folder", async () => {
    const folder = await plugin("p", manifestWith("background/index.ts"), { "background/index.ts": "" });
    const manifest = await readManifest(folder);
    const entry = await resolveEntryModule(folder, manifest);
    expect(path.isAbsolute(entry)).toBe(true);
    expect(entry.endsWith(path.join("p", "background", "index.ts"))).toBe(true);
  });

  it("follows a symlink that stays inside the folder", async () => {
    const folder = await plugin("p", manifestWith("entry.ts"), { "src/real.ts": "" });
    await symlink(path.join(folder, "src", "real.ts"), path.join(folder, "entry.ts"));
    const entry = await resolveEntryModule(folder, await readManifest(folder));
    expect(entry.endsWith(path.join("p", "src", "real.ts"))).toBe(true);
  });

  it("accepts a plugin folder that is itself a symlink", async () => {
    const folder = await plugin("p", manifestWith("index.ts"), { "index.ts": "" });
    const linked = path.join(root, "linked");
    await symlink(folder, linked, "dir");
    const entry = await resolveEntryModule(linked, await readManifest(linked));
    expect(entry.endsWith(path.join("p", "index.ts"))).toBe(true);
  });

  it("rejects an entry that escapes by ..", async () => {
    await writeFile(path.join(root, "outside.ts"), "");
    const folder = await plugin("p", manifestWith("../outside.ts"));
    const error = await caught(resolveEntryModule(folder, await readManifest(folder)));
    expect(error.code).toBe("HANGAR_ENTRY_OUTSIDE_PLUGIN");
    expect(error.pluginId).toBe("p");
    expect(error.phase).toBe("load");
    expect(error.message).toContain("../outside.ts");
  });

  it("rejects an entry that escapes by .. in the middle of the path", async () => {
    await writeFile(path.join(root, "outside.ts"), "");
    const folder = await plugin("p", manifestWith("background/../../outside.ts"), { "background/x.ts": "" });
    const error = await caught(resolveEntryModule(folder, await readManifest(folder)));
    expect(error.code).toBe("HANGAR_ENTRY_OUTSIDE_PLUGIN");
  });

  it("rejects an absolute entry path", async () => {
    const outside = path.join(root, "outside.ts");
    await writeFile(outside, "");
    const folder = await plugin("p", manifestWith(outside));
    const error = await caught(resolveEntryModule(folder, await readManifest(folder)));
    expect(error.code).toBe("HANGAR_ENTRY_OUTSIDE_PLUGIN");
    expect(error.message).toContain("absolute path");
  });

  it("rejects an entry that is a symlink to a file outside the folder", async () => {
    const outside = path.join(root, "outside.ts");
    await writeFile(outside, "");
    const folder = await plugin("p", manifestWith("index.ts"));
    await symlink(outside, path.join(folder, "index.ts"));
    const error = await caught(resolveEntryModule(folder, await readManifest(folder)));
    expect(error.code).toBe("HANGAR_ENTRY_OUTSIDE_PLUGIN");
    expect(error.message).toContain("symlink");
  });

  it("rejects an entry below a symlinked folder that leads outside", async () => {
    await mkdir(path.join(root, "elsewhere"));
    await writeFile(path.join(root, "elsewhere", "index.ts"), "");
    const folder = await plugin("p", manifestWith("background/index.ts"));
    await symlink(path.join(root, "elsewhere"), path.join(folder, "background"), "dir");
    const error = await caught(resolveEntryModule(folder, await readManifest(folder)));
    expect(error.code).toBe("HANGAR_ENTRY_OUTSIDE_PLUGIN");
  });

  it("reports a missing entry module", async () => {
    const folder = await plugin("p", manifestWith("background/index.ts"));
    const error = await caught(resolveEntryModule(folder, await readManifest(folder)));
    expect(error.code).toBe("HANGAR_ENTRY_NOT_FOUND");
    expect(error.message).toContain("background/index.ts");
    expect(error.message).toContain("'p'");
  });

  it("reports a directory named like a module as not found", async () => {
    const folder = await plugin("p", manifestWith("index.ts"));
    await mkdir(path.join(folder, "index.ts"));
    const error = await caught(resolveEntryModule(folder, await readManifest(folder)));
    expect(error.code).toBe("HANGAR_ENTRY_NOT_FOUND");
  });

  it("rejects a symlink whose target has an extension hangar cannot load", async () => {
    const folder = await plugin("p", manifestWith("index.ts"), { "index.txt": "" });
    await symlink(path.join(folder, "index.txt"), path.join(folder, "index.ts"));
    const error = await caught(resolveEntryModule(folder, await readManifest(folder)));
    expect(error.code).toBe("HANGAR_MANIFEST_INVALID");
  });
});
