// No shell resource (socket, server, timer, worker thread, file handle) survives stop(), whatever start() did:
// resolved, rejected for a port in use or a missing plugin folder, or was cut short by stop() during boot.
// Each outcome runs in a child process that watches its own resources, and must then exit by itself. Both ways
// (HANGAR_TEST_ISOLATION): isolated, the plugin's worker thread and its message ports are resources too.
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorkspace, testIsolation, type Workspace } from "../support/plugins.js";

const run = promisify(execFile);
let ws: Workspace;
let busy: Server;

beforeAll(async () => {
  ws = await createWorkspace();
  // A plugin that writes config (the writer thread starts) and serves a route.
  await ws.write({
    id: "writer",
    source: `export async function onStart(ctx) {
               await ctx.config.set("started", true);
               const { Router } = await import("express");
               const router = Router();
               router.get("/ping", (_req, res) => res.json({ ok: true }));
               ctx.server.registerRouter("/api/writer", router);
             }
             export async function onStop() {}`,
  });
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  busy.close();
  await ws.cleanup();
});

async function leftAfterStop(outcome: string) {
  const script = path.resolve("test/support/leak-run.mjs");
  const port = String((busy.address() as { port: number }).port);
  // The child must end on its own: a resource left open would keep it alive until this timeout kills it.
  const args = [script, outcome, ws.pluginsDir, ws.dataDir, port, testIsolation];
  const { stdout } = await run(process.execPath, args, {
    cwd: path.resolve("."),
    // Isolated, the plugin's worker boots first: seconds on a loaded machine.
    timeout: testIsolation === "worker" ? 90_000 : 15_000,
  });
  return JSON.parse(stdout) as {
    started: string;
    isolated: number;
    state: string;
    left: string[];
    extraFds: string[];
    active: string[];
  };
}

describe("after stop(), the shell holds nothing", () => {
  it.each([
    ["success", "resolved", "stopped"],
    ["port-in-use", "HANGAR_PORT_IN_USE", "failed"],
    ["missing-folder", "HANGAR_SHELL_OPTIONS", "failed"],
    ["stop-during-boot", "resolved", "stopped"],
  ])("when start() had %s", async (outcome, started, state) => {
    const result = await leftAfterStop(outcome);
    expect(result.started).toBe(started);
    // The writer plugin ran in its own worker thread when isolated and the shell started.
    expect(result.isolated).toBe(testIsolation === "worker" && outcome === "success" ? 1 : 0);
    expect(result.state).toBe(state);
    expect(result.left).toEqual([]);
    expect(result.extraFds).toEqual([]);
    expect(result.active).toEqual([]);
  });
});
