// The inspector over real HTTP: the token, the security headers, the Host/Origin rules in front, the assets
// (all served locally), the live feed, the export, the diagrams and the opt-in actions.
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { descendants, describeMachine } from "../../src/graph/statechart-model.js";
import { parseSessionFile } from "../../src/inspector/client/session-file.js";
import { createInspector } from "../../src/inspector/inspector.js";
import { pluginMachine } from "../../src/machines/plugin.machine.js";
import type { Shell } from "../../src/shell.js";
import { createWorkspace, testShell } from "../support/plugins.js";
import { FeedReader, inspectorUrls, startFleet } from "./harness.js";

/** A GET with a Host header of our choosing (fetch will not let us set one). */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the inspector's routes, watch-only (the default)", () => {
  let fleet: Awaited<ReturnType<typeof startFleet>>;
  let shell: Shell;
  let urls: ReturnType<typeof inspectorUrls>;

  beforeAll(async () => {
    fleet = await startFleet({ inspector: true });
    shell = fleet.shell;
    urls = inspectorUrls(shell);
  });
  afterAll(() => fleet.close());

  it("gives the page URL with a long random token in status()", () => {
    const url = new URL(urls.page);
    expect(url.pathname).toBe("/_hangar/inspect");
    expect(url.origin).toBe(shell.status().server.url);
    expect(urls.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("serves the page only with the token, and says where to find it otherwise", async () => {
    const page = await fetch(urls.page);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain('<script type="module" src="/_hangar/inspect/assets/main.js">');

    for (const url of [
      `${urls.origin}/_hangar/inspect`,
      `${urls.origin}/_hangar/inspect?token=${"x".repeat(43)}`,
    ]) {
      const refused = await fetch(url);
      expect(refused.status).toBe(401);
      expect(await refused.text()).toContain("shell.status().inspector.url");
    }
    const api = await fetch(`${urls.origin}/_hangar/inspect/api/session.jsonl?token=${urls.token.slice(1)}`);
    expect(api.status).toBe(401);
    expect(((await api.json()) as { success: boolean }).success).toBe(false);
    // The header works too (for tools), and is the only way for POSTs.
    const byHeader = await fetch(`${urls.origin}/_hangar/inspect/api/session.jsonl`, {
      headers: { "X-Hangar-Inspector-Token": urls.token },
    });
    expect(byHeader.status).toBe(200);
  });

  it("sends the security headers on every inspector response, refusals included", async () => {
    for (const url of [
      urls.page,
      `${urls.origin}/_hangar/inspect`,
      `${urls.origin}/_hangar/inspect/assets/main.js`,
    ]) {
      const response = await fetch(url);
      const csp = response.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(response.headers.get("x-frame-options")).toBe("DENY");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      expect(response.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("keeps the server's Host check in front: a foreign Host is refused even with the token", async () => {
    const port = new URL(urls.origin).port;
    expect((await getWithHost(urls.page, "evil.example")).status).toBe(403);
    expect((await getWithHost(urls.page, `localhost:${port}`)).status).toBe(200);
  });

  it("serves every file of the page from the shell itself: no CDN, no other host", async () => {
    const seen = new Set<string>();
    const queue = ["main.js", "inspector.css"];
    while (queue.length > 0) {
      const name = queue.shift() as string;
      if (seen.has(name)) continue;
      seen.add(name);
      const response = await fetch(`${urls.origin}/_hangar/inspect/assets/${name}`);
      expect(response.status, name).toBe(200);
      const text = await response.text();
      expect(text, name).not.toMatch(/https?:\/\/(?!www\.w3\.org\/)/);
      for (const match of text.matchAll(/from "(\.{1,2}\/[^"]+)"/g)) {
        queue.push(new URL(match[1] as string, `http://x/${name}`).pathname.slice(1));
      }
    }
    expect(seen).toContain("views/statechart.js");
    expect(seen).toContain("session.js");
    const html = await (await fetch(urls.page)).text();
    expect(html).not.toMatch(/https?:\/\//);
  });

  it("answers 404 for anything outside the page's own files", async () => {
    for (const name of [
      "main.ts",
      "..%2f..%2fpackage.json",
      "%2e%2e/recorder.js",
      "views/../../recorder.js",
      "x.png",
    ]) {
      const response = await fetch(`${urls.origin}/_hangar/inspect/assets/${name}`);
      expect(response.status, name).toBe(404);
    }
  });

  it("feeds a late page the session, the current snapshots and live records", async () => {
    const response = await fetch(urls.api("feed"));
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const feed = new FeedReader(response);
    await feed.until((event) => event.event === "ready");
    const { header, records } = feed.session();
    expect(header.session.allowActions).toBe(false);
    expect(header.session.maxRecords).toBe(10_000);
    const states = new Map<string, unknown>();
    const ids = new Map<string, string>();
    for (const record of records) {
      if (record.kind === "actor") ids.set(record.actor.key, record.actor.id);
      if (record.kind === "snapshot")
        states.set(ids.get(record.actor) ?? record.actor, record.snapshot.value);
    }
    expect(states.get("shell")).toBe("running");
    // `running` is a step of `active`, the state that owns the plugin's context.
    expect(states.get("plugin:alpha")).toEqual({ active: "running" });
    expect(states.get("plugin:gamma")).toBe("errored");
    expect(states.get("plugin:ui-only")).toBe("inactive");

    const updating = shell.update({ changed: ["beta"] });
    await feed.until((event) => event.event === "record" && event.data.includes('"stopping":"toReload"'));
    await updating;
    await feed.cancel();
  });

  it("exports the window as a session file the page can read back", async () => {
    const response = await fetch(urls.api("session.jsonl"));
    expect(response.headers.get("content-disposition")).toMatch(
      /^attachment; filename="hangar-session-.*\.jsonl"$/,
    );
    const session = parseSessionFile(await response.text());
    expect(session.header.exportedAt).toBeDefined();
    expect(session.records.map((record) => record.seq)).toEqual(session.records.map((_, index) => index));
  });

  it("serves both statecharts, every plugin state tagged by its path", async () => {
    const body = (await (await fetch(urls.api("machines"))).json()) as {
      machines: Array<{ id: string; svg: string }>;
    };
    expect(body.machines.map((machine) => machine.id).sort()).toEqual(["plugin", "shell"]);
    const plugin = body.machines.find((machine) => machine.id === "plugin")?.svg ?? "";
    for (const state of descendants(describeMachine(pluginMachine).root)) {
      // A compound state (`active`, `active.stopping`) is a Graphviz cluster, titled `cluster_<path>`.
      const title = `${state.children.length > 0 ? "cluster_" : ""}${state.path.join(".")}`;
      expect(plugin).toContain(`<title>${title}</title>`);
    }
  });

  it("refuses actions unless the shell allows them", async () => {
    const response = await fetch(`${urls.origin}/_hangar/inspect/api/actions`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Hangar-Inspector-Token": urls.token },
      body: JSON.stringify({ type: "update" }),
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toContain("allowActions: true");
  });

  it("ends open feeds when the shell stops, so shutdown does not wait on them", async () => {
    const other = await startFleet({ inspector: true });
    const feed = new FeedReader(await fetch(inspectorUrls(other.shell).api("feed")));
    await feed.until((event) => event.event === "ready");
    await other.close();
    await feed.until((event) => event.event === "bye");
    await feed.toEnd();
    expect(feed.ended).toBe(true);
    expect(other.shell.status().state).toBe("stopped");
  });
});

describe("the inspector's actions, when allowed", () => {
  let fleet: Awaited<ReturnType<typeof startFleet>>;
  let urls: ReturnType<typeof inspectorUrls>;

  beforeAll(async () => {
    fleet = await startFleet({ inspector: { allowActions: true } });
    urls = inspectorUrls(fleet.shell);
  });
  afterAll(() => fleet.close());

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${urls.origin}/_hangar/inspect/api/actions`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Hangar-Inspector-Token": urls.token, ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  it("restarts a plugin: it is stopped, re-imported and started again", async () => {
    const before = fleet.shell.status().plugins.find((plugin) => plugin.id === "beta")?.startedAt;
    const response = await post({ type: "restart", actor: "plugin:beta" });
    expect(await response.json()).toEqual({ success: true });
    const after = fleet.shell.status().plugins.find((plugin) => plugin.id === "beta");
    expect(after?.state).toBe("running");
    expect(after?.startedAt).not.toBe(before);
  });

  it("sends an event to an actor", async () => {
    expect(
      await (await post({ type: "send", actor: "plugin:alpha", event: { type: "STOP" } })).json(),
    ).toEqual({
      success: true,
    });
    await expect
      .poll(() => fleet.shell.status().plugins.find((plugin) => plugin.id === "alpha")?.state)
      .toBe("stopped");
  });

  it("needs the token in the header, JSON, a known action and a same-origin caller", async () => {
    const noHeader = await fetch(`${urls.api("actions")}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ type: "update" }),
    });
    expect(noHeader.status).toBe(401);
    expect((await post("type=update", { "Content-Type": "application/x-www-form-urlencoded" })).status).toBe(
      415,
    );
    expect((await post({ type: "launch" })).status).toBe(400);
    expect((await post({ type: "send", actor: "shell", event: { type: "xstate.init" } })).status).toBe(400);
    const unknown = await post({ type: "restart", actor: "plugin:nope" });
    expect(unknown.status).toBe(409);
    expect(((await unknown.json()) as { error: string }).error).toContain("'plugin:nope'");
    // A page on another origin cannot act, even if it somehow had the token.
    expect((await post({ type: "update" }, { Origin: "http://evil.example" })).status).toBe(403);
  });
});

