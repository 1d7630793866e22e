// Temp-dir plugin folders for the benches: N tiny lifecycle plugins, or one plugin serving a shared router.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

/** A temp dir holding `plugins/` and `data/`; `cleanup()` removes it. */
export interface BenchWorkspace {
  root: string;
  pluginsDir: string;
  dataDir: string;
  cleanup(): Promise<void>;
}

export async function createBenchWorkspace(): Promise<BenchWorkspace> {
  const root = await mkdtemp(path.join(os.tmpdir(), "hangar-bench-"));
  const pluginsDir = path.join(root, "plugins");
  const dataDir = path.join(root, "data");
  await mkdir(pluginsDir, { recursive: true });
  await writeFile(path.join(root, "package.json"), JSON.stringify({ type: "module" }));
  return { root, pluginsDir, dataDir, cleanup: () => rm(root, { recursive: true, force: true }) };
}

async function writePlugin(
  pluginsDir: string,
  id: string,
  source: string,
  manifest: Record<string, unknown> = {},
): Promise<void> {
  const folder = path.join(pluginsDir, id);
  await mkdir(path.join(folder, "background"), { recursive: true });
  await writeFile(path.join(folder, "background", "index.mjs"), source);
  await writeFile(
    path.join(folder, "plugin.json"),
    JSON.stringify({
      id,
      version: "1.0.0",
      background: { entryModule: "background/index.mjs" },
      ...manifest,
    }),
  );
}

/** Id of the i-th generated lifecycle plugin; zero-padded so folder order is numeric order. */
export const lifecyclePluginId = (i: number) => `p-${String(i).padStart(5, "0")}`;

/**
 * Writes `n` plugins, each its own tiny module whose onStart/onStop only touch module state, so that what
 * is measured is the engine around them. Written in batches: 10,000 folders at once would exhaust file handles.
 */
export async function writeLifecyclePlugins(pluginsDir: string, n: number): Promise<void> {
  const source = `let running = false;
export async function onStart(ctx) { running = ctx.pluginId.length > 0; }
export async function onStop() { running = false; }
`;
  for (let from = 0; from < n; from += 256) {
    const batch = [];
    for (let i = from; i < Math.min(n, from + 256); i += 1)
      batch.push(writePlugin(pluginsDir, lifecyclePluginId(i), source));
    await Promise.all(batch);
  }
}

/**
 * Writes `n` plugins, every other one TypeScript: `background/index.ts` importing `./state.ts` (as `./state.js`,
 * TypeScript's convention), the others `background/index.mjs` importing `./state.mjs`. Each plugin's own
 * relative import is what a reload must evaluate afresh.
 */
export async function writeMixedPlugins(pluginsDir: string, n: number): Promise<void> {
  const write = async (i: number) => {
    const id = lifecyclePluginId(i);
    const folder = path.join(pluginsDir, id);
    const ts = i % 2 === 0;
    await mkdir(path.join(folder, "background"), { recursive: true });
    const entry = ts ? "background/index.ts" : "background/index.mjs";
    await writeFile(
      path.join(folder, entry),
      ts
        ? `import { bump, reset } from "./state.js";
interface Ctx { pluginId: string }
export async function onStart(ctx: Ctx): Promise<void> { bump(ctx.pluginId.length); }
export async function onStop(): Promise<void> { reset(); }
`
        : `import { bump, reset } from "./state.mjs";
export async function onStart(ctx) { bump(ctx.pluginId.length); }
export async function onStop() { reset(); }
`,
    );
    await writeFile(
      path.join(folder, "background", ts ? "state.ts" : "state.mjs"),
      ts
        ? "let total: number = 0;\nexport function bump(by: number): void { total += by; }\nexport function reset(): void { total = 0; }\n"
        : "let total = 0;\nexport function bump(by) { total += by; }\nexport function reset() { total = 0; }\n",
    );
    await writeFile(
      path.join(folder, "plugin.json"),
      JSON.stringify({ id, version: "1.0.0", background: { entryModule: entry } }),
    );
  };
  for (let from = 0; from < n; from += 256) {
    const batch = [];
    for (let i = from; i < Math.min(n, from + 256); i += 1) batch.push(write(i));
    await Promise.all(batch);
  }
}

/** The file URL of the repo's express, so generated modules outside the repo import the very same package. */
function expressUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve("express")).href;
}

/**
 * Writes `router.mjs` at the workspace root: `createBenchRouter()` builds the router every route bench serves,
 * on the shell and on bare Express alike. `GET /ping` answers a small JSON document.
 */
export async function writeBenchRouter(root: string): Promise<string> {
  const file = path.join(root, "router.mjs");
  await writeFile(
    file,
    `import express from ${JSON.stringify(expressUrl())};
export function createBenchRouter(state = {}) {
  const router = express.Router();
  router.get("/ping", (_req, res) => {
    res.json({ ok: true, starts: state.starts ?? 0 });
  });
  return router;
}
`,
  );
  return file;
}

/**
 * Writes plugin `bench` serving createBenchRouter() at /api/bench. It has no onResume, so every update stops
 * and starts it; its route reports how many times it has started.
 */
export async function writeRoutePlugin(pluginsDir: string, routerFile: string): Promise<void> {
  await writePlugin(
    pluginsDir,
    "bench",
    `import { createBenchRouter } from ${JSON.stringify(pathToFileURL(routerFile).href)};
const state = { starts: 0 };
export async function onStart(ctx) {
  state.starts += 1;
  ctx.server.registerRouter("/api/bench", createBenchRouter(state));
}
export async function onStop() {}
`,
  );
}

/**
 * Writes `handlers.mjs` at the workspace root and plugin `bench`, whose onStart mounts `count` handlers from it
 * at /api/bench/r0, /api/bench/r1, ... through ctx.server.registerRouter and records how long that took in
 * `globalThis.hangarBenchRegisterMs`. The bare-Express baseline mounts the same handlers from the same file.
 */
export async function writeRouteRegistrationPlugin(
  root: string,
  pluginsDir: string,
  count: number,
): Promise<string> {
  const handlersFile = path.join(root, "handlers.mjs");
  await writeFile(
    handlersFile,
    `export function createHandlers(count) {
  return Array.from({ length: count }, (_, i) => (_req, res) => { res.json({ route: i }); });
}
`,
  );
  await writePlugin(
    pluginsDir,
    "bench",
    `import { createHandlers } from ${JSON.stringify(pathToFileURL(handlersFile).href)};
export async function onStart(ctx) {
  const handlers = createHandlers(${count});
  const t0 = performance.now();
  for (let i = 0; i < handlers.length; i += 1) ctx.server.registerRouter(\`/api/bench/r\${i}\`, handlers[i]);
  globalThis.hangarBenchRegisterMs = performance.now() - t0;
}
export async function onStop() {}
`,
  );
  return handlersFile;
}

/** Writes plugin `bench`, whose onStart registers IPC handler `echo` (answers with its payload) on its context. */
export async function writeEchoIpcPlugin(pluginsDir: string): Promise<void> {
  await writePlugin(
    pluginsDir,
    "bench",
    `export async function onStart(ctx) { ctx.ipc.handle("echo", (value) => value); }
export async function onStop() {}
`,
  );
}
