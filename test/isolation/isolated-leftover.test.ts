// In a worker, an error that escapes a leftover of a disposed context is a warning, as in-process (SPEC §11), and
// the worker and the running generation carry on; one that escapes the live context still ends the worker. The
// worker tells them apart by the async scope the error comes from (src/isolation/worker-main.ts).
import { expect, it } from "vitest";
import type { Shell } from "../../src/index.js";
import { testShell, workspacePerTest } from "../support/plugins.js";

const fixture = workspacePerTest();
const { shells } = fixture;

// Every generation leaves a timer behind that throws once its context is disposed, and its onStop forgets a
// promise that rejects 100 ms later (during the next generation's onStart, or after it). /api/gens/crash makes
// the live generation's own timer throw (code the route left behind would fail only its request).
const source = `
let generation = 0;
let armed = false;
export async function onStart(ctx) {
  const mine = ++generation;
  const leftover = setInterval(() => {
    if (!ctx.signal.aborted) {
      if (armed) { armed = false; throw new Error("live timer of generation " + mine); }
      return;
    }
    clearInterval(leftover);
    throw new Error("stale timer of generation " + mine);
  }, 20);
  ctx.server.registerRouter("/api/gens", (req, res, next) => {
    if (req.url === "/which") return import("node:worker_threads").then((w) => res.json({ generation: mine, threadId: w.threadId }));
    if (req.url === "/crash") { armed = true; return res.json({ armed: true }); }
    next();
  });
  await new Promise((resolve) => setTimeout(resolve, 150));
}
export async function onStop() {
  new Promise((_, reject) => setTimeout(() => reject(new Error("forgotten in onStop")), 100));
}
`;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function which(shell: Shell): Promise<{ generation: number; threadId: number }> {
  const response = await fetch(`${shell.status().server.url}/api/gens/which`);
  expect(response.status).toBe(200);
  return (await response.json()) as { generation: number; threadId: number };
}

/** Polls until `ready` holds (20 s: a loaded machine runs workers slowly; the test itself has 60 s). */
async function until(shell: Shell, what: string, ready: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!ready()) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting until ${what}: ${JSON.stringify(shell.status().plugins)}`);
    await pause(20);
  }
}

it("warns about a disposed context's escaped errors and keeps the worker; a live context's error still crashes it", async () => {
  await fixture.ws.write({ id: "gens", source, manifest: { background: { restart: { policy: "never" } } } });
  const { shell, log } = testShell(fixture.ws, { isolation: "worker" });
  shells.push(shell);
  await shell.start();
  const first = await which(shell);
  expect(first.generation).toBe(1);

  // Two updates: each stops the running generation (its timer becomes a leftover, its onStop forgets a promise)
  // and starts the next one in the same worker.
  await shell.update();
  await shell.update();
  const plugin = () => shell.status().plugins[0]!;
  await until(shell, "both kinds of leftover were warned about", () => {
    const warnings = (plugin().warnings ?? []).join("\n");
    return /stale timer of generation 2/.test(warnings) && /forgotten in onStop/.test(warnings);
  });
  // Still the same worker, now on generation 3, running and answering.
  expect(plugin().state).toBe("running");
  expect(await which(shell)).toEqual({ generation: 3, threadId: first.threadId });
  const warnings = (plugin().warnings ?? []).join("\n");
  expect(warnings).toMatch(
    /code left over from a context disposed by an update.* threw \(its code threw\): stale timer of generation 1\..*not affected/,
  );
  expect(warnings).toMatch(/a promise it did not handle rejected\): forgotten in onStop/);
  // The shell's log carries the same warnings, with the plugin's error.
  const logged = log.lines.filter((line) => String(line.msg).includes("code left over"));
  expect(logged.map((line) => line.msg).join("\n")).toMatch(/stale timer of generation 1/);

  // The live generation's own escaped error still ends the worker: the plugin crashed (phase run).
  expect((await fetch(`${shell.status().server.url}/api/gens/crash`)).status).toBe(200);
  await until(shell, "the plugin crashed", () => plugin().state === "errored");
  expect(plugin().error).toMatchObject({ phase: "run", code: "HANGAR_PLUGIN_CRASHED" });
  expect(plugin().error?.message).toMatch(/live timer of generation 3/);
  expect(plugin().worker ?? null).toBeNull();
  expect(shell.status().state).toBe("running");
}, 60_000);
