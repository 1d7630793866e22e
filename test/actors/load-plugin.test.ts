// loadPlugin against real plugin folders: every entry kind, every way a module can fail, and fresh generations.
import { realpath, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type LoadedPlugin, loadPlugin } from "../../src/actors/load-plugin.js";
import { HangarError } from "../../src/errors.js";
import type { PluginContext } from "../../src/sdk/index.js";
import { backgroundManifest, pluginFoldersOfSuite } from "../support/plugin-folders.js";

const fixtures = fileURLToPath(new URL("../fixtures/plugins-load/", import.meta.url));
const fixture = (name: string) => path.join(fixtures, name);

// Generations are process-wide; each test takes its own so that no test sees another's module instances.
let nextGeneration = 1000;
const newGeneration = () => nextGeneration++;

/** A context whose logger records `tag message` lines; the other services are not used by the fixtures. */
function recordingContext(lines: string[]): PluginContext {
  const record = (tag: string, message: string, ...data: unknown[]) => {
    lines.push([tag, message, ...data.map(String)].join(" "));
  };
  const unused = () => {
    throw new Error("not used by the fixtures");
  };
  return {
    pluginId: "fixture",
    logger: { debug: record, info: record, warn: record, error: record },
    config: { get: unused, set: unused, delete: unused, getAll: unused },
    ipc: { handle: unused, send: unused },
    auth: { isAuthenticated: () => false, getToken: () => null },
    server: { registerRouter: unused },
    signal: new AbortController().signal,
  };
}

/** Calls onStart and returns what it logged. */
async function start(loaded: LoadedPlugin): Promise<string[]> {
  const lines: string[] = [];
  await loaded.module?.onStart(recordingContext(lines));
  return lines;
}

async function loadError(folder: string): Promise<HangarError> {
  const error = await loadPlugin(folder, { generation: newGeneration() }).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(HangarError);
  expect((error as HangarError).phase).toBe("load");
  return error as HangarError;
}

describe("loadPlugin: entry kinds", () => {
  it("loads a TypeScript entry with no build step, binding createPlugin's methods to their object", async () => {
    const loaded = await loadPlugin(fixture("ts-default"), { generation: newGeneration() });
    expect(loaded.manifest).toMatchObject({
      id: "ts-default",
      version: "1.0.0",
      ui: { entry: "ui/index.tsx" },
    });
    expect(loaded.entryFile).toBe(await realpath(path.join(fixture("ts-default"), "background", "index.ts")));
    expect(loaded.loadMs).toBeGreaterThanOrEqual(0);
    // Called detached from the returned object: `this.greeting` still works inside the method.
    const onStart = loaded.module!.onStart;
    const lines: string[] = [];
    await onStart(recordingContext(lines));
    expect(lines).toEqual(["counter starts=1 hello"]);
    expect(typeof loaded.module?.onResume).toBe("function");
  });

  it("returns a plain object of functions, not the module namespace", async () => {
    const loaded = await loadPlugin(fixture("ts-named"), { generation: newGeneration() });
    expect(Object.getPrototypeOf(loaded.module)).toBe(Object.prototype);
    expect(Object.keys(loaded.module!).sort()).toEqual(["onStart", "onStop"]);
    expect(loaded.module && "onResume" in loaded.module).toBe(false);
  });

  it.each([
    ["ts-named", ".mts with named exports"],
    ["js-esm", ".js ESM with named exports"],
    ["mjs", ".mjs with a default object"],
    ["cjs", ".cjs module.exports"],
    ["cts", ".cts export ="],
  ])("loads %s (%s) and calls it", async (name) => {
    const loaded = await loadPlugin(fixture(name), { generation: newGeneration() });
    expect(loaded.manifest.id).toBe(name);
    expect(await start(loaded)).toEqual(["counter starts=1"]);
    await expect(Promise.resolve(loaded.module?.onStop())).resolves.toBeUndefined();
  });

  it("returns no module for a UI-only plugin", async () => {
    const loaded = await loadPlugin(fixture("ui-only"), { generation: newGeneration() });
    expect(loaded.module).toBeNull();
    expect(loaded.entryFile).toBeNull();
    expect(loaded.manifest.id).toBe("ui-only");
  });
});

describe("loadPlugin: generations", () => {
  it.each(["ts-default", "js-esm", "cjs", "cts"])(
    "%s: the same generation shares one instance, a new one starts afresh",
    async (name) => {
      const first = newGeneration();
      expect(await start(await loadPlugin(fixture(name), { generation: first }))).toEqual([
        expect.stringMatching(/^counter starts=1\b/),
      ]);
      expect(await start(await loadPlugin(fixture(name), { generation: first }))).toEqual([
        expect.stringMatching(/^counter starts=2\b/),
      ]);
      const second = newGeneration();
      const fresh = await loadPlugin(fixture(name), { generation: second });
      expect(await start(fresh)).toEqual([expect.stringMatching(/^counter starts=1\b/)]);
      // The old generation's instance is untouched by the new one.
      expect(await start(await loadPlugin(fixture(name), { generation: first }))).toEqual([
        expect.stringMatching(/^counter starts=3\b/),
      ]);
    },
  );
});

