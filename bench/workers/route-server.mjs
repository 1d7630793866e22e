// A server for the route benches, in its own process so the load generator does not share its CPU.
// `shell`: a shell over the workspace's plugins (plugin `bench` serves the bench router at /api/bench);
// `isolated`: the same shell with the plugin in a worker thread (docs/isolation.md);
// `bare`: the same router on a bare Express app at the same path; `bare-als`: the same bare app with each request
// run in an AsyncLocalStorage scope of its own (`als.run` per request, as hangar's containment does): the floor of
// attributing a request to its plugin on Node 20, where an enabled AsyncLocalStorage turns on promise hooks for
// the whole process; `bare-als-leftovers`: the floor with hangar's leftover tracking on (an async_hooks init hook
// noting the timers and servers a plugin context creates, src/containment/leftover-handles.ts), each request in a
// plugin context's scope, so that its cost per request is measured alone. Driven over the fork IPC channel.
// Plain JavaScript running hangar from dist/ in plain node, as `hangar run` does (issue 13's fair yardstick: no
// tsx in either server). Message shapes: bench/support/route-server.ts.
// Usage: fork("bench/workers/route-server.mjs", [mode, root])
import { AsyncLocalStorage } from "node:async_hooks";
import { createServer } from "node:http";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import express from "express";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const [mode, root] = process.argv.slice(2);
const modes = ["shell", "isolated", "bare", "bare-als", "bare-als-leftovers"];
if (!modes.includes(mode) || !root) throw new Error(`usage: route-server.mjs <${modes.join("|")}> <root>`);
const send = (message) => process.send?.(message);

let shell = null;
let server = null;
let url;

if (!mode.startsWith("bare")) {
  const { createShell } = await import(pathToFileURL(path.join(repoRoot, "dist/index.js")).href);
  shell = createShell({
    plugins: [path.join(root, "plugins")],
    // One data folder per shell: two shells may not share one (the data-folder lock).
    dataDir: path.join(root, `data-${mode}`),
    server: { port: 0 },
    log: { level: "silent" },
    isolation: mode === "shell" ? "none" : "worker",
  });
  await shell.start();
  url = shell.status().server.url;
} else {
  const { createBenchRouter } = await import(pathToFileURL(path.join(root, "router.mjs")).href);
  const app = express();
  app.disable("x-powered-by");
  app.use("/api/bench", createBenchRouter());
  if (mode === "bare-als") {
    // Around the whole app, so the floor adds no Express layer: one scope object and one run per request.
    const als = new AsyncLocalStorage();
    server = createServer((req, res) => als.run({ req }, app, req, res));
  } else if (mode === "bare-als-leftovers") {
    const dist = (file) => import(pathToFileURL(path.join(repoRoot, "dist", file)).href);
    const { runInScope } = await dist("containment/attribution.js");
    const { trackLeftovers } = await dist("containment/leftover-handles.js");
    trackLeftovers();
    // A scope of a plugin context, one object per request, as hangar's shell.ts enterPlugin makes it.
    const scope = { owner: null, pluginId: "bench", generation: 1, context: {}, flow: null };
    server = createServer((req, res) => runInScope({ ...scope, flow: null }, () => app(req, res)));
  } else {
    server = createServer(app);
  }
  server.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  url = `http://127.0.0.1:${server.address().port}`;
}

// Updates back to back, each restarting plugin `bench` (it has no onResume), until told to stop.
let updating = null;
let keepUpdating = false;
async function updateLoop() {
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

process.on("message", async (message) => {
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
  await new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  send({ type: "closed" });
  process.disconnect();
});

send({ type: "ready", url });
