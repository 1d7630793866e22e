// Starts a shell from dist/ with every plugin isolated, in a Node process started with whatever options the test
// gives (`--import tsx`, `--expose-gc`), prints one JSON line with each plugin's state, stops and exits.
// Usage: node [options] test/support/preload-run.mjs <pluginsDir> <dataDir>
import { createShell } from "../../dist/index.js";

const [pluginsDir, dataDir] = process.argv.slice(2);
const shell = createShell({
  plugins: [pluginsDir],
  dataDir,
  server: { port: 0 },
  isolation: "worker",
  timeouts: { load: 120_000 },
  log: { level: "silent" },
});
await shell.start();
const states = Object.fromEntries(shell.status().plugins.map((plugin) => [plugin.id, plugin.state]));
await shell.stop();
process.stdout.write(`${JSON.stringify({ states })}\n`);
