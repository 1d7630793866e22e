// Runs a shell over misbehaving plugins in a plain Node process that installs NO error handlers:
// an error escaping to uncaughtException or unhandledRejection would crash it with a non-zero exit.
// Usage: node test/support/fault-run.mjs <pluginsDir> <dataDir> [none|worker]
// The hooks' limits are generous here (an isolated hook is a round trip to a worker on a loaded machine): the
// plugins that must time out set their own short limits in plugin.json.
import { createShell } from "../../dist/index.js";

const [pluginsDir, dataDir, isolation = "none"] = process.argv.slice(2);
const lines = [];
const shell = createShell({
  plugins: [pluginsDir],
  dataDir,
  server: { port: 0 },
  isolation,
  // Isolated, loading boots a worker per plugin: seconds each when the machine is loaded.
  timeouts: { start: 5000, stop: 5000, resume: 5000, shutdown: 8000, load: 120_000 },
  log: { format: "json", level: "debug", destination: { write: (chunk) => lines.push(chunk) } },
});
await shell.start();
// The plugins running in a worker thread of their own (none in-process).
const isolated = shell
  .status()
  .plugins.filter((p) => p.worker !== undefined)
  .map((p) => p.id);
const base = shell.status().server.url;
for (const route of ["/api/good/boom", "/api/good/reject", "/api/start-throws/x"]) await fetch(base + route);
await shell.update();
await shell.update({ changed: ["good", "start-throws"] });
await shell.stop();
// Give late promise bodies (hung hooks that finally settle, timers) a chance to misbehave.
await new Promise((resolve) => setTimeout(resolve, 400));
const status = shell.status();
process.stdout.write(
  JSON.stringify({
    state: status.state,
    isolated,
    plugins: status.plugins.map((p) => [p.id, p.state, p.error?.code ?? null]),
  }),
);
