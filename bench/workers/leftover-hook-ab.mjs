// In-process A/B of the leftover tracking hook (src/containment/leftover-handles.ts) alone: CPU per batch of 200
// awaits run in a plugin context's scope, with the hook off and on, alternating; prints the medians and their
// ratio, and how many async resources a batch creates (each pays one more init call while the hook is on).
// Usage (after npm run build): node bench/workers/leftover-hook-ab.mjs [rounds=6] [batches=500]
import { AsyncLocalStorage, createHook } from "node:async_hooks";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../dist");
const { runInScope } = await import(pathToFileURL(path.join(dist, "containment/attribution.js")).href);
const { trackLeftovers } = await import(
  pathToFileURL(path.join(dist, "containment/leftover-handles.js")).href
);

const [rounds = 6, batches = 500] = process.argv.slice(2).map(Number);
// An enabled AsyncLocalStorage (as hangar's containment has) turns promise hooks on for the whole process.
new AsyncLocalStorage().run({}, () => {});

async function batch() {
  for (let i = 0; i < 200; i++) await Promise.resolve(i);
}
/** CPU µs per batch, each batch in a scope of its own plugin context (as a request is). */
async function measure(n) {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++)
    await runInScope({ pluginId: "bench", generation: 1, context: {}, flow: null }, batch);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

await measure(200);
const off = [];
const on = [];
for (let round = 0; round < rounds; round++) {
  off.push(await measure(batches));
  const release = trackLeftovers();
  on.push(await measure(batches));
  release();
}
const median = (values) => values.sort((a, b) => a - b)[values.length >> 1];
let resources = 0;
const counter = createHook({ init: () => resources++ }).enable();
await batch();
counter.disable();
console.log(
  `CPU per batch of 200 awaits: off ${median(off).toFixed(1)} µs, on ${median(on).toFixed(1)} µs, ` +
    `ratio ${(median(on) / median(off)).toFixed(3)}; ${resources} async resources per batch, so ` +
    `${(((median(on) - median(off)) / resources) * 1000).toFixed(0)} ns each`,
);
