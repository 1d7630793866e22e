// One start-up/shutdown measurement in a fresh process (so module caches and heap start empty):
// `shell` runs createShell over the folders; `baseline` reads the same manifests, imports the same modules and
// calls their onStart/onStop with Promise.allSettled, no state machines. Prints one JSON line.
// Usage: node --import tsx bench/workers/startup.ts <shell|baseline> <pluginsDir> <dataDir> [--cpu-prof]
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createShell } from "../../src/index.js";
import type { PluginBackgroundModule, PluginContext } from "../../src/sdk/types.js";

/** What a worker reports; the bench derives everything else. */
export interface StartupSample {
  mode: "shell" | "baseline";
  plugins: number;
  running: number;
  startMs: number;
  stopMs: number;
  heapMB: number;
}

async function measureShell(pluginsDir: string, dataDir: string): Promise<StartupSample> {
  // Generous timeouts: a slow machine must not turn a measurement into start-up errors.
  const shell = createShell({
    plugins: [pluginsDir],
    dataDir,
    server: { port: 0 },
    timeouts: { start: 120_000, stop: 120_000, shutdown: 600_000 },
    log: { level: "silent" },
  });
  const t0 = performance.now();
  await shell.start();
  const t1 = performance.now();
  const status = shell.status();
  const heapMB = process.memoryUsage().heapUsed / 2 ** 20;
  await shell.stop();
  const t2 = performance.now();
  return {
    mode: "shell",
    plugins: status.plugins.length,
    running: status.plugins.filter((p) => p.state === "running").length,
    startMs: t1 - t0,
    stopMs: t2 - t1,
    heapMB,
  };
}

async function measureBaseline(pluginsDir: string): Promise<StartupSample> {
  const t0 = performance.now();
  const folders = (await readdir(pluginsDir)).sort().map((name) => path.join(pluginsDir, name));
  const modules = await Promise.all(
    folders.map(async (folder) => {
      const manifest = JSON.parse(await readFile(path.join(folder, "plugin.json"), "utf8")) as {
        id: string;
        background: { entryModule: string };
      };
      const entry = pathToFileURL(path.join(folder, manifest.background.entryModule)).href;
      const module = (await import(entry)) as PluginBackgroundModule;
      return { id: manifest.id, module };
    }),
  );
  const started = await Promise.allSettled(
    modules.map(({ id, module }) => module.onStart({ pluginId: id } as PluginContext)),
  );
  const t1 = performance.now();
  const heapMB = process.memoryUsage().heapUsed / 2 ** 20;
  await Promise.allSettled(modules.map(({ module }) => module.onStop()));
  const t2 = performance.now();
  return {
    mode: "baseline",
    plugins: modules.length,
    running: started.filter((result) => result.status === "fulfilled").length,
    startMs: t1 - t0,
    stopMs: t2 - t1,
    heapMB,
  };
}

const [mode, pluginsDir, dataDir] = process.argv.slice(2);
if ((mode !== "shell" && mode !== "baseline") || !pluginsDir || !dataDir) {
  throw new Error("usage: startup.ts <shell|baseline> <pluginsDir> <dataDir>");
}
const sample = mode === "shell" ? await measureShell(pluginsDir, dataDir) : await measureBaseline(pluginsDir);
process.stdout.write(`${JSON.stringify(sample)}\n`);
