// Issue 13: cold start. Spawn `hangar run examples/plugins` (bin/hangar.js → dist/, TypeScript plugins among the
// examples) and time until GET /api/_shell/health answers 200, against a bare Express 5 app with one route
// spawned and polled the same way. Rounds alternate the three; medians.
// Two hangar figures, because TypeScript plugins are built once and then kept in the build cache
// (docs/loader.md, "Build cache"): the first start, with an empty cache (a new folder each round: what a user gets
// once after each edit, the builder thread and esbuild included), and a start with the cache already filled (every
// later start of unchanged plugins). The goal line is the second: it is what `hangar run` costs on every start but
// the first after an edit; the first is printed beside it, against the same bare Express. A third figure, report
// only: the cached start with the command's own V8 code cache switched off (HANGAR_CODE_CACHE=off; docs/cli.md),
// what the first start after installing or building hangar costs.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { median, repoRoot } from "./support/child.js";
import { goal } from "./support/goal.js";
import { createBenchWorkspace } from "./support/workspace.js";
import { type BenchResult, quickMode } from "./types.js";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function answers200(url: string): Promise<boolean> {
  try {
    const response = await fetch(url);
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/**
 * Milliseconds from spawn until `url` answers 200; the child is then stopped, after `lingerMs` (the untimed start
 * that fills the caches lingers, so that `hangar run` gets past its summary and writes its code cache).
 */
async function timeToHealthy(
  args: string[],
  port: number,
  env: NodeJS.ProcessEnv = {},
  lingerMs = 0,
): Promise<number> {
  const url = `http://127.0.0.1:${port}/api/_shell/health`;
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: repoRoot,
    stdio: "ignore",
    env: { ...process.env, ...env },
  });
  let exited = false;
  child.on("exit", () => {
    exited = true;
  });
  try {
    for (;;) {
      if (await answers200(url)) {
        const elapsed = performance.now() - t0;
        if (lingerMs > 0) await new Promise((resolve) => setTimeout(resolve, lingerMs));
        return elapsed;
      }
      if (exited) throw new Error(`${args.join(" ")} exited before answering`);
      if (performance.now() - t0 > 30_000) throw new Error(`${args.join(" ")} did not answer within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  } finally {
    const gone = new Promise((resolve) => (exited ? resolve(undefined) : child.once("exit", resolve)));
    child.kill("SIGTERM");
    await gone;
  }
}

export async function run(): Promise<BenchResult[]> {
  const rounds = quickMode() ? 1 : 7;
  const ws = await createBenchWorkspace();
  try {
    const bare = path.join(ws.root, "bare-express.mjs");
    const expressUrl = pathToFileURL(createRequire(import.meta.url).resolve("express")).href;
    await writeFile(
      bare,
      `import express from ${JSON.stringify(expressUrl)};
const app = express();
app.get("/api/_shell/health", (_req, res) => { res.json({ ok: true }); });
app.listen(Number(process.argv[2]), "127.0.0.1");
`,
    );
    const hangarArgs = (port: number) => [
      "bin/hangar.js",
      "run",
      "examples/plugins",
      "--port",
      String(port),
      "--data-dir",
      ws.dataDir,
    ];
    // Filled once before the rounds, by one start (not timed), which also writes the command's code cache.
    const filledCache = path.join(ws.root, "build-cache");
    const fillPort = await freePort();
    await timeToHealthy(hangarArgs(fillPort), fillPort, { HANGAR_BUILD_CACHE: filledCache }, 2_000);
    const firstStart: number[] = [];
    const cachedStart: number[] = [];
    const noCodeCache: number[] = [];
    const baseline: number[] = [];
    for (let i = 0; i < rounds; i += 1) {
      const barePort = await freePort();
      baseline.push(await timeToHealthy([bare, String(barePort)], barePort));
      const emptyCache = await mkdtemp(path.join(ws.root, "empty-cache-"));
      const firstPort = await freePort();
      firstStart.push(
        await timeToHealthy(hangarArgs(firstPort), firstPort, { HANGAR_BUILD_CACHE: emptyCache }),
      );
      await rm(emptyCache, { recursive: true, force: true });
      const cachedPort = await freePort();
      cachedStart.push(
        await timeToHealthy(hangarArgs(cachedPort), cachedPort, { HANGAR_BUILD_CACHE: filledCache }),
      );
      const noCodeCachePort = await freePort();
      noCodeCache.push(
        await timeToHealthy(hangarArgs(noCodeCachePort), noCodeCachePort, {
          HANGAR_BUILD_CACHE: filledCache,
          HANGAR_CODE_CACHE: "off",
        }),
      );
    }
    const base = median(baseline);
    const first = median(firstStart);
    const cached = median(cachedStart);
    const uncompiled = median(noCodeCache);
    const group = "cold start until /api/_shell/health answers 200";
    return [
      {
        group,
        name: "hangar run examples/plugins, build cache filled, vs bare Express 5, one route",
        value: cached,
        unit: "ms",
        baseline: base,
        ratio: cached / base,
        better: "lower",
        note: goal(cached / base, 1.5, "×"),
      },
      {
        group,
        name: "hangar run examples/plugins, first start (empty build cache) vs bare Express 5",
        value: first,
        unit: "ms",
        baseline: base,
        ratio: first / base,
        better: "lower",
        note: "once after each edit of a TypeScript plugin (the goal line is the one above)",
      },
      {
        group,
        name: "hangar run examples/plugins, build cache filled, the command's code cache off, vs bare Express 5",
        value: uncompiled,
        unit: "ms",
        baseline: base,
        ratio: uncompiled / base,
        better: "lower",
        note: "HANGAR_CODE_CACHE=off: the first start of a command after installing or building hangar",
      },
    ];
  } finally {
    await ws.cleanup();
  }
}
