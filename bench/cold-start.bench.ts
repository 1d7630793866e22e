// Issue 13: cold start. Spawn `hangar run examples/plugins` (bin/hangar.js → dist/, TypeScript plugins among the
// examples) and time until GET /api/_shell/health answers 200, against a bare Express 5 app with one route
// spawned and polled the same way. Rounds alternate the two; medians.
import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
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

/** Milliseconds from spawn until `url` answers 200; the child is then stopped. */
async function timeToHealthy(args: string[], port: number): Promise<number> {
  const url = `http://127.0.0.1:${port}/api/_shell/health`;
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, args, { cwd: repoRoot, stdio: "ignore" });
  let exited = false;
  child.on("exit", () => {
    exited = true;
  });
  try {
    for (;;) {
      if (await answers200(url)) return performance.now() - t0;
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
    const hangar: number[] = [];
    const baseline: number[] = [];
    for (let i = 0; i < rounds; i += 1) {
      const barePort = await freePort();
      baseline.push(await timeToHealthy([bare, String(barePort)], barePort));
      const port = await freePort();
      const args = [
        "bin/hangar.js",
        "run",
        "examples/plugins",
        "--port",
        String(port),
        "--data-dir",
        ws.dataDir,
      ];
      hangar.push(await timeToHealthy(args, port));
    }
    const value = median(hangar);
    const base = median(baseline);
    return [
      {
        group: "cold start until /api/_shell/health answers 200",
        name: "hangar run examples/plugins vs bare Express 5, one route",
        value,
        unit: "ms",
        baseline: base,
        ratio: value / base,
        better: "lower",
        note: goal(value / base, 1.5, "×"),
      },
    ];
  } finally {
    await ws.cleanup();
  }
}
