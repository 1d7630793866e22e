// Starts a shell over N plugins in a fresh, plain Node process (no tsx: a worker thread inherits the process's
// `--import` preloads, so a tsx parent would boot tsx in every worker, a cost no `hangar run` user pays), running
// the built dist/ as users do, in-process or each plugin isolated in a worker; prints one JSON line: how long
// shell.start() took, how long stop() took, and the process's RSS once every plugin is running.
// `floor`: no shell, N bare worker threads whose module only answers pings: the least a worker thread costs here.
// `process`: each plugin in a Node process of its own (childProcessHost); `childRss`/`childUss` add up the
// children's resident and unique set sizes (/proc/<pid>/status; smaps_rollup's private pages: what ending it frees).
// Usage: node bench/workers/isolation-startup.mjs <pluginsDir> <dataDir> <none|worker|floor|process>
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const [pluginsDir, dataDir, isolation] = process.argv.slice(2);
if (!pluginsDir || !dataDir || !["none", "worker", "floor", "process"].includes(isolation)) {
  throw new Error("usage: isolation-startup.mjs <pluginsDir> <dataDir> <none|worker|floor|process>");
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 1_000));

if (isolation === "floor") {
  const { readdir } = await import("node:fs/promises");
  const n = (await readdir(pluginsDir)).length;
  const empty = `const { parentPort } = require("node:worker_threads");
parentPort.on("message", (m) => parentPort.postMessage({ seq: m.seq, heapUsedBytes: process.memoryUsage().heapUsed }));
parentPort.postMessage("ready");`;
  const rssBefore = process.memoryUsage.rss();
  const started = performance.now();
  const workers = [];
  for (let i = 0; i < n; i += 1) {
    const worker = new Worker(empty, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 512 } });
    await new Promise((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    workers.push(worker);
  }
  const startMs = performance.now() - started;
  for (const worker of workers) worker.postMessage({ seq: 1 });
  await settle();
  const rss = process.memoryUsage.rss();
  const stopping = performance.now();
  await Promise.all(workers.map((worker) => worker.terminate()));
  const stopMs = performance.now() - stopping;
  process.stdout.write(`${JSON.stringify({ startMs, stopMs, rss, rssBefore, running: n })}\n`);
} else {
  const { childProcessHost, createShell } = await import(
    pathToFileURL(path.join(repoRoot, "dist/index.js")).href
  );
  const shell = createShell({
    plugins: [pluginsDir],
    dataDir,
    server: { port: 0 },
    isolation: isolation === "none" ? "none" : "worker",
    ...(isolation === "process" ? { isolationHost: childProcessHost() } : {}),
    log: { level: "silent" },
    // Generous: this measures how long start-up takes on a loaded machine, not whether it beats a timeout.
    timeouts: { load: 120_000, start: 120_000, shutdown: 120_000 },
  });
  const rssBefore = process.memoryUsage.rss();
  const started = performance.now();
  await shell.start();
  const startMs = performance.now() - started;
  const running = shell.status().plugins.filter((plugin) => plugin.state === "running").length;
  // Let start-up garbage settle before reading RSS.
  await settle();
  const rss = process.memoryUsage.rss();
  const { readFileSync } = await import("node:fs");
  const kB = (file, field) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(file, "utf8"))?.[1] ?? 0) * 1024;
  let childRss = 0;
  let childUss = 0;
  for (const plugin of shell.status().plugins) {
    const pid = plugin.worker?.pid;
    if (!pid) continue;
    childRss += kB(`/proc/${pid}/status`, "VmRSS");
    const rollup = `/proc/${pid}/smaps_rollup`;
    childUss += kB(rollup, "Private_Clean") + kB(rollup, "Private_Dirty");
  }
  const stopping = performance.now();
  await shell.stop();
  const stopMs = performance.now() - stopping;
  process.stdout.write(
    `${JSON.stringify({ startMs, stopMs, rss, rssBefore, running, childRss, childUss })}\n`,
  );
}
