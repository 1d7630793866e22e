// Issue 13, reloading all day: a generation that an update has stopped is garbage collected (its module scope,
// and whatever that scope holds, goes), observed from a plain `node --expose-gc` child running dist/ through
// createShell, as an app embedding hangar runs it. Each plugin hands a WeakRef to an object of its module scope
// to the host in onStart; after four updates and full collections, only the running generation may be alive.
// Needs dist/ (plain `npx vitest run`, which builds it).

import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { backgroundManifest, pluginFoldersOfSuite } from "../support/plugin-folders.js";

const run = promisify(execFile);
const plugin = pluginFoldersOfSuite("hangar-collectable-");
const distIndex = pathToFileURL(path.resolve("dist/index.js")).href;
const UPDATES = 4;

// What a plugin's module scope holds (100 kB, so a leak would also show in the heap) and hands out weakly.
const moduleScope = `const scope = { payload: new Array(12_500).fill(0) };
const handOut = (ctx) => {
  globalThis.hangarTestGenerations.push({ pluginId: ctx.pluginId, ref: new WeakRef(scope) });
};`;

interface ChildReport {
  /** Per plugin, one entry per generation started, oldest first: is its module scope still alive? */
  alive: Record<string, boolean[]>;
  running: number;
  warnings: string[];
}

/** Starts a shell on `pluginsDir`, updates every plugin UPDATES times, collects, and reports what is alive. */
async function reloadInChild(pluginsDir: string, dataDir: string): Promise<ChildReport> {
  const script = `
    const { createShell } = await import(${JSON.stringify(distIndex)});
    globalThis.hangarTestGenerations = [];
    const warnings = [];
    const shell = createShell({
      plugins: [${JSON.stringify(pluginsDir)}],
      dataDir: ${JSON.stringify(dataDir)},
      server: { port: 0 },
      isolation: "none",
      log: { level: "warn", format: "json", destination: { write: (chunk) => {
        for (const line of String(chunk).split("\\n")) if (line.trim()) warnings.push(JSON.parse(line).msg);
      } } },
    });
    await shell.start();
    const ids = shell.status().plugins.map((p) => p.id);
    for (let i = 0; i < ${UPDATES}; i += 1) await shell.update({ changed: ids });
    for (let i = 0; i < 6; i += 1) { gc(); await new Promise((resolve) => setTimeout(resolve, 20)); }
    const alive = {};
    for (const { pluginId, ref } of globalThis.hangarTestGenerations) {
      (alive[pluginId] ??= []).push(ref.deref() !== undefined);
    }
    const running = shell.status().plugins.filter((p) => p.state === "running").length;
    await shell.stop();
    process.stdout.write(JSON.stringify({ alive, running, warnings }));
  `;
  const { stdout } = await run(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], {
    timeout: 120_000,
  });
  return JSON.parse(stdout) as ChildReport;
}

describe("a stopped generation is garbage collected", () => {
  it("TypeScript and JavaScript plugins keep only the running generation; top-level await is kept, and says so", async () => {
    const ts = await plugin("plugins/reloaded-ts", {
      "plugin.json": backgroundManifest("reloaded-ts", "background/index.ts"),
      "background/index.ts": `import { count } from "./state.js";
${moduleScope}
export function onStart(ctx: { pluginId: string }): void { count(); handOut(ctx); }
export function onStop(): void {}
`,
      "background/state.ts": "let n = 0;\nexport const count = (): number => ++n;\n",
    });
    const js = await plugin("plugins/reloaded-js", {
      "plugin.json": backgroundManifest("reloaded-js", "index.mjs"),
      "index.mjs": `${moduleScope}
export function onStart(ctx) { handOut(ctx); }
export function onStop() {}
`,
    });
    await plugin("plugins/top-level-await", {
      "plugin.json": backgroundManifest("top-level-await", "index.ts"),
      "index.ts": `${moduleScope}
const ready: boolean = await Promise.resolve(true);
export function onStart(ctx: { pluginId: string }): void { if (ready) handOut(ctx); }
export function onStop(): void {}
`,
    });
    const pluginsDir = path.dirname(ts);
    const dataDir = path.join(path.dirname(pluginsDir), "data");
    await mkdir(dataDir, { recursive: true });
    expect(path.dirname(js)).toBe(pluginsDir);

    const report = await reloadInChild(pluginsDir, dataDir);

    expect(report.running).toBe(3);
    const generations = UPDATES + 1;
    // Every generation of a TypeScript plugin is built: all but the running one are gone.
    expect(report.alive["reloaded-ts"]).toEqual([...Array(generations - 1).fill(false), true]);
    // A JavaScript entry's first load is a plain import(), which Node keeps; every reload after it is released.
    expect(report.alive["reloaded-js"]).toEqual([true, ...Array(generations - 2).fill(false), true]);
    // Top-level await needs an ES module, which Node keeps: documented, and the plugin's log says so once.
    expect(report.alive["top-level-await"]).toEqual(Array(generations).fill(true));
    const esmWarnings = report.warnings.filter((line) => line.includes("loaded as an ES module"));
    expect(esmWarnings).toHaveLength(1);
    expect(esmWarnings[0]).toContain("because it uses top-level await");
  }, 180_000);
});