describe("the live feed's listeners", () => {
  it("are released when the page goes away, so closed pages cost nothing", async () => {
    const ws = await createWorkspace();
    const inspector = createInspector(
      { token: "feed-listener-test-token-0123" },
      { secrets: () => [], update: async () => {}, logger: { warn() {}, error() {} } },
    );
    const { shell } = testShell(ws, { inspect: inspector.observer });
    const app = express();
    app.use(inspector.router);
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      await shell.start();
      const { port } = server.address() as AddressInfo;
      const feedUrl = `http://127.0.0.1:${port}/_hangar/inspect/api/feed?token=feed-listener-test-token-0123`;
      const pages = await Promise.all([1, 2, 3].map(async () => new FeedReader(await fetch(feedUrl))));
      await Promise.all(pages.map((page) => page.until((event) => event.event === "ready")));
      expect(inspector.recorder.stats().listeners).toBe(3);
      await pages[0]?.cancel();
      await pages[1]?.cancel();
      await expect.poll(() => inspector.recorder.stats().listeners).toBe(1);
      inspector.closeFeeds();
      await pages[2]?.until((event) => event.event === "bye");
      await expect.poll(() => inspector.recorder.stats().listeners).toBe(0);
    } finally {
      await shell.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ws.cleanup();
    }
  });
});

