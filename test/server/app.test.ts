// The shell app over real HTTP: Host check, CORS, shell routes, dispatcher, JSON 404 (SPEC §6).
import express from "express";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HangarError } from "../../src/errors.js";
import type { PluginRouter } from "../../src/sdk/types.js";
import { createShellApp } from "../../src/server/app.js";
import { RouteTable } from "../../src/server/route-table.js";
import { FakePluginView, rawRequest, startTestShell, type TestShell, until } from "./harness.js";

const asPluginRouter = (router: express.Router): PluginRouter => router as unknown as PluginRouter;

let shell: TestShell;

beforeEach(async () => {
  shell = await startTestShell({ allowedOrigins: ["http://localhost:5173/"] });
});

afterEach(async () => {
  await shell.close();
});

function helloRouter(): express.Router {
  const router = express.Router();
  router.get("/hello", (req, res) => {
    res.json({ hello: true, baseUrl: req.baseUrl, path: req.path });
  });
  return router;
}

describe("Host check (DNS rebinding)", () => {
  it("answers the loopback names on the bound port", async () => {
    for (const host of [`127.0.0.1:${shell.port}`, `localhost:${shell.port}`, `[::1]:${shell.port}`]) {
      const res = await rawRequest(shell.port, { host });
      expect(res.status, host).toBe(200);
    }
  });

  it.each([
    ["a rebinding name", "evil.com:PORT"],
    ["the right name on another port", "127.0.0.1:1"],
    ["no port", "localhost"],
    ["a name ending in a loopback name", "notlocalhost:PORT"],
  ])("refuses %s with 403 JSON", async (_label, template) => {
    const host = template.replace("PORT", String(shell.port));
    const res = await rawRequest(shell.port, { host });
    expect(res.status).toBe(403);
    expect(res.headers["content-type"]).toMatch(/application\/json/);
    const body = JSON.parse(res.body);
    expect(body.success).toBe(false);
    expect(body.error).toContain(`Host '${host}' is not allowed`);
  });

  it("refuses a request with no Host header", async () => {
    const res = await rawRequest(shell.port, { host: null });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).success).toBe(false);
  });

  it("checks Host before any plugin route runs", async () => {
    shell.view.add("x", "running");
    let calls = 0;
    const router = express.Router();
    router.post("/do", (_req, res) => {
      calls += 1;
      res.json({ ok: true });
    });
    shell.routes.register("x", "/api/x", asPluginRouter(router));
    const res = await rawRequest(shell.port, {
      host: `evil.com:${shell.port}`,
      method: "POST",
      path: "/api/x/do",
    });
    expect(res.status).toBe(403);
    expect(calls).toBe(0);
    expect(shell.logs.some((log) => log.level === "warn" && log.message.includes("foreign Host"))).toBe(true);
  });
});

describe("CORS", () => {
  const health = () => `${shell.url}/api/_shell/health`;

  it("echoes the server's own origins and listed origins, with Vary: Origin", async () => {
    for (const origin of [
      `http://127.0.0.1:${shell.port}`,
      `http://localhost:${shell.port}`,
      "http://localhost:5173",
    ]) {
      const res = await fetch(health(), { headers: { origin } });
      expect(res.headers.get("access-control-allow-origin"), origin).toBe(origin);
      expect(res.headers.get("vary")).toMatch(/Origin/);
    }
  });

  it("never echoes an unlisted or null Origin, and never answers *", async () => {
    for (const origin of [
      "https://evil.example",
      "null",
      "http://localhost:5174",
      `http://127.0.0.1:${shell.port}.evil`,
    ]) {
      const res = await fetch(health(), { headers: { origin } });
      expect(res.status, origin).toBe(200);
      expect(res.headers.get("access-control-allow-origin"), origin).toBeNull();
    }
    const own = await fetch(health(), { headers: { origin: `http://127.0.0.1:${shell.port}` } });
    expect(own.headers.get("access-control-allow-origin")).not.toBe("*");
  });

  it("answers a preflight from an allowed origin with 204 and the methods and headers", async () => {
    const res = await fetch(`${shell.url}/api/x/do`, {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:5173",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-headers")).toBe("content-type");
  });

  it("refuses a preflight from an unlisted or null origin with 403", async () => {
    for (const origin of ["https://evil.example", "null"]) {
      const res = await fetch(`${shell.url}/api/x/do`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST" },
      });
      expect(res.status, origin).toBe(403);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      expect((await res.json()).success).toBe(false);
    }
  });

  it("refuses a state-changing request from a bad Origin before the route runs", async () => {
    shell.view.add("x", "running");
    let calls = 0;
    const router = express.Router();
    router.post("/do", (_req, res) => {
      calls += 1;
      res.json({ ok: true });
    });
    shell.routes.register("x", "/api/x", asPluginRouter(router));

    for (const origin of ["https://evil.example", "null"]) {
      const res = await fetch(`${shell.url}/api/x/do`, { method: "POST", headers: { origin } });
      expect(res.status, origin).toBe(403);
      const body = await res.json();
      expect(body).toEqual({ success: false, error: expect.stringContaining("server.allowedOrigins") });
    }
    expect(calls).toBe(0);

    const allowed = await fetch(`${shell.url}/api/x/do`, {
      method: "POST",
      headers: { origin: "http://localhost:5173" },
    });
    expect(allowed.status).toBe(200);
    const noOrigin = await rawRequest(shell.port, {
      host: `127.0.0.1:${shell.port}`,
      method: "POST",
      path: "/api/x/do",
    });
    expect(noOrigin.status).toBe(200);
    expect(calls).toBe(2);
  });

  it("refuses to be configured with * or null", () => {
    for (const entry of ["*", "null", " "]) {
      const build = () =>
        createShellApp({
          port: () => 0,
          allowedOrigins: [entry],
          plugins: new FakePluginView(),
          routes: new RouteTable(),
          pluginLogger: () => ({ debug() {}, info() {}, warn() {}, error() {} }),
          shellLogger: { warn() {}, error() {} },
        });
      expect(build).toThrow(HangarError);
      expect(build).toThrow(/server\.allowedOrigins/);
    }
  });
});

