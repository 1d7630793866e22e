// A server for the route benches, in its own process so the load generator does not share its CPU.
// `shell`: a shell over the workspace's plugins (plugin `bench` serves the bench router at /api/bench);
// `isolated`: the same shell with the plugin in a worker thread (docs/isolation.md);
// `bare`: the same router on a bare Express app at the same path. Driven over the fork IPC channel.
// Usage: fork("bench/workers/route-server.ts", [mode, root], { execArgv: ["--import", "tsx"] })
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";
import express from "express";
import { createShell, type Shell } from "../../src/index.js";

/** Messages the parent sends. */
export type ToRouteServer = { type: "updates"; on: boolean } | { type: "cpu" } | { type: "close" };
/** Messages this worker sends. */
export type FromRouteServer =
  | { type: "ready"; url: string }
  | { type: "updates"; completed: number; failed: number }
  | { type: "cpu"; micros: number }
  | { type: "closed" };

const [mode, root] = process.argv.slice(2);
if ((mode !== "shell" && mode !== "bare" && mode !== "isolated") || !root)
  throw new Error("usage: route-server.ts <shell|isolated|bare> <root>");
const send = (message: FromRouteServer) => process.send?.(message);

let shell: Shell | null = null;
let server: Server | null = null;
let url: string;

if (mode === "shell" || mode === "isolated") {
  shell = createShell({
    plugins: [path.join(root, "plugins")],
    dataDir: path.join(root, "data"),
    server: { port: 0 },
    log: { level: "silent" },
    isolation: mode === "isolated" ? "worker" : "none",
  });
  await shell.start();
  url = shell.status().server.url!;
} else {
  const { createBenchRouter } = (await import(pathToFileURL(path.join(root, "router.mjs")).href)) as {
    createBenchRouter(): express.Router;
  };
  const app = express();
  app.disable("x-powered-by");
  app.use("/api/bench", createBenchRouter());
  server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server!.once("listening", () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

// Updates back to back, each restarting plugin `bench` (it has no onResume), until told to stop.
let updating: Promise<{ completed: number; failed: number }> | null = null;
let keepUpdating = false;
async function updateLoop(): Promise<{ completed: number; failed: number }> {
  let completed = 0;
  let failed = 0;
  while (keepUpdating && shell) {
    try {
      await shell.update();
      completed += 1;
    } catch {
      failed += 1;
    }
    // An update of plugins whose hooks settle at once runs entirely in microtasks: without this turn of the
    // event loop, back-to-back updates would starve every socket.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { completed, failed };
}

process.on("message", async (message: ToRouteServer) => {
  if (message.type === "cpu") {
    // CPU time is steadier than requests per second on a busy machine: it does not count time spent waiting.
    const { user, system } = process.cpuUsage();
    send({ type: "cpu", micros: user + system });
    return;
  }
  if (message.type === "updates") {
    if (message.on && !updating) {
      keepUpdating = true;
      updating = updateLoop();
    } else if (!message.on && updating) {
      keepUpdating = false;
      const counts = await updating;
      updating = null;
      send({ type: "updates", ...counts });
    }
    return;
  }
  keepUpdating = false;
  await updating;
  await shell?.stop();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  send({ type: "closed" });
  process.disconnect();
});

send({ type: "ready", url });
