// Runs a shell over misbehaving plugins in a plain Node process that installs NO error handlers:
// an error escaping to uncaughtException or unhandledRejection would crash it with a non-zero exit.
// Usage: node test/support/fault-run.mjs <pluginsDir> <dataDir>
import { createShell } from "../../dist/index.js";

const [pluginsDir, dataDir] = process.argv.slice(2);
const lines = [];
const shell = createShell({
  plugins: [pluginsDir],
  dataDir,
  server: { port: 0 },
  timeouts: { start: 200, stop: 200, resume: 200, shutdown: 2000 },
  log: { format: "json", level: "debug", destination: { write: (chunk) => lines.push(chunk) } },
});
await shell.start();
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
    plugins: status.plugins.map((p) => [p.id, p.state, p.error?.code ?? null]),
  }),
);
