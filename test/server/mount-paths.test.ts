// How a request reaches a plugin router over real HTTP: the table strips the mount path as Express's
// app.use(path, router) would (url, baseUrl, query, absolute-form targets), at segment boundaries only,
// restoring both for the next mount, and turns throws and rejections from plain-function routers into 500s.
import express from "express";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PluginRouter } from "../../src/sdk/types.js";
import { rawRequest, startTestShell, type TestShell } from "./harness.js";

const asPluginRouter = (router: unknown): PluginRouter => router as PluginRouter;

let shell: TestShell;

beforeEach(async () => {
  shell = await startTestShell();
  shell.view.add("x", "running");
});

afterEach(async () => {
  await shell.close();
});

/** A plain-function router (no Express) that answers with what it saw. */
const seen = (label: string) =>
  asPluginRouter((req: express.Request, res: express.Response) => {
    res.json({ label, url: req.url, baseUrl: req.baseUrl, originalUrl: req.originalUrl });
  });

describe("mount paths", () => {
  it("strips the mount path from url, keeps the query, and sets baseUrl", async () => {
    shell.routes.register("x", "/api/x/files", seen("files"));
    for (const [path, url] of [
      ["/api/x/files/a/b?q=1&r=2", "/a/b?q=1&r=2"],
      ["/api/x/files?q=1", "/?q=1"],
      ["/api/x/files", "/"],
      ["/api/x/files/", "/"],
    ] as const) {
      const body = await (await fetch(`${shell.url}${path}`)).json();
      expect(body, path).toEqual({ label: "files", url, baseUrl: "/api/x/files", originalUrl: path });
    }
  });

  it("matches at segment boundaries only, and case-sensitively", async () => {
    shell.routes.register("x", "/api/x", seen("root"));
    shell.routes.register("x", "/api/x/admin", seen("admin"));
    expect((await (await fetch(`${shell.url}/api/x/admin/users`)).json()).label).toBe("admin");
    const near = await (await fetch(`${shell.url}/api/x/administrator`)).json();
    expect(near).toMatchObject({ label: "root", url: "/administrator", baseUrl: "/api/x" });
    expect((await (await fetch(`${shell.url}/api/x/Admin/users`)).json()).label).toBe("root");
  });

  it("restores url and baseUrl before offering the request to the next mount", async () => {
    const passes = asPluginRouter(
      (_req: express.Request, _res: express.Response, next: express.NextFunction) => next(),
    );
    shell.routes.register("x", "/api/x/deep", passes);
    shell.routes.register("x", "/api/x", seen("root"));
    const body = await (await fetch(`${shell.url}/api/x/deep/path`)).json();
    expect(body).toEqual({
      label: "root",
      url: "/deep/path",
      baseUrl: "/api/x",
      originalUrl: "/api/x/deep/path",
    });
  });

  it("keeps a request on the mounts it started with when a registration happens mid-request", async () => {
    let calls = 0;
    const registering = asPluginRouter(
      (_req: express.Request, _res: express.Response, next: express.NextFunction) => {
        calls += 1;
        shell.routes.register("x", "/api/x/late", seen("late"));
        setImmediate(next);
      },
    );
    shell.routes.register("x", "/api/x", registering);
    const first = await fetch(`${shell.url}/api/x/late/z`);
    expect(first.status).toBe(404);
    expect(calls).toBe(1);
    expect((await (await fetch(`${shell.url}/api/x/late/z`)).json()).label).toBe("late");
  });

  it("serves an absolute-form request target like its origin-form", async () => {
    const router = express.Router();
    router.get("/hello", (req, res) => res.json({ path: req.path, baseUrl: req.baseUrl }));
    shell.routes.register("x", "/api/x", asPluginRouter(router));
    const host = `127.0.0.1:${shell.port}`;
    const res = await rawRequest(shell.port, { host, path: `http://${host}/api/x/hello?z=1` });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ path: "/hello", baseUrl: "/api/x" });
  });

  it("turns a throw or a rejection in a plain-function router into a 500, and keeps serving", async () => {
    shell.routes.register(
      "x",
      "/api/x/sync",
      asPluginRouter(() => {
        throw new Error("sync failure");
      }),
    );
    shell.routes.register(
      "x",
      "/api/x/async",
      asPluginRouter(async () => {
        throw new Error("async failure");
      }),
    );
    shell.routes.register(
      "x",
      "/api/x/empty",
      asPluginRouter(() => Promise.reject(undefined)),
    );
    for (const path of ["/sync", "/async", "/empty"]) {
      const res = await fetch(`${shell.url}/api/x${path}`);
      expect(res.status, path).toBe(500);
      expect(await res.json()).toEqual({ success: false, error: "Internal error in plugin 'x' route" });
    }
    const logged = shell.logs.filter((log) => log.pluginId === "x" && log.level === "error");
    expect(logged.map((log) => log.message)).toEqual([
      expect.stringContaining("sync failure"),
      expect.stringContaining("async failure"),
      expect.stringContaining("Rejected promise"),
    ]);
  });
});
