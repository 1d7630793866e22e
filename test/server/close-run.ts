// Child-process half of graceful-close.test.ts: starts a shell, opens a keep-alive connection and a response
// that never ends, stops the shell and reports what the clients saw. It never calls process.exit: the
// process ends only if the stopped shell left nothing holding the event loop.
// Usage: node --import tsx test/server/close-run.ts <pluginsDir> <dataDir>
import { Agent, request } from "node:http";
import type { Socket } from "node:net";
import { createShell } from "../../src/index.js";

const [pluginsDir, dataDir] = process.argv.slice(2);
if (!pluginsDir || !dataDir) throw new Error("usage: close-run.ts <pluginsDir> <dataDir>");

// Shutdown budget 3 s: the server gives in-flight requests a third of it before cutting them.
const shell = createShell({
  plugins: [pluginsDir],
  dataDir,
  server: { port: 0 },
  timeouts: { shutdown: 3_000 },
  log: { level: "silent" },
});
await shell.start();
const url = shell.status().server.url!;

const keepAlive = new Agent({ keepAlive: true });
const { keepAliveStatus, socket } = await new Promise<{ keepAliveStatus: number; socket: Socket }>(
  (resolve, reject) => {
    const req = request(`${url}/api/stream/ping`, { agent: keepAlive }, (res) => {
      res.resume();
      res.on("end", () => resolve({ keepAliveStatus: res.statusCode ?? 0, socket: req.socket as Socket }));
    });
    req.on("error", reject);
    req.end();
  },
);
let keepAliveSocketClosed = false;
socket.on("close", () => {
  keepAliveSocketClosed = true;
});

let foreverFirstChunk = "";
// Wrapped in an object: resolving a promise with a promise would wait for the inner one.
const forever = await new Promise<{ outcome: Promise<"ended" | "cut"> }>((started, reject) => {
  const req = request(`${url}/api/stream/forever`, { agent: false }, (res) => {
    res.setEncoding("utf8");
    const outcome = new Promise<"ended" | "cut">((resolve) => {
      res.on("close", () => resolve(res.complete ? "ended" : "cut"));
    });
    res.once("data", (chunk: string) => {
      foreverFirstChunk = chunk;
      started({ outcome });
    });
  });
  req.on("error", reject);
  // Once the response has begun, a cut connection is the expected outcome, not a failure.
  req.once("response", () => {
    req.off("error", reject);
    req.on("error", () => {});
  });
  req.end();
});

await shell.stop();
const foreverOutcome = await forever.outcome;
// The server closed the idle keep-alive socket; its close event may still be on its way.
await new Promise((resolve) => setImmediate(resolve));
process.stdout.write(
  JSON.stringify({
    keepAliveStatus,
    foreverFirstChunk,
    foreverOutcome,
    keepAliveSocketClosed: keepAliveSocketClosed || socket.destroyed,
    state: shell.status().state,
  }),
);
