// The build cache (src/loader/build-cache.ts, docs/loader.md "Build cache"), through loadPlugin with real plugin
// folders in a temp dir and a real cache folder: an unchanged TypeScript plugin is taken from the cache (and its
// code runs as built); editing the entry, editing an imported helper, adding a file that shadows an import, a
// package that shadows the one found above, a linked helper, folder or package repointed elsewhere, or an edited
// tsconfig.json (whose options esbuild reads), each
// rebuilds; another esbuild version or builder is another entry; a folder that cannot be written is a debug
// line, not a failure.

import { mkdir, mkdtemp, readdir, realpath, rename, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPlugin } from "../../src/actors/load-plugin.js";
import { cacheFileFor, cacheFileName, readCachedBuild } from "../../src/loader/build-cache.js";
import type { PluginContext } from "../../src/sdk/index.js";
import { backgroundManifest, pluginFoldersOfSuite } from "../support/plugin-folders.js";

const plugin = pluginFoldersOfSuite("hangar-build-cache-");
let cacheDir = "";
const previousSetting = process.env.HANGAR_BUILD_CACHE;
beforeAll(async () => {
  cacheDir = await realpath(await mkdtemp(path.join(os.tmpdir(), "hangar-build-cache-dir-")));
  process.env.HANGAR_BUILD_CACHE = cacheDir;
});
afterAll(async () => {
  if (previousSetting === undefined) delete process.env.HANGAR_BUILD_CACHE;
  else process.env.HANGAR_BUILD_CACHE = previousSetting;
  await rm(cacheDir, { recursive: true, force: true });
});

let nextGeneration = 1;

/**
 * Loads a new generation of the plugin, starts it and returns what onStart logged, with the loader's debug line
 * about the cache: on a hit it comes before the load returns, on a miss once the builder thread has written (or
 * not written) the entry, so the next load sees it.
 */
async function load(folder: string): Promise<{ lines: string[]; cache: string }> {
  // Files written in the last few ms are not cached (they may have changed while being built): let them settle.
  await new Promise((resolve) => setTimeout(resolve, 30));
  let told: (message: string) => void = () => {};
  const cache = new Promise<string>((resolve) => {
    told = resolve;
  });
  const loaded = await loadPlugin(folder, {
    generation: nextGeneration++,
    debug: (message) => told(message),
  });
  const lines: string[] = [];
  const record = (message: string) => {
    lines.push(message);
  };
  await loaded.module?.onStart({
    pluginId: loaded.manifest.id,
    logger: { debug: record, info: record, warn: record, error: record },
  } as unknown as PluginContext);
  return { lines, cache: await cache };
}

/** Points the link at `link` to `target` instead, in one step (as `ln -sfn` does). */
async function relink(target: string, link: string): Promise<void> {
  await symlink(target, `${link}.new`);
  await rename(`${link}.new`, link);
}

const HIT = /taken from the build cache/;
const KEPT = /kept in the build cache/;

const entry = (body: string) => `import { label } from "./label.js";
export function onStart(ctx: { logger: { info(m: string): void } }): void { ctx.logger.info(${body}); }
export function onStop(): void {}
`;

describe("an unchanged TypeScript plugin", () => {
  it("is built once, then taken from the cache, and runs the same", async () => {
    const folder = await plugin("unchanged", {
      "plugin.json": backgroundManifest("unchanged", "background/index.ts"),
      "background/index.ts": entry("label('one')"),
      "background/label.ts": "export const label = (s: string): string => 'label:' + s;\n",
    });
    const first = await load(folder);
    expect(first.cache).toMatch(/built \(not built before\); kept in the build cache/);
    expect(first.lines).toEqual(["label:one"]);
    const second = await load(folder);
    expect(second.cache).toMatch(HIT);
    expect(second.lines).toEqual(["label:one"]);
    expect((await readdir(cacheDir)).filter((name) => name.endsWith(".json")).length).toBeGreaterThan(0);
  });
});

