// An embedding host that outlives its shell (an Electron app, a script that starts a new shell later): it starts a
// shell over <pluginsDir>, stops it, and stays alive 1.5 s more with NO error listeners of its own. Usage:
// node test/support/embed-after-stop.mjs <pluginsDir> <dataDir> <leftover|host-bug|host-rejection>
//   leftover: a plugin's forgotten interval throws after the stop (it must not end the host).
//   host-bug / host-rejection: the host's own timer throws / rejects after the stop (Node's default: exit 1).
import { createShell } from "../../dist/index.js";

const [pluginsDir, dataDir, mode] = process.argv.slice(2);
const shell = createShell({
  plugins: [pluginsDir],
  dataDir,
  server: { port: 0 },
  log: { format: "json", level: "warn", destination: process.stdout },
});
await shell.start();
await shell.stop();
process.stdout.write(`${JSON.stringify({ event: "stopped", shutdown: shell.status().shutdown })}\n`);
if (mode === "host-bug")
  setTimeout(() => {
    throw new Error("host bug after stop");
  }, 100);
if (mode === "host-rejection")
  setTimeout(() => {
    Promise.reject(new Error("host rejection after stop"));
  }, 100);
setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ event: "alive" })}\n`);
  process.exit(0);
}, 1500);
