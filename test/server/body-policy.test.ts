// Request bodies over real sockets: the size ceiling (413), declared lengths only (411), read-only shell routes
// (405).
import { Agent, request } from "node:http";
import express from "express";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PluginRouter } from "../../src/sdk/types.js";
import { startTestShell, type TestShell } from "./harness.js";

const LIMIT = 1000;
let shell: TestShell;
let received: number[] = [];

beforeEach(async () => {
  shell = await startTestShell({ bodyLimit: LIMIT });
  received = [];
  const router = express.Router();
  router.post("/upload", express.raw({ type: () => true, limit: "10mb" }), (req, res) => {
    const length = Buffer.isBuffer(req.body) ? req.body.length : 0;
    received.push(length);
    res.json({ received: length });
  });
  shell.view.add("x", "running");
  shell.routes.register("x", "/api/x", router as unknown as PluginRouter);
});

afterEach(async () => {
  await shell.close();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** True when the server closed the connection after answering. */
  closed: boolean;
}

/**
 * Sends headers and `body` (possibly less than the declared length) on a keep-alive connection, so only the
 * server can decide to close it; resolves once the answer is in and the connection is closed.
 */
function send(
  port: number,
  options: { method?: string; path: string; headers: Record<string, string | number>; body?: string },
): Promise<Answer> {
  const agent = new Agent({ keepAlive: true });
  return new Promise<Answer>((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      method: options.method ?? "POST",
      path: options.path,
      headers: options.headers,
      agent,
    });
    req.on("error", reject);
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => {
        const answer = { status: res.statusCode ?? 0, headers: res.headers, body, closed: true };
        if (req.socket?.destroyed) resolve(answer);
        else req.socket?.once("close", () => resolve(answer));
      });
    });
    if (options.body !== undefined) req.write(options.body);
    // A declared length we never complete: the request stays open until the server answers.
    const declared = options.headers["content-length"];
    if (declared === undefined || Number(declared) === (options.body ?? "").length) req.end();
  }).finally(() => agent.destroy());
}

describe("body limit", () => {
  it("lets a body up to the limit reach the plugin route", async () => {
    const res = await fetch(`${shell.url}/api/x/upload`, { method: "POST", body: "a".repeat(LIMIT) });
    expect(await res.json()).toEqual({ received: LIMIT });
  });

  it("refuses a larger body with 413 JSON before the route runs", async () => {
    const res = await fetch(`${shell.url}/api/x/upload`, { method: "POST", body: "a".repeat(LIMIT + 1) });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { success: boolean; error: string };
    expect(body.success).toBe(false);
    expect(body.error).toContain(`${LIMIT + 1}-byte body`);
    expect(body.error).toContain("server.bodyLimit");
    expect(received).toEqual([]);
  });

  it("answers a huge declared body at once and closes the connection instead of reading it", async () => {
    const answer = await send(shell.port, {
      path: "/api/x/upload",
      headers: { "content-length": 50_000_000, "content-type": "application/octet-stream" },
      body: "only the first bytes",
    });
    expect(answer.status).toBe(413);
    expect(answer.headers.connection).toBe("close");
    expect(answer.closed).toBe(true);
    expect(received).toEqual([]);
  });

  it("refuses a chunked body (no declared length) with 411", async () => {
    const answer = await send(shell.port, {
      path: "/api/x/upload",
      headers: { "transfer-encoding": "chunked" },
      body: "a chunk",
    });
    expect(answer.status).toBe(411);
    expect(JSON.parse(answer.body).error).toContain("Content-Length");
    expect(received).toEqual([]);
  });

  it("applies the default limit of 1 MiB when none is given", async () => {
    const plain = await startTestShell();
    try {
      const answer = await send(plain.port, {
        method: "PUT",
        path: "/api/x/upload",
        headers: { "content-length": 1024 * 1024 + 1 },
        body: "",
      });
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body).error).toContain(`at most ${1024 * 1024} bytes`);
    } finally {
      await plain.close();
    }
  });
});

describe("shell routes are read-only", () => {
  it.each(["POST", "PUT", "PATCH", "DELETE"])("answers %s with 405 and Allow: GET, HEAD", async (method) => {
    for (const path of ["/api/_shell/health", "/api/_shell/plugins/x", "/api/_shell"]) {
      const res = await fetch(`${shell.url}${path}`, { method, body: "{}" });
      expect(res.status, path).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, HEAD");
      expect(((await res.json()) as { error: string }).error).toContain("only answer GET and HEAD");
    }
  });

  it("still answers HEAD", async () => {
    const res = await fetch(`${shell.url}/api/_shell/plugins`, { method: "HEAD" });
    expect(res.status).toBe(200);
  });
});
