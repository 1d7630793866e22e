// Starts a shell over N plugins in a fresh process, in-process or each isolated in a worker, and prints one JSON
// line: how long shell.start() took, how long stop() took, and the process's RSS once every plugin is running.
// It runs the built dist/ (`npm run build` first), as users do: from source, every worker would also boot tsx
// for hangar's own TypeScript, a cost no user pays.
// Usage: node --import tsx bench/workers/isolation-startup.ts <pluginsDir> <dataDir> <none|worker>
const distIndex = new URL("../../dist/index.js", import.meta.url).href;
const { createShell } = (await import(distIndex)) as typeof import("../../src/index.js");

const [pluginsDir, dataDir, isolation] = process.argv.slice(2);
if (!pluginsDir || !dataDir || (isolation !== "none" && isolation !== "worker")) {
  throw new Error("usage: isolation-startup.ts <pluginsDir> <dataDir> <none|worker>");
}
const shell = createShell({
  plugins: [pluginsDir],
  dataDir,
  server: { port: 0 },
  isolation,
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
await new Promise((resolve) => setTimeout(resolve, 1_000));
const rss = process.memoryUsage.rss();
const stopping = performance.now();
await shell.stop();
const stopMs = performance.now() - stopping;
process.stdout.write(`${JSON.stringify({ startMs, stopMs, rss, rssBefore, running })}\n`);