describe("what rebuilds", () => {
  it("an edited entry", async () => {
    const files = {
      "plugin.json": backgroundManifest("edited-entry", "background/index.ts"),
      "background/index.ts": entry("label('before')"),
      "background/label.ts": "export const label = (s: string): string => s;\n",
    };
    const folder = await plugin("edited-entry", files);
    expect((await load(folder)).cache).toMatch(KEPT);
    await writeFile(path.join(folder, "background/index.ts"), entry("label('after')"));
    const edited = await load(folder);
    expect(edited.cache).toMatch(/built \(.*background\/index\.ts changed\)/);
    expect(edited.lines).toEqual(["after"]);
    expect((await load(folder)).cache).toMatch(HIT);
  });

  it("an edited helper the entry imports", async () => {
    const folder = await plugin("edited-helper", {
      "plugin.json": backgroundManifest("edited-helper", "background/index.ts"),
      "background/index.ts": entry("label('x')"),
      "background/label.ts": "export const label = (s: string): string => 'old ' + s;\n",
    });
    expect((await load(folder)).lines).toEqual(["old x"]);
    await writeFile(
      path.join(folder, "background/label.ts"),
      "export const label = (s: string): string => 'new ' + s;\n",
    );
    const edited = await load(folder);
    expect(edited.cache).toMatch(/built \(.*background\/label\.ts changed\)/);
    expect(edited.lines).toEqual(["new x"]);
  });

  it("a new file that shadows an import (./label finds label.ts before label.js)", async () => {
    const folder = await plugin("shadowed-file", {
      "plugin.json": backgroundManifest("shadowed-file", "background/index.ts"),
      "background/index.ts": entry("label('y')").replace('"./label.js"', '"./label"'),
      "background/label.js": "export const label = (s) => 'js ' + s;\n",
    });
    expect((await load(folder)).lines).toEqual(["js y"]);
    await writeFile(
      path.join(folder, "background/label.ts"),
      "export const label = (s: string): string => 'ts ' + s;\n",
    );
    const shadowed = await load(folder);
    expect(shadowed.cache).toMatch(/built \(the files in .*background changed\)/);
    expect(shadowed.lines).toEqual(["ts y"]);
  });

  it("a package installed in the plugin that shadows the one found in a folder above", async () => {
    await plugin("outer-package-holder", {
      "node_modules/flavour/package.json": JSON.stringify({
        name: "flavour",
        version: "1.0.0",
        main: "index.js",
      }),
      "node_modules/flavour/index.js": "exports.flavour = 'outer';\n",
    });
    // The package is in <suite>/outer-package-holder/node_modules: the plugin lives inside that folder.
    const folder = await plugin("outer-package-holder/shadowed-package", {
      "plugin.json": backgroundManifest("shadowed-package", "index.ts"),
      // Already there: installing the package then changes node_modules, not the plugin folder's own listing.
      "node_modules/.keep": "",
      "index.ts": `import { flavour } from "flavour";
export function onStart(ctx: { logger: { info(m: string): void } }): void { ctx.logger.info(flavour); }
export function onStop(): void {}
`,
    });
    expect((await load(folder)).lines).toEqual(["outer"]);
    await mkdir(path.join(folder, "node_modules/flavour"), { recursive: true });
    await writeFile(
      path.join(folder, "node_modules/flavour/package.json"),
      JSON.stringify({ name: "flavour", version: "2.0.0", main: "index.js" }),
    );
    await writeFile(path.join(folder, "node_modules/flavour/index.js"), "exports.flavour = 'inner';\n");
    const shadowed = await load(folder);
    expect(shadowed.cache).toMatch(/built \(.*shadowed-package\/node_modules\/flavour appeared\)/);
    expect(shadowed.lines).toEqual(["inner"]);
  });

  it("a linked helper repointed at another file (esbuild reports only the file the link reached)", async () => {
    const folder = await plugin("relinked-helper", {
      "plugin.json": backgroundManifest("relinked-helper", "background/index.ts"),
      "background/index.ts": entry("label('l')").replace('"./label.js"', '"./label"'),
      "shared/one.ts": "export const label = (s: string): string => 'one ' + s;\n",
      "shared/two.ts": "export const label = (s: string): string => 'two ' + s;\n",
    });
    await symlink(path.join(folder, "shared/one.ts"), path.join(folder, "background/label.ts"));
    expect((await load(folder)).lines).toEqual(["one l"]);
    await relink(path.join(folder, "shared/two.ts"), path.join(folder, "background/label.ts"));
    const relinked = await load(folder);
    expect(relinked.cache).toMatch(/built \(the files in .*background changed\)/);
    expect(relinked.lines).toEqual(["two l"]);
  });

  it("a linked helper folder repointed at another folder", async () => {
    const folder = await plugin("relinked-folder", {
      "plugin.json": backgroundManifest("relinked-folder", "background/index.ts"),
      "background/index.ts": entry("label('d')").replace('"./label.js"', '"./label"'),
      "v1/index.ts": "export const label = (s: string): string => 'v1 ' + s;\n",
      "v2/index.ts": "export const label = (s: string): string => 'v2 ' + s;\n",
    });
    await symlink(path.join(folder, "v1"), path.join(folder, "background/label"));
    expect((await load(folder)).lines).toEqual(["v1 d"]);
    await relink(path.join(folder, "v2"), path.join(folder, "background/label"));
    const relinked = await load(folder);
    expect(relinked.cache).toMatch(/built \(the files in .*background changed\)/);
    expect(relinked.lines).toEqual(["v2 d"]);
  });

  it("a linked package (npm link, workspaces) repointed at another checkout of the same version", async () => {
    const checkout = (name: string) => ({
      [`${name}/package.json`]: JSON.stringify({ name: "linked", version: "1.0.0", main: "index.js" }),
      [`${name}/index.js`]: `exports.flavour = '${name}';\n`,
    });
    const folder = await plugin("relinked-package", {
      "plugin.json": backgroundManifest("relinked-package", "index.ts"),
      ...checkout("clone1"),
      ...checkout("clone2"),
      "node_modules/.keep": "",
      "index.ts": `import { flavour } from "linked";
export function onStart(ctx: { logger: { info(m: string): void } }): void { ctx.logger.info(flavour); }
export function onStop(): void {}
`,
    });
    await symlink(path.join(folder, "clone1"), path.join(folder, "node_modules/linked"));
    expect((await load(folder)).lines).toEqual(["clone1"]);
    await relink(path.join(folder, "clone2"), path.join(folder, "node_modules/linked"));
    const relinked = await load(folder);
    expect(relinked.cache).toMatch(/built \(.*node_modules\/linked now leads to .*clone2\)/);
    expect(relinked.lines).toEqual(["clone2"]);
  });

  it("an edited tsconfig.json (esbuild reads its options: here `paths`)", async () => {
    // The entry two folders down, so that only the tsconfig.json probe sees the edit.
    const tsconfig = (target: string) =>
      JSON.stringify({ compilerOptions: { paths: { "@label": [target] } } });
    const folder = await plugin("tsconfig-paths", {
      "plugin.json": backgroundManifest("tsconfig-paths", "src/background/index.ts"),
      "tsconfig.json": tsconfig("./src/a.ts"),
      "src/a.ts": "export const label = (s: string): string => 'a ' + s;\n",
      "src/b.ts": "export const label = (s: string): string => 'b ' + s;\n",
      "src/background/index.ts": entry("label('z')").replace('"./label.js"', '"@label"'),
    });
    expect((await load(folder)).lines).toEqual(["a z"]);
    await writeFile(path.join(folder, "tsconfig.json"), tsconfig("./src/b.ts"));
    const changed = await load(folder);
    expect(changed.cache).toMatch(/built \(.*tsconfig-paths\/tsconfig\.json changed\)/);
    expect(changed.lines).toEqual(["b z"]);
  });
});

