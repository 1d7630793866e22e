// In-process A/B of the request path alone, without sockets or a load generator: the same GET through (a) a bare
// Express app, (b) the same with one als.run per request (the floor of SPEC §11's per-request scope), (c) and (d)
// createShellApp from two builds (say, main's dist copied aside and this tree's), each driving a real
// IncomingMessage/ServerResponse over a socket that discards what it is written. Batches rotate between the
// variants; each variant's CPU per request is the median over batches, and its ratio to bare Express the median of
// the per-batch ratios, so load on a shared machine falls on all alike. Not part of `npm run bench` (it needs two
// builds); used for BENCHMARKS.md "Route throughput, session 4".
// Usage: node bench/workers/route-path-ab.mjs <distA> <distB> [batches] [requests per batch]
import { AsyncLocalStorage } from "node:async_hooks";
import { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { Duplex } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import express from "express";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const [
  distA = path.join(repoRoot, "dist"),
  distB = path.join(repoRoot, "dist"),
  batches = "80",
  per = "400",
] = process.argv.slice(2);
class NullSocket extends Duplex {
  _read() {}
  _write(_c, _e, cb) {
    cb();
  }
  _writev(_c, cb) {
    cb();
  }
}
const router = () => {
  const r = express.Router();
  r.get("/ping", (_req, res) => {
    res.json({ ok: true, starts: 1 });
  });
  return r;
};
const PORT = 4321;
function once(listener) {
  return new Promise((resolve) => {
    const socket = new NullSocket();
    const req = new IncomingMessage(socket);
    req.method = "GET";
    req.url = "/api/bench/ping";
    req.httpVersionMajor = 1;
    req.httpVersionMinor = 1;
    req.httpVersion = "1.1";
    req.headers = { host: `127.0.0.1:${PORT}`, connection: "keep-alive", "user-agent": "micro" };
    req.complete = true;
    req.push(null);
    const res = new ServerResponse(req);
    res.shouldKeepAlive = true;
    res.assignSocket(socket);
    res.once("finish", () => {
      res.detachSocket(socket);
      resolve(res.statusCode);
    });
    listener(req, res);
  });
}
const als = new AsyncLocalStorage();
const bare = express();
bare.disable("x-powered-by");
bare.use("/api/bench", router());
const variants = { bare: (q, s) => bare(q, s), "bare-als": (q, s) => als.run({ q }, bare, q, s) };
for (const [name, dist] of [
  ["A", distA],
  ["B", distB],
]) {
  const { createShellApp } = await import(pathToFileURL(path.join(path.resolve(dist), "server/app.js")).href);
  const { RouteTable } = await import(
    pathToFileURL(path.join(path.resolve(dist), "server/route-table.js")).href
  );
  const { runInScope } = await import(
    pathToFileURL(path.join(path.resolve(dist), "containment/attribution.js")).href
  );
  const routes = new RouteTable();
  routes.register("bench", "/api/bench", router());
  const scope = { owner: {}, pluginId: "bench", generation: 1, context: null, flow: null };
  const view = {
    shellState: () => "running",
    list: () => [],
    get: () => undefined,
    stateOf: (id) => (id === "bench" ? "running" : undefined),
    restart: async () => undefined,
    isBusy: () => false,
    waitUntilSettled: async () => undefined,
  };
  const app = createShellApp({
    port: () => PORT,
    allowedOrigins: [],
    plugins: view,
    routes,
    pluginLogger: () => ({}),
    shellLogger: { warn() {}, error() {} },
    enterPlugin: (_pluginId, flow, request) => runInScope({ ...scope, flow }, () => request.run()),
  });
  variants[name] = (q, s) => app(q, s);
}
const names = Object.keys(variants);
for (const n of names) {
  const st = await once(variants[n]);
  if (st !== 200) throw new Error(`${n} answered ${st}`);
}
for (const n of names) for (let i = 0; i < 3000; i++) await once(variants[n]); // warm
const times = Object.fromEntries(names.map((n) => [n, []]));
for (let b = 0; b < Number(batches); b++) {
  for (let k = 0; k < names.length; k++) {
    const n = names[(k + b) % names.length];
    const t0 = process.cpuUsage();
    for (let i = 0; i < Number(per); i++) await once(variants[n]);
    const t = process.cpuUsage(t0);
    times[n].push((t.user + t.system) / Number(per));
  }
}
const med = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
};
const min = (a) => Math.min(...a);
const b0 = times.bare;
for (const n of names)
  console.log(
    n.padEnd(9),
    "min",
    min(times[n]).toFixed(2),
    "µs  median",
    med(times[n]).toFixed(2),
    "µs  median ratio to bare",
    med(times[n].map((t, i) => t / b0[i])).toFixed(3),
  );