describe("shell routes", () => {
  it("reports health with counts per state: 200 when running, 503 otherwise", async () => {
    shell.view.add("a", "running");
    shell.view.add("b", "running");
    shell.view.add("c", "errored");
    let res = await fetch(`${shell.url}/api/_shell/health`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.state).toBe("running");
    expect(body.plugins).toMatchObject({ running: 2, errored: 1, starting: 0 });

    shell.view.shell = "starting";
    res = await fetch(`${shell.url}/api/_shell/health`);
    expect(res.status).toBe(503);
    expect((await res.json()).state).toBe("starting");
  });

  it("lists plugin statuses and answers one by id, or a JSON 404", async () => {
    shell.view.add("a", "running");
    shell.view.add("b", "inactive", { background: false });
    const list = await (await fetch(`${shell.url}/api/_shell/plugins`)).json();
    expect(list.map((status: { id: string; state: string }) => [status.id, status.state])).toEqual([
      ["a", "running"],
      ["b", "inactive"],
    ]);

    const one = await fetch(`${shell.url}/api/_shell/plugins/b`);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ id: "b", background: false, state: "inactive" });

    const missing = await fetch(`${shell.url}/api/_shell/plugins/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      success: false,
      error: expect.stringContaining("No plugin 'nope'"),
    });
  });

  it("does not advertise Express", async () => {
    const res = await fetch(`${shell.url}/api/_shell/health`);
    expect(res.headers.get("x-powered-by")).toBeNull();
  });
});

describe("plugin dispatcher", () => {
  it("routes to a running plugin's router with the prefix stripped", async () => {
    shell.view.add("x", "running");
    shell.routes.register("x", "/api/x", asPluginRouter(helloRouter()));
    const res = await fetch(`${shell.url}/api/x/hello?q=1`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ hello: true, baseUrl: "/api/x", path: "/hello" });
  });

  it("tries the most specific mount first and falls through on next()", async () => {
    shell.view.add("x", "running");
    const general = express.Router();
    general.get("/admin/who", (_req, res) => res.json({ from: "general" }));
    general.get("/other", (_req, res) => res.json({ from: "general" }));
    const admin = express.Router();
    admin.get("/who", (_req, res) => res.json({ from: "admin" }));
    shell.routes.register("x", "/api/x", asPluginRouter(general));
    shell.routes.register("x", "/api/x/admin", asPluginRouter(admin));

    expect(await (await fetch(`${shell.url}/api/x/admin/who`)).json()).toEqual({ from: "admin" });
    expect(await (await fetch(`${shell.url}/api/x/other`)).json()).toEqual({ from: "general" });
    const none = await fetch(`${shell.url}/api/x/admin/none`);
    expect(none.status).toBe(404);
  });

  it("stops routing to a registration once it is disposed", async () => {
    shell.view.add("x", "running");
    const registration = shell.routes.register("x", "/api/x", asPluginRouter(helloRouter()));
    expect((await fetch(`${shell.url}/api/x/hello`)).status).toBe(200);
    registration.dispose();
    const res = await fetch(`${shell.url}/api/x/hello`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ success: false, error: "No route for GET /api/x/hello" });
  });

  it("answers an unknown plugin or path with the JSON 404", async () => {
    for (const path of ["/api/nope/hello", "/x", "/api/_shell/nothing"]) {
      const res = await fetch(`${shell.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toEqual({ success: false, error: `No route for GET ${path}` });
    }
  });

  it("does not let one plugin's id reach another's routes", async () => {
    shell.view.add("x", "running");
    shell.view.add("x-other", "running");
    shell.routes.register("x", "/api/x", asPluginRouter(helloRouter()));
    expect((await fetch(`${shell.url}/api/x-other/hello`)).status).toBe(404);
    expect((await fetch(`${shell.url}/api/X/hello`)).status).toBe(404);
  });

  it("answers 500 without the stack when a route throws, logs it, and keeps serving", async () => {
    shell.view.add("x", "running");
    const router = helloRouter();
    router.get("/boom", () => {
      throw new Error("kaboom secret detail");
    });
    router.get("/reject", async () => {
      await Promise.resolve();
      throw new Error("async kaboom");
    });
    shell.routes.register("x", "/api/x", asPluginRouter(router));

    for (const path of ["/boom", "/reject"]) {
      const res = await fetch(`${shell.url}/api/x${path}`);
      expect(res.status, path).toBe(500);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ success: false, error: "Internal error in plugin 'x' route" });
      expect(text).not.toContain("kaboom");
      expect(text).not.toContain("at ");
    }
    // One failure record each, with the fields of a hook failure (docs/cli.md): phase `request`, the plugin's error.
    const errors = shell.logs.filter((log) => log.pluginId === "x" && log.level === "error");
    expect(errors.map((log) => log.data[0])).toEqual([
      expect.objectContaining({ state: "running", phase: "request", code: "HANGAR_ROUTE_FAILED" }),
      expect.objectContaining({ state: "running", phase: "request", code: "HANGAR_ROUTE_FAILED" }),
    ]);
    expect(errors[0]?.message).toContain("Plugin 'x' route GET /api/x/boom failed: kaboom secret detail");
    const [boom, reject] = errors.map((log) => (log.data[0] as { err: unknown }).err);
    expect(boom).toBeInstanceOf(Error);
    expect(reject).toMatchObject({ message: "async kaboom" });

    expect((await fetch(`${shell.url}/api/x/hello`)).status).toBe(200);
  });

  it("cuts the connection when a route fails after its headers went out", async () => {
    shell.view.add("x", "running");
    const router = express.Router();
    router.get("/partial", (_req, res, next) => {
      res.setHeader("content-type", "text/plain");
      res.write("first half");
      setImmediate(() => next(new Error("mid-stream")));
    });
    shell.routes.register("x", "/api/x", asPluginRouter(router));
    const res = await fetch(`${shell.url}/api/x/partial`);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect((await fetch(`${shell.url}/api/_shell/health`)).status).toBe(200);
  });

  it("passes a plugin's own client errors through as 4xx, not 500", async () => {
    shell.view.add("x", "running");
    const router = express.Router();
    router.post("/echo", express.json(), (req, res) => res.json(req.body));
    shell.routes.register("x", "/api/x", asPluginRouter(router));
    const res = await fetch(`${shell.url}/api/x/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    expect((await res.json()).success).toBe(false);
  });

  it.each([
    ["errored", null],
    ["stopped", "5"],
    ["inactive", "5"],
  ] as const)(
    "answers 503 with Retry-After (none when errored: only an update or restart recovers it) for a %s plugin",
    async (state, retryAfter) => {
      shell.view.add(
        "x",
        state,
        state === "errored" ? { error: { phase: "start", code: "HANGAR_START_FAILED", message: "m" } } : {},
      );
      shell.routes.register("x", "/api/x", asPluginRouter(helloRouter()));
      const res = await fetch(`${shell.url}/api/x/hello`);
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe(retryAfter);
      const body = await res.json();
      expect(body).toEqual({
        success: false,
        error: expect.stringContaining(`Plugin 'x' is ${state}`),
        state,
      });
    },
  );

  it("holds a request while the plugin starts and answers once it runs", async () => {
    shell.view.add("x", "starting");
    let answered = false;
    const pending = fetch(`${shell.url}/api/x/hello`).then((res) => {
      answered = true;
      return res;
    });
    await until(() => shell.view.waiting === 1);
    expect(answered).toBe(false);

    // What onStart does: register its routes, then the plugin becomes running.
    shell.routes.register("x", "/api/x", asPluginRouter(helloRouter()));
    shell.view.setState("x", "running");
    const res = await pending;
    expect(res.status).toBe(200);
    expect((await res.json()).hello).toBe(true);
  });

  it.each(["loaded", "backoff"] as const)(
    "holds a request while the plugin is %s (busy) and answers once it runs",
    async (state) => {
      shell.view.add("x", state);
      const pending = fetch(`${shell.url}/api/x/hello`);
      await until(() => shell.view.waiting === 1);
      shell.routes.register("x", "/api/x", asPluginRouter(helloRouter()));
      shell.view.setState("x", "running");
      expect((await pending).status).toBe(200);
    },
  );

  it("answers 503 with Retry-After: 1 when the plugin is still starting after the wait", async () => {
    shell.view.add("x", "starting");
    shell.view.expireWaitsAtOnce = true;
    const res = await fetch(`${shell.url}/api/x/hello`);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await res.json()).toMatchObject({ success: false, state: "starting" });
  });

  it("answers 503 when a plugin that was starting fails instead", async () => {
    shell.view.add("x", "starting");
    const pending = fetch(`${shell.url}/api/x/hello`);
    await until(() => shell.view.waiting === 1);
    shell.view.setState("x", "errored");
    const res = await pending;
    expect(res.status).toBe(503);
    expect((await res.json()).state).toBe("errored");
  });
});
