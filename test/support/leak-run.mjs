// Starts and stops one shell in a plain Node process and reports every resource it left behind: sockets,
// servers, timers and worker threads (async_hooks sees them, ref'd or not), open file descriptors
// (/proc/self/fd), and process.getActiveResourcesInfo(). Node's module-hooks thread (tsx's loader) belongs
// to the process, not to a shell: it is started before the baseline.
// Usage: node test/support/leak-run.mjs <outcome> <pluginsDir> <dataDir> <port> [none|worker]
// <outcome>: success | port-in-use | missing-folder | stop-during-boot; isolated ("worker"), each plugin's worker
// thread must be gone as well.
import { createHook } from "node:async_hooks";
import { readdirSync, readlinkSync } from "node:fs";
import { get } from "node:http";
import { register } from "node:module";
import path from "node:path";

const WATCHED = new Set(["TCPSERVERWRAP", "TCPWRAP", "Timeout", "WORKER", "FSEVENTWRAP", "STATWATCHER"]);
Error.stackTraceLimit = 60;
const live = new Map();
let tracking = false;
createHook({
  init(id, type) {
    if (!tracking || !WATCHED.has(type)) return;
    // Named by the first frame outside Node's internals, so a failure says where the resource was opened.
    const frame =
      new Error().stack
        .split("\n")
        .slice(2)
        .find((line) => line.includes("file://")) ?? "";
    live.set(id, `${type} ${frame.trim()}`);
  },
  destroy(id) {
    live.delete(id);
  },
}).enable();

const [outcome, pluginsDir, dataDir, port, isolation = "none"] = process.argv.slice(2);
const { createShell } = await import("../../dist/index.js");
// Node's module-hooks thread (tsx's loader uses it) lives as long as the process, whoever starts it: start it
// now, with hooks that do nothing, so that its thread and pipe are part of the baseline.
register("data:text/javascript,export {}");
const fds = () =>
  readdirSync("/proc/self/fd").map((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return "gone";
    }
  });
const baseline = process.getActiveResourcesInfo();
const fdsBefore = fds();
tracking = true;

const shell = createShell({
  plugins: [outcome === "missing-folder" ? path.join(pluginsDir, "no-such-folder") : pluginsDir],
  dataDir,
  server: { port: outcome === "port-in-use" ? Number(port) : 0 },
  inspector: true,
  isolation,
  // Isolated, loading boots a worker: seconds when the machine is loaded.
  timeouts: { shutdown: 3_000, load: 120_000 },
  log: { level: "silent" },
});
let started = "resolved";
let url = null;
// How many plugins ran in a worker thread of their own once started.
let isolated = 0;
const starting = shell.start().then(
  () => {},
  (error) => {
    started = error.code ?? String(error);
  },
);
if (outcome === "stop-during-boot") {
  await shell.stop();
  await starting;
} else {
  await starting;
  url = shell.status().server.url;
  isolated = shell.status().plugins.filter((p) => p.worker !== undefined).length;
  // A plain request on its own connection (fetch would keep a pooled socket and timers of its own).
  if (url) {
    await new Promise((resolve, reject) => {
      get(`${url}/api/writer/ping`, { agent: false }, (res) => res.resume().on("end", resolve)).on(
        "error",
        reject,
      );
    });
  }
  await shell.stop();
}
// Released resources are destroyed on the next turns of the loop. Node's HTTP module caches its Date header
// for up to a second with a timer of its own after the last response: wait that out.
tracking = false;
await new Promise((resolve) => setTimeout(resolve, 1_100));
const left = [...live.values()];
process.stdout.write(
  JSON.stringify({
    started,
    isolated,
    state: shell.status().state,
    left,
    extraFds: fds().filter((fd) => !fdsBefore.includes(fd)),
    active: process.getActiveResourcesInfo().filter((name) => !baseline.includes(name)),
  }),
);
