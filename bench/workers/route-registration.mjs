// Route registration in a fresh, plain Node process, running hangar from dist/. Prints one JSON line.
// Usage: node --expose-gc bench/workers/route-registration.mjs hangar <pluginsDir> <dataDir> <count>
//        node --expose-gc bench/workers/route-registration.mjs express <handlersFile> <count>
// hangar: start a shell whose plugin `bench` mounts <count> routers in onStart (it times its own loop), check
// the last route answers, then time stop(), which disposes the plugin's context and with it every mount.
// express: mount the same handlers with app.use(path, handler) on a bare Express 5 app, check the last answers.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const [mode, ...args] = process.argv.slice(2);

async function lastRouteAnswers(base, count) {
  if (count === 0) return true;
  const response = await fetch(`${base}/api/bench/r${count - 1}`);
  const body = await response.json();
  return response.status === 200 && body.route === count - 1;
}

async function hangar(pluginsDir, dataDir, count) {
  const dist = process.env.HANGAR_BENCH_DIST ?? path.join(repoRoot, "dist");
  const { createShell } = await import(pathToFileURL(path.join(dist, "index.js")).href);
  const shell = createShell({
    plugins: [pluginsDir],
    dataDir,
    server: { port: 0 },
    timeouts: { start: 600_000, stop: 600_000, shutdown: 600_000 },
    log: { level: "silent" },
  });
  await shell.start();
  const running = shell.status().plugins.filter((p) => p.state === "running").length;
  const answers = await lastRouteAnswers(shell.status().server.url, count);
  const t0 = performance.now();
  await shell.stop();
  const stopMs = performance.now() - t0;
  return { running, answers, registerMs: globalThis.hangarBenchRegisterMs, stopMs };
}

async function bareExpress(handlersFile, count) {
  const express = createRequire(path.join(repoRoot, "package.json"))("express");
  const { createHandlers } = await import(pathToFileURL(handlersFile).href);
  const handlers = createHandlers(count);
  const app = express();
  const t0 = performance.now();
  for (let i = 0; i < handlers.length; i += 1) app.use(`/api/bench/r${i}`, handlers[i]);
  const registerMs = performance.now() - t0;
  const server = await new Promise((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  const answers = await lastRouteAnswers(`http://127.0.0.1:${server.address().port}`, count);
  await new Promise((resolve) => server.close(resolve));
  return { running: 1, answers, registerMs };
}

const result =
  mode === "hangar"
    ? await hangar(args[0], args[1], Number(args[2]))
    : mode === "express"
      ? await bareExpress(args[0], Number(args[1]))
      : null;
if (!result) throw new Error(`unknown mode '${mode}': use hangar or express`);
process.stdout.write(`${JSON.stringify(result)}\n`);
