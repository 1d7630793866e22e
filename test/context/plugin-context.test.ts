// Tests a plugin context wired to real parts: the memory transport, files in a temp dir, and a real Express server.

import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import express from "express";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAuthState } from "../../src/context/auth-state.js";
import { createFileConfigBackend } from "../../src/context/config-file.js";
import { createLogger } from "../../src/context/logger.js";
import { createPluginContext, type PluginContextHandle } from "../../src/context/plugin-context.js";
import { createMemoryIpc, type MemoryIpc } from "../../src/ipc/memory.js";
import type { PluginRouter } from "../../src/sdk/types.js";
import { RouteTable } from "../../src/server/route-table.js";

let dataDir: string;
let server: Server;
let baseUrl: string;
let routes: RouteTable;
let ipc: MemoryIpc;
let logLines: string[];
let handles: PluginContextHandle[];

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "hangar-context-"));
  routes = new RouteTable();
  ipc = createMemoryIpc();
  logLines = [];
  handles = [];
  const app = express();
  app.use((req, res, next) => {
    const id = /^\/api\/([^/]+)/.exec(req.path)?.[1];
    if (id) routes.dispatch(id, req, res, next);
    else next();
  });
  app.use((_req, res) => {
    res.status(404).json({ success: false, error: "not found" });
  });
  server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const handle of handles) handle.dispose();
  await new Promise((resolve) => server.close(resolve));
  await rm(dataDir, { recursive: true, force: true });
});

function open(pluginId = "fleet-board", extra: { onDisposeError?: (error: unknown) => void } = {}) {
  const logger = createLogger({
    format: "json",
    level: "debug",
    destination: { write: (chunk: string) => logLines.push(chunk) },
  });
  const auth = createAuthState("token-1");
  const config = createFileConfigBackend({ dataDir });
  const handle = createPluginContext({
    pluginId,
    logger: logger.forPlugin(pluginId),
    config: config.store(pluginId),
    ipc,
    auth: auth.accessor,
    routes,
    ...extra,
  });
  handles.push(handle);
  return { handle, ctx: handle.context, auth, config };
}

function statusRouter(body: unknown): PluginRouter {
  const router = express.Router();
  router.get("/status", (_req, res) => {
    res.json(body);
  });
  return router as unknown as PluginRouter;
}

