// Runs a shell with every plugin isolated in a worker, in a plain Node process with NO error handlers: a fault
// that reached the shell's thread would crash it. Prints one JSON line `{ url }` once started; on "stop" from
// stdin it stops the shell and prints `{ stopMs, status }`, then exits.
// Usage: node test/support/isolation-run.mjs <pluginsDir> <dataDir> <unresponsiveMs> <shutdownMs>
import { createShell } from "../../dist/index.js";

const [pluginsDir, dataDir, unresponsive, shutdown] = process.argv.slice(2);
const shell = createShell({
  plugins: [pluginsDir],
  dataDir,
  server: { port: 0 },
  isolation: "worker",
  // Loading (booting each worker) is not what the test measures: generous for a loaded machine.
  timeouts: {
    unresponsive: Number(unresponsive),
    shutdown: Number(shutdown),
    start: 8000,
    stop: 8000,
    load: 120_000,
  },
  log: { format: "json", level: "info", destination: process.stderr },
});
await shell.start();
process.stdout.write(`${JSON.stringify({ url: shell.status().server.url })}\n`);
process.stdin.setEncoding("utf8");
process.stdin.on("data", async (chunk) => {
  if (!chunk.includes("stop")) return;
  const started = performance.now();
  await shell.stop();
  const stopMs = Math.round(performance.now() - started);
  process.stdout.write(`${JSON.stringify({ stopMs, status: shell.status() })}\n`);
  process.exit(0);
});