describe("the key", () => {
  it("another esbuild version or builder code is another entry", async () => {
    const folder = await plugin("keyed", {
      "plugin.json": backgroundManifest("keyed", "index.ts"),
      "index.ts": entry("label('k')"),
      "label.ts": "export const label = (s: string): string => s;\n",
    });
    expect((await load(folder)).cache).toMatch(KEPT);
    const entryFile = path.join(folder, "index.ts");
    const file = await cacheFileFor(entryFile, folder);
    expect(file).not.toBeNull();
    expect("built" in (await readCachedBuild(file!, entryFile))).toBe(true);
    const base = { esbuild: "0.25.0", builder: "a".repeat(64), entryFile, folder };
    const names = new Set([
      cacheFileName(base),
      cacheFileName({ ...base, esbuild: "0.25.1" }),
      cacheFileName({ ...base, builder: "b".repeat(64) }),
      path.basename(file!),
    ]);
    expect(names.size).toBe(4);
    const other = path.join(path.dirname(file!), cacheFileName({ ...base, esbuild: "0.0.1" }));
    expect(await readCachedBuild(other, entryFile)).toEqual({ miss: "not built before" });
  });
});

describe("a cache folder that cannot be written", () => {
  it("is a debug line; the plugin loads and runs", async () => {
    const folder = await plugin("unwritable", {
      "plugin.json": backgroundManifest("unwritable", "index.ts"),
      "index.ts": entry("label('still runs')"),
      "label.ts": "export const label = (s: string): string => s;\n",
      // A file where the cache folder's parent should be: mkdir fails with ENOTDIR (even for root).
      "not-a-folder": "",
    });
    const previous = process.env.HANGAR_BUILD_CACHE;
    process.env.HANGAR_BUILD_CACHE = path.join(folder, "not-a-folder", "cache");
    try {
      const loaded = await load(folder);
      expect(loaded.lines).toEqual(["still runs"]);
      expect(loaded.cache).toMatch(
        /the build cache in .*not-a-folder\/cache could not be written \(.*ENOTDIR/,
      );
    } finally {
      process.env.HANGAR_BUILD_CACHE = previous;
    }
  });
});
