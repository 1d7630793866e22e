// Runs a shell over faulty plugins in a plain Node process that installs NO error handlers of its own, driven
// by JSON commands on stdin (one per line) and answering with one JSON line each on stdout.
// Usage: node test/support/containment-run.mjs <pluginsDir> <dataDir> <memory|websocket> [shutdownMs]
// Commands: {"cmd":"status"} {"cmd":"invoke","channel","payload"} {"cmd":"update","changed":[]} {"cmd":"stop"}
// After "stop" it waits 300 ms (leftover timers of disposed contexts keep firing), answers, and exits 0 itself.
import { createInterface } from "node:readline";
import WebSocket from "ws";
import { createMemoryIpc, createShell, createWebSocketIpc } from "../../dist/index.js";

const [pluginsDir, dataDir, transport, shutdownMs] = process.argv.slice(2);
// The vitest project "isolated" sets HANGAR_TEST_ISOLATION=worker: every plugin then runs in its own worker thread.
const isolated = process.env.HANGAR_TEST_ISOLATION === "worker";
const ipc =
  transport === "websocket" ? createWebSocketIpc({ logger: { warn() {}, error() {} } }) : createMemoryIpc();
const shell = createShell({
  plugins: [pluginsDir],
  dataDir,
  ipc,
  server: { port: 0 },
  // Generous defaults for the well-behaved plugins on a loaded machine; the hanging ones set 400 ms in plugin.json.
  // Isolated, booting some forty workers at once takes a while on a loaded machine: loading is not what is tested.
  // Isolated, a plugin's first route imports Express in its worker: seconds each while forty workers boot.
  timeouts: {
    start: isolated ? 60_000 : 3000,
    stop: 3000,
    resume: isolated ? 60_000 : 3000,
    shutdown: Number(shutdownMs ?? 8000),
    ...(isolated ? { load: 120_000 } : {}),
  },
  ...(isolated ? { isolation: "worker" } : {}),
  log: { format: "json", level: "debug", destination: process.stderr },
});

let socket = null;
let nextId = 1;
const pending = new Map();
async function invoke(channel, payload) {
  if (transport !== "websocket") {
    try {
      return { ok: true, value: await ipc.invoke(channel, payload) };
    } catch (error) {
      return { ok: false, error: String(error?.message ?? error) };
    }
  }
  if (socket === null) {
    const url = `${shell.status().server.url.replace("http", "ws")}/_hangar/ipc`;
    socket = new WebSocket(url);
    socket.on("message", (data) => {
      const frame = JSON.parse(String(data));
      if (frame.type === "result") pending.get(frame.id)?.(frame);
    });
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
  }
  const id = nextId++;
  const frame = await new Promise((resolve) => {
    pending.set(id, resolve);
    socket.send(JSON.stringify({ type: "invoke", id, channel, payload }));
  });
  return frame.ok ? { ok: true, value: frame.value } : { ok: false, error: frame.error };
}

const answer = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
await shell.start();
answer({ ready: true, url: shell.status().server.url });

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line);
  if (command.cmd === "status") answer(shell.status());
  else if (command.cmd === "invoke") answer(await invoke(command.channel, command.payload));
  else if (command.cmd === "update") {
    await shell.update({ changed: command.changed ?? [] });
    answer({ updated: true });
  } else if (command.cmd === "stop") {
    socket?.close();
    const started = Date.now();
    await shell.stop();
    const stopMs = Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 300));
    answer({ ...shell.status(), stopMs });
    // Leftover intervals would keep the loop alive; the host ends its own process (the real process.exit).
    process.exit(0);
  }
}