function thrown(run: () => unknown): Error & { code?: string; cause?: unknown } {
  try {
    run();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected the call to throw");
}

describe("ipc", () => {
  it("prefixes channels with plugin:{id}: and calls the handler with only the payload", async () => {
    const { ctx } = open();
    let args: unknown[] = [];
    ctx.ipc.handle("get-status", (...received: unknown[]) => {
      args = received;
      return { online: true, pilots: 42 };
    });
    await expect(ipc.invoke("plugin:fleet-board:get-status", { verbose: true })).resolves.toEqual({
      online: true,
      pilots: 42,
    });
    expect(args).toEqual([{ verbose: true }]);
    await expect(ipc.invoke("get-status")).rejects.toThrow("No handler registered for 'get-status'");
  });

  it("pushes send() to the renderer on the prefixed channel", async () => {
    const { ctx } = open();
    const seen: unknown[] = [];
    ipc.on("plugin:fleet-board:new-flight-available", (payload) => seen.push(payload));
    ctx.ipc.send("new-flight-available", { flightId: "VA123" });
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([{ flightId: "VA123" }]);
  });

  it("a second handler for a channel throws Electron's error with the full channel", () => {
    const { ctx } = open();
    ctx.ipc.handle("get-status", () => 1);
    expect(() => ctx.ipc.handle("get-status", () => 2)).toThrow(
      "Attempted to register a second handler for 'plugin:fleet-board:get-status'",
    );
  });

  it("send() throws HANGAR_IPC_UNCLONEABLE at the call for a payload that cannot be cloned", () => {
    const { ctx } = open();
    const error = thrown(() => ctx.ipc.send("status-update", { onClick: () => 1 }));
    expect(error.code).toBe("HANGAR_IPC_UNCLONEABLE");
    expect(error.message).toContain("Plugin 'fleet-board' called ipc.send('status-update')");
    expect((error.cause as Error).name).toBe("DataCloneError");
  });

  for (const [what, channel] of [
    ["empty", ""],
    ["too long", "x".repeat(201)],
    ["with whitespace", "get status"],
    ["already prefixed", "plugin:fleet-board:get-status"],
    ["not a string", 7],
  ] as const) {
    it(`rejects a channel that is ${what} with HANGAR_IPC_CHANNEL`, () => {
      const { ctx } = open();
      for (const call of [
        () => ctx.ipc.handle(channel as string, () => 1),
        () => ctx.ipc.send(channel as string, 1),
      ]) {
        const error = thrown(call);
        expect(error.code).toBe("HANGAR_IPC_CHANNEL");
        expect(error.message).toContain("Plugin 'fleet-board' called ipc.");
      }
    });
  }

  it("tells the author which name to pass when the channel is already prefixed", () => {
    const { ctx } = open();
    expect(thrown(() => ctx.ipc.handle("plugin:fleet-board:get-status", () => 1)).message).toContain(
      "pass 'get-status' instead",
    );
  });

  it("accepts a 200-character channel", async () => {
    const { ctx } = open();
    const channel = "c".repeat(200);
    ctx.ipc.handle(channel, () => "ok");
    await expect(ipc.invoke(`plugin:fleet-board:${channel}`)).resolves.toBe("ok");
  });

  it("logs a failing handler to the plugin's logger and rejects the invoke", async () => {
    const { ctx } = open();
    ctx.ipc.handle("explode", () => {
      throw new Error("handler bug");
    });
    await expect(ipc.invoke("plugin:fleet-board:explode")).rejects.toThrow("Error: handler bug");
    const record = JSON.parse(logLines.at(-1)!) as {
      pluginId: string;
      level: number;
      data: { message: string }[];
    };
    expect(record).toMatchObject({ pluginId: "fleet-board", level: 50 });
    expect(record.data[0]?.message).toBe("handler bug");
  });
});

describe("server", () => {
  it("mounts a router under /api/{id}, reachable over HTTP", async () => {
    const { ctx } = open();
    ctx.server.registerRouter("/api/fleet-board", statusRouter({ ok: true }));
    const response = await fetch(`${baseUrl}/api/fleet-board/status`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it("refuses a path outside the plugin's namespace with HANGAR_ROUTE_NAMESPACE", async () => {
    const { ctx } = open();
    expect(thrown(() => ctx.server.registerRouter("/api/other-plugin", statusRouter({}))).code).toBe(
      "HANGAR_ROUTE_NAMESPACE",
    );
    expect((await fetch(`${baseUrl}/api/other-plugin/status`)).status).toBe(404);
  });
});

describe("dispose", () => {
  it("removes every route and IPC handler, aborts the signal, and is idempotent", async () => {
    const { handle, ctx } = open();
    ctx.server.registerRouter("/api/fleet-board", statusRouter({ ok: true }));
    ctx.server.registerRouter("/api/fleet-board/v2", statusRouter({ v: 2 }));
    ctx.ipc.handle("get-status", () => 1);
    ctx.ipc.handle("get-fleet", () => 2);
    const aborts: unknown[] = [];
    ctx.signal.addEventListener("abort", () => aborts.push(ctx.signal.reason));
    expect((await fetch(`${baseUrl}/api/fleet-board/v2/status`)).status).toBe(200);

    expect(handle.disposed).toBe(false);
    handle.dispose();
    handle.dispose();

    expect(handle.disposed).toBe(true);
    expect(ctx.signal.aborted).toBe(true);
    expect(aborts).toHaveLength(1);
    expect((await fetch(`${baseUrl}/api/fleet-board/status`)).status).toBe(404);
    expect((await fetch(`${baseUrl}/api/fleet-board/v2/status`)).status).toBe(404);
    await expect(ipc.invoke("plugin:fleet-board:get-status")).rejects.toThrow("No handler registered");
    await expect(ipc.invoke("plugin:fleet-board:get-fleet")).rejects.toThrow("No handler registered");
  });

  it("lets a fresh context register the same channel and path after the old one is disposed", async () => {
    const first = open();
    first.ctx.ipc.handle("get-status", () => "old");
    first.ctx.server.registerRouter("/api/fleet-board", statusRouter({ gen: 1 }));
    first.handle.dispose();

    const second = open();
    second.ctx.ipc.handle("get-status", () => "new");
    second.ctx.server.registerRouter("/api/fleet-board", statusRouter({ gen: 2 }));
    await expect(ipc.invoke("plugin:fleet-board:get-status")).resolves.toBe("new");
    expect(await (await fetch(`${baseUrl}/api/fleet-board/status`)).json()).toEqual({ gen: 2 });
  });

  it("makes late registrations throw HANGAR_CONTEXT_DISPOSED naming the plugin and the call", () => {
    const { handle, ctx } = open();
    handle.dispose();
    const cases: [() => unknown, string][] = [
      [() => ctx.ipc.handle("late", () => 1), "ipc.handle('late')"],
      [() => ctx.ipc.send("late", 1), "ipc.send('late')"],
      [
        () => ctx.server.registerRouter("/api/fleet-board", statusRouter({})),
        "server.registerRouter('/api/fleet-board')",
      ],
    ];
    for (const [call, what] of cases) {
      const error = thrown(call);
      expect(error.code).toBe("HANGAR_CONTEXT_DISPOSED");
      expect(error.message).toBe(
        `Plugin 'fleet-board' called ${what} after its context was disposed (its onStop ran, or its onStart failed or timed out). Stop timers and listeners when ctx.signal aborts.`,
      );
    }
  });

  it("rejects config writes after dispose but still serves reads", async () => {
    const { handle, ctx, config } = open();
    await ctx.config.set("refresh_interval", 30);
    handle.dispose();
    await expect(ctx.config.set("refresh_interval", 60)).rejects.toMatchObject({
      code: "HANGAR_CONTEXT_DISPOSED",
      message: expect.stringContaining("config.set('refresh_interval')"),
    });
    await expect(ctx.config.delete("refresh_interval")).rejects.toMatchObject({
      code: "HANGAR_CONTEXT_DISPOSED",
    });
    expect(await ctx.config.get("refresh_interval")).toBe(30);
    expect(await ctx.config.getAll()).toEqual({ refresh_interval: 30 });
    await config.flush();
    expect(config.writeCount).toBe(1);
  });

  it("routes an exception thrown by an abort listener to onDisposeError, and the other listeners still run", () => {
    const errors: unknown[] = [];
    const { handle, ctx } = open("fleet-board", { onDisposeError: (error) => errors.push(error) });
    const ran: string[] = [];
    ctx.signal.addEventListener("abort", () => {
      throw new Error("cleanup bug");
    });
    ctx.signal.addEventListener("abort", () => ran.push("second"));
    ctx.signal.addEventListener("abort", {
      handleEvent: () => {
        throw new Error("object listener bug");
      },
    });
    ctx.signal.onabort = () => {
      throw new Error("onabort bug");
    };
    handle.dispose();
    expect(ran).toEqual(["second"]);
    expect(errors.map((e) => (e as Error).message).sort()).toEqual([
      "cleanup bug",
      "object listener bug",
      "onabort bug",
    ]);
  });

  it("by default logs a throwing abort listener as the plugin's error, naming the call and the fix", () => {
    const { handle, ctx } = open("abort-throw");
    ctx.signal.addEventListener("abort", () => {
      throw new Error("cleanup bug");
    });
    handle.dispose();
    const line = logLines.map((text) => JSON.parse(text)).find((record) => record.pluginId === "abort-throw");
    expect(line).toMatchObject({ level: 50, tag: "hangar" });
    expect(line.msg).toBe(
      "Plugin 'abort-throw': a listener it added with ctx.signal.addEventListener('abort', …) threw while its context closed; hangar went on closing it. Catch errors inside the plugin's abort listeners.",
    );
    expect(JSON.stringify(line)).toContain("cleanup bug");
  });

  it("honours removeEventListener and onabort = null on the guarded signal", () => {
    const { handle, ctx } = open();
    const ran: string[] = [];
    const listener = () => ran.push("removed");
    ctx.signal.addEventListener("abort", listener);
    ctx.signal.removeEventListener("abort", listener);
    ctx.signal.onabort = () => ran.push("onabort");
    expect(typeof ctx.signal.onabort).toBe("function");
    ctx.signal.onabort = null;
    ctx.signal.addEventListener("abort", () => ran.push("kept"), { once: true });
    handle.dispose();
    expect(ran).toEqual(["kept"]);
  });

  it("logs a failing release to the plugin's logger by default", () => {
    const { handle, ctx } = open();
    const brokenRoutes = {
      register: () => ({
        dispose() {
          throw new Error("unmount failed");
        },
      }),
    };
    const other = createPluginContext({
      pluginId: "fleet-board",
      logger: {
        debug: () => {},
        info: () => {},
        warn: () => {},
        error: (tag, message, ...data) =>
          logLines.push(JSON.stringify({ tag, message, data: String(data[0]) })),
      },
      config: ctx.config,
      ipc,
      auth: ctx.auth,
      routes: brokenRoutes,
    });
    other.context.server.registerRouter("/api/fleet-board", statusRouter({}));
    expect(() => other.dispose()).not.toThrow();
    expect(logLines.at(-1)).toContain("unmount failed");
    handle.dispose();
  });
});

describe("the context object", () => {
  it("is frozen, as is every service on it", () => {
    const { ctx } = open();
    expect(Object.isFrozen(ctx)).toBe(true);
    for (const service of [ctx.logger, ctx.config, ctx.ipc, ctx.auth, ctx.server]) {
      expect(Object.isFrozen(service)).toBe(true);
    }
    expect(() => {
      (ctx as { pluginId: string }).pluginId = "someone-else";
    }).toThrow(TypeError);
    expect(() => {
      (ctx.ipc as { send: unknown }).send = () => {};
    }).toThrow(TypeError);
  });

  it("reads the shell's live auth state", () => {
    const { ctx, auth } = open();
    expect(ctx.auth.getToken()).toBe("token-1");
    auth.set(null);
    expect(ctx.auth.isAuthenticated()).toBe(false);
    auth.set("token-2");
    expect(ctx.auth.getToken()).toBe("token-2");
  });

  it("keeps each plugin's config to itself", async () => {
    const a = open("plugin-a");
    const b = open("plugin-b");
    await a.ctx.config.set("shared_name", "from a");
    expect(await b.ctx.config.get("shared_name")).toBeUndefined();
  });

  it("logs with the plugin's id and the author's tag", () => {
    const { ctx } = open();
    ctx.logger.info("FleetBoard", "Routes registered");
    expect(JSON.parse(logLines.at(-1)!)).toMatchObject({
      pluginId: "fleet-board",
      tag: "FleetBoard",
      msg: "Routes registered",
    });
  });
});