describe("loadPlugin: broken modules", () => {
  it("reports a module that does not parse, with the file", async () => {
    const error = await loadError(fixture("broken-syntax"));
    expect(error.code).toBe("HANGAR_MODULE_IMPORT");
    expect(error.pluginId).toBe("broken-syntax");
    expect(error.message).toContain(path.join(fixture("broken-syntax"), "index.js"));
  });

  it("reports a module whose top-level code throws, with the cause's message", async () => {
    const error = await loadError(fixture("throws-at-import"));
    expect(error.code).toBe("HANGAR_MODULE_IMPORT");
    expect(error.message).toContain("DATABASE_URL is not set");
    expect(error.message).toContain(path.join(fixture("throws-at-import"), "index.ts"));
    expect((error.cause as Error).message).toBe("DATABASE_URL is not set");
  });

  it("reports a module without onStop, naming the file and what is missing", async () => {
    const error = await loadError(fixture("no-onstop"));
    expect(error.code).toBe("HANGAR_MODULE_CONTRACT");
    expect(error.pluginId).toBe("no-onstop");
    expect(error.message).toContain(path.join(fixture("no-onstop"), "index.ts"));
    expect(error.message).toContain(
      "exports neither a default createPlugin(...) object nor named onStart/onStop; onStop is missing",
    );
  });

  it("reports an export that is not a function", async () => {
    const error = await loadError(fixture("not-a-function"));
    expect(error.code).toBe("HANGAR_MODULE_CONTRACT");
    expect(error.message).toContain("onStart must be a function, got string");
  });

  it("reports a CommonJS module.exports without onStop as a bad default export", async () => {
    const error = await loadError(fixture("default-missing-onstop"));
    expect(error.code).toBe("HANGAR_MODULE_CONTRACT");
    expect(error.message).toContain(
      "has a default export that is not a valid plugin module; onStop is missing",
    );
  });

  it("passes manifest and entry errors through", async () => {
    const error = await loadError(fixtures);
    expect(error.code).toBe("HANGAR_MANIFEST_UNREADABLE");
  });
});

describe("loadPlugin: modules written in a temp folder", () => {
  const plugin = pluginFoldersOfSuite("hangar-load-");
  const manifest = backgroundManifest;

  it("reports a TypeScript syntax error as an import failure", async () => {
    const folder = await plugin("ts-syntax", {
      "plugin.json": manifest("ts-syntax", "index.ts"),
      "index.ts": "export function onStart(: void {}\nexport function onStop() {}\n",
    });
    const error = await loadError(folder);
    expect(error.code).toBe("HANGAR_MODULE_IMPORT");
    expect(error.message).toContain("index.ts");
  });

  it("loads a .ts entry in a CommonJS package", async () => {
    const folder = await plugin("ts-cjs", {
      "plugin.json": manifest("ts-cjs", "index.ts"),
      "package.json": JSON.stringify({ type: "commonjs" }),
      "index.ts": [
        "const helper: { n: number } = require('./helper.ts');",
        "export function onStart(ctx: { logger: { info(t: string, m: string): void } }) {",
        "  ctx.logger.info('counter', 'starts=' + ++helper.n);",
        "}",
        "export function onStop() {}",
      ].join("\n"),
      "helper.ts": "module.exports = { n: 0 };\n",
    });
    const loaded = await loadPlugin(folder, { generation: newGeneration() });
    expect(await start(loaded)).toEqual(["counter starts=1"]);
    const fresh = await loadPlugin(folder, { generation: newGeneration() });
    expect(await start(fresh)).toEqual(["counter starts=1"]);
  });

  it("re-reads the manifest and imports a fixed module in a new generation", async () => {
    const folder = await plugin("fixed-later", {
      "plugin.json": manifest("fixed-later", "index.mjs"),
      "package.json": JSON.stringify({ type: "module" }),
      "index.mjs": "export function onStart() {}\n",
    });
    expect((await loadError(folder)).code).toBe("HANGAR_MODULE_CONTRACT");
    await writeFile(
      path.join(folder, "index.mjs"),
      "export function onStart() {}\nexport function onStop() {}\n",
    );
    const loaded = await loadPlugin(folder, { generation: newGeneration() });
    expect(typeof loaded.module?.onStop).toBe("function");
  });
});