describe("createShell({ inspector }) options", () => {
  it("uses a given token, and refuses a short one or an unknown field without echoing the token", async () => {
    const ws = await createWorkspace();
    try {
      const token = "a-fixed-token-for-tooling-0123456789";
      const { shell } = testShell(ws, { inspector: { token } });
      await shell.start();
      expect(inspectorUrls(shell).token).toBe(token);
      expect((await fetch(inspectorUrls(shell).page)).status).toBe(200);
      await shell.stop();

      expect(() => testShell(ws, { inspector: { token: "short-secret" } })).toThrow(
        expect.objectContaining({
          code: "HANGAR_SHELL_OPTIONS",
          message: expect.not.stringContaining("short-secret"),
        }),
      );
      expect(() => testShell(ws, { inspector: { tokn: "x" } as never })).toThrow(/unknown field tokn/);
    } finally {
      await ws.cleanup();
    }
  });

  it("adds nothing when the inspector is off", async () => {
    const ws = await createWorkspace();
    try {
      const { shell } = testShell(ws);
      await shell.start();
      expect(shell.status().inspector).toBeUndefined();
      expect((await fetch(`${shell.status().server.url}/_hangar/inspect`)).status).toBe(404);
      await shell.stop();
    } finally {
      await ws.cleanup();
    }
  });
});
