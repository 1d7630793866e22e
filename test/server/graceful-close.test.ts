// shell.stop() and the HTTP server: in-flight requests finish, new ones are refused or told to retry,
// keep-alive sockets are closed, and a stopped shell lets its process exit (a real child process).
import { execFile } from "node:child_process";
import { Agent, request } from "node:http";
import type { Socket } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Shell } from "../../src/index.js";
import { createWorkspace, testShell, type Workspace } from "../support/plugins.js";
import { until } from "./harness.js";

declare global {
  // Gates the generated plugins wait on; the test opens them.
  var __hangarGates: Record<string, { entered: number; release: () => void }> | undefined;
}

const run = promisify(execFile);
let ws: Workspace;
let shell: Shell | undefined;

/** Source of a plugin module that blocks `hook` ("route" or "stop") on the gate named `gate`. */
function gatedPlugin(id: string, blocked: "route" | "stop"): string {
  const wait = (gate: string) => `await new Promise((resolve) => {
      const gates = (globalThis.__hangarGates ??= {});
      gates["${gate}"] = { entered: (gates["${gate}"]?.entered ?? 0) + 1, release: resolve };
    });`;
  return `
export async function onStart(ctx) {
  ctx.server.registerRouter("/api/${id}", async (req, res) => {
    ${blocked === "route" ? wait(`${id}:route`) : ""}
    res.json({ finished: true, path: req.url });
  });
}
export async function onStop() {
  ${blocked === "stop" ? wait(`${id}:stop`) : ""}
}`;
}

const gate = (name: string) => globalThis.__hangarGates?.[name];

beforeEach(async () => {
  ws = await createWorkspace();
  globalThis.__hangarGates = {};
});

afterEach(async () => {
  for (const open of Object.values(globalThis.__hangarGates ?? {})) open.release();
  await shell?.stop();
  shell = undefined;
  await ws.cleanup();
});

async function startShell(): Promise<{ shell: Shell; url: string }> {
  const made = testShell(ws);
  shell = made.shell;
  await shell.start();
  return { shell, url: shell.status().server.url! };
}

describe("shell.stop() and HTTP", () => {
  it("lets a request in flight finish while the server closes, and refuses new connections meanwhile", async () => {
    await ws.write({ id: "slow", source: gatedPlugin("slow", "route") });
    const { shell, url } = await startShell();
    const inFlight = fetch(`${url}/api/slow/report`);
    await until(() => gate("slow:route")?.entered === 1);

    const stopping = shell.stop();
    await until(() => shell.actor.getSnapshot().matches({ shuttingDown: "closingServer" }));
    await expect(fetch(`${url}/api/_shell/health`)).rejects.toThrow();

    gate("slow:route")!.release();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ finished: true, path: "/report" });
    await stopping;
    expect(shell.status().state).toBe("stopped");
  });

  it("answers requests that arrive while plugins stop with 503 and Retry-After, without holding them", async () => {
    await ws.write({ id: "lingering", source: gatedPlugin("lingering", "stop") });
    const { shell, url } = await startShell();
    const stopping = shell.stop();
    await until(() => gate("lingering:stop")?.entered === 1);

    const res = await fetch(`${url}/api/lingering/x`);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).not.toBeNull();
    expect(await res.json()).toMatchObject({ success: false, state: "stopping" });
    const health = await fetch(`${url}/api/_shell/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ state: "shuttingDown" });

    gate("lingering:stop")!.release();
    await stopping;
  });

  it("closes idle keep-alive connections when it stops", async () => {
    await ws.write({ id: "slow", source: gatedPlugin("slow", "stop") });
    const { shell, url } = await startShell();
    const agent = new Agent({ keepAlive: true });
    try {
      const socket = await new Promise<Socket>((resolve, reject) => {
        const req = request(`${url}/api/_shell/health`, { agent }, (res) => {
          res.resume();
          res.on("end", () => resolve(req.socket as Socket));
        });
        req.on("error", reject);
        req.end();
      });
      await until(() => Object.keys(agent.freeSockets).length === 1);
      expect(socket.destroyed).toBe(false);
      const stopping = shell.stop();
      await until(() => gate("slow:stop")?.entered === 1);
      gate("slow:stop")!.release();
      await stopping;
      // The server, not the client, closed it: the agent drops it from its pool of reusable sockets.
      await until(() => socket.destroyed && Object.keys(agent.freeSockets).length === 0);
    } finally {
      agent.destroy();
    }
  });
});

describe("process exit", () => {
  it("lets a process exit on its own after shell.stop(), with keep-alive clients and a response that never ends", async () => {
    await ws.write({
      id: "stream",
      source: `
export async function onStart(ctx) {
  ctx.server.registerRouter("/api/stream", (req, res) => {
    if (req.url === "/forever") { res.writeHead(200, { "content-type": "text/plain" }); res.write("tick\\n"); return; }
    res.json({ ok: true });
  });
}
export async function onStop() {}`,
    });
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "close-run.ts");
    // If anything kept the event loop alive, the child would not exit and execFile would kill it at the timeout.
    const { stdout } = await run(process.execPath, ["--import", "tsx", script, ws.pluginsDir, ws.dataDir], {
      timeout: 20_000,
    });
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result).toEqual({
      keepAliveStatus: 200,
      foreverFirstChunk: "tick\n",
      foreverOutcome: "cut",
      keepAliveSocketClosed: true,
      state: "stopped",
    });
  });
});
