// server.token over real HTTP: /api/* needs `Authorization: Bearer <token>`, preflights still work, and the
// token never reaches a log line, neither the shell app's nor (through createShell) a plugin's.
import express from "express";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createShell } from "../../src/index.js";
import type { PluginRouter } from "../../src/sdk/types.js";
import { checkSessionToken } from "../../src/server/session-token.js";
import { createWorkspace, testShell } from "../support/plugins.js";
import { rawRequest, startTestShell, type TestShell } from "./harness.js";

const TOKEN = "s3ssion-t0ken_abcdefghijklmnop";
const asPluginRouter = (router: express.Router): PluginRouter => router as unknown as PluginRouter;

let shell: TestShell;
let routeCalls = 0;

beforeEach(async () => {
  shell = await startTestShell({ token: TOKEN, allowedOrigins: ["http://localhost:5173"] });
  routeCalls = 0;
  const router = express.Router();
  router.all("/hello", (_req, res) => {
    routeCalls += 1;
    res.json({ hello: true });
  });
  shell.view.add("x", "running");
  shell.routes.register("x", "/api/x", asPluginRouter(router));
});

afterEach(async () => {
  await shell.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("with server.token set", () => {
  it("answers /api requests that carry the token, with any letter case of 'Bearer'", async () => {
    const health = await fetch(`${shell.url}/api/_shell/health`, { headers: bearer(TOKEN) });
    expect(health.status).toBe(200);
    const route = await fetch(`${shell.url}/api/x/hello`, { headers: { authorization: `bearer ${TOKEN}` } });
    expect(await route.json()).toEqual({ hello: true });
    expect(routeCalls).toBe(1);
  });

  it.each([
    ["no Authorization header", {}, 'Bearer realm="hangar"', "has no Authorization header"],
    [
      "a wrong token of the same length",
      bearer(TOKEN.replace("s3", "S3")),
      "invalid_token",
      "does not match",
    ],
    ["a wrong token of another length", bearer("short"), "invalid_token", "does not match"],
    [
      "the token in another scheme",
      { authorization: `Basic ${TOKEN}` },
      "invalid_token",
      "not 'Bearer <token>'",
    ],
    ["the bare token", { authorization: TOKEN }, "invalid_token", "not 'Bearer <token>'"],
  ])("refuses %s with 401 JSON before any route runs", async (_label, headers, challenge, problem) => {
    for (const path of [
      "/api/_shell/health",
      "/api/_shell/plugins",
      "/api/x/hello",
      "/api/nope",
      "/API/x/hello",
    ]) {
      const res = await fetch(`${shell.url}${path}`, { method: "POST", headers });
      expect(res.status, path).toBe(401);
      expect(res.headers.get("www-authenticate"), path).toContain(challenge);
      const body = (await res.json()) as { success: boolean; error: string };
      expect(body.success).toBe(false);
      expect(body.error).toContain(problem);
      expect(body.error).toContain("Authorization: Bearer <token>");
      expect(body.error).not.toContain(TOKEN);
    }
    expect(routeCalls).toBe(0);
  });

  it("leaves paths outside /api alone", async () => {
    const res = await fetch(`${shell.url}/index.html`);
    expect(res.status).toBe(404);
  });

  it("still answers a CORS preflight, which never carries credentials, and lets the page read a 401", async () => {
    const preflight = await fetch(`${shell.url}/api/x/hello`, {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:5173",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("authorization");

    const refused = await fetch(`${shell.url}/api/x/hello`, { headers: { origin: "http://localhost:5173" } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");

    const allowed = await fetch(`${shell.url}/api/x/hello`, {
      headers: { origin: "http://localhost:5173", ...bearer(TOKEN) },
    });
    expect(allowed.status).toBe(200);
  });

  it("checks Host before the token: a rebinding page gets 403, not a token challenge", async () => {
    const res = await rawRequest(shell.port, { host: "evil.example:80", path: "/api/x/hello" });
    expect(res.status).toBe(403);
  });

  it("logs refusals without the presented or the real token, and not one line per guess", async () => {
    const guess = "guessed-token-0123456789";
    for (let i = 0; i < 12; i += 1) {
      expect((await fetch(`${shell.url}/api/x/hello`, { headers: bearer(guess) })).status).toBe(401);
    }
    const refusals = shell.logs.filter((log) => log.message.includes("session token"));
    // The 1st and the 10th refusal are logged; a flood of guesses grows the log logarithmically.
    expect(refusals.map((log) => (log.data[0] as { refusedSoFar: number }).refusedSoFar)).toEqual([1, 10]);
    const text = JSON.stringify(shell.logs);
    expect(text).not.toContain(guess);
    expect(text).not.toContain(TOKEN);
  });
});

describe("server.token option", () => {
  it.each([
    ["too short", "abc"],
    ["containing a space", "abcdefgh ijklmnopq"],
    ["containing a quote", 'abcdefghijklmnop"'],
  ])("refuses a token %s, without echoing it", (_label, token) => {
    expect(() => checkSessionToken(token)).toThrow(/server\.token must be a string of at least 16/);
    try {
      createShell({ server: { port: 0, token } });
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: "HANGAR_SHELL_OPTIONS" });
      expect((error as Error).message).not.toContain(token);
    }
  });
});

describe("a real shell with server.token", () => {
  it("requires the token on plugin routes and redacts it from every log line, a plugin's included", async () => {
    const ws = await createWorkspace();
    try {
      await ws.write({
        id: "echo",
        source: `export async function onStart(ctx) {
          ctx.server.registerRouter("/api/echo", (req, res) => {
            ctx.logger.info("http", "request headers", req.headers);
            ctx.logger.warn("http", "raw header: " + req.headers.authorization);
            res.json({ ok: true });
          });
        }
        export async function onStop() {}`,
      });
      const { shell: real, log } = testShell(ws, { server: { port: 0, token: TOKEN } });
      await real.start();
      try {
        const url = real.status().server.url;
        expect((await fetch(`${url}/api/echo`)).status).toBe(401);
        const ok = await fetch(`${url}/api/echo`, { headers: bearer(TOKEN) });
        expect(await ok.json()).toEqual({ ok: true });
        expect(JSON.stringify(real.status())).not.toContain(TOKEN);
      } finally {
        await real.stop();
      }
      const text = log.text();
      expect(text).toContain("request headers");
      expect(text).toContain("Bearer [redacted]");
      expect(text).not.toContain(TOKEN);
    } finally {
      await ws.cleanup();
    }
  });
});
