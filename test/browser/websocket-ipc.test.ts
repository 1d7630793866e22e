// hangar/client in headless Chromium against a real shell: a page served from the shell's own origin invokes
// a real plugin's handlers and receives its events over the WebSocket bridge; a page from another origin cannot.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import ts from "typescript";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createWebSocketIpc } from "../../src/ipc/websocket.js";
import type { Shell } from "../../src/shell.js";
import { describeInChromium, launchChromium } from "../support/chromium.js";
import { type CapturedLog, createWorkspace, testShell, type Workspace } from "../support/plugins.js";

declare global {
  interface Window {
    /** Set by the test page: what it received and the connection it opened. */
    received: unknown[];
    hangar: import("../../src/client/index.js").HangarConnection;
    closedWith: { code: number } | null;
  }
}

/** The page: imports the client as an ES module from the same server, connects, and records events. */
const pageHtml = `<!doctype html>
<html><head><meta charset="utf-8"><title>radar</title></head>
<body><ul id="log"></ul>
<script type="module">
  import { connectHangar } from "./client.js";
  window.received = [];
  window.closedWith = null;
  // ?target= names another shell's bridge (the cross-origin test); by default the page's own server.
  window.hangar = connectHangar(new URLSearchParams(location.search).get("target") ?? undefined);
  window.hangar.on("plugin:radar:contact", (payload) => {
    window.received.push(payload);
    const item = document.createElement("li");
    item.textContent = payload.callsign;
    document.querySelector("#log").append(item);
  });
  window.hangar.closed.then((info) => { window.closedWith = info; });
</script></body></html>`;

/** A real plugin: IPC handlers, and a route that serves the page and the client and pushes events. */
const radarSource = `
import { readFileSync } from "node:fs";
const client = readFileSync(new URL("../static/client.js", import.meta.url), "utf8");
const page = readFileSync(new URL("../static/page.html", import.meta.url), "utf8");
let parked = [];
export async function onStart(ctx) {
  ctx.ipc.handle("add", ({ a, b }) => a + b);
  ctx.ipc.handle("reject", () => { throw new Error("runway closed"); });
  ctx.ipc.handle("park", () => new Promise((resolve) => parked.push(resolve)));
  ctx.ipc.handle("echo-contact", (contact) => { ctx.ipc.send("contact", contact); return "sent"; });
  ctx.server.registerRouter("/api/radar", (req, res, next) => {
    if (req.url === "/page/") return res.type("html").send(page);
    if (req.url === "/page/client.js") return res.type("text/javascript").send(client);
    if (req.url.startsWith("/contact?")) {
      const callsign = new URL(req.url, "http://x").searchParams.get("callsign");
      ctx.ipc.send("contact", { callsign, source: "route" });
      return res.json({ ok: true });
    }
    next();
  });
}
export async function onStop() { for (const resolve of parked) resolve("released"); parked = []; }
`;

let ws: Workspace;
let shell: Shell;
let log: CapturedLog;
let browser: Browser;
let shellUrl: string;
let clientJs: string;

/** The browser client as the page gets it: TypeScript types stripped, one ES module, no imports left. */
async function transpiledClient(): Promise<string> {
  const source = await readFile(path.resolve("src/client/index.ts"), "utf8");
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
  });
  return outputText;
}

async function openPage(url: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.hangar !== undefined);
  return page;
}

describeInChromium("hangar/client in Chromium", () => {
  beforeAll(async () => {
    clientJs = await transpiledClient();
    expect(clientJs).not.toMatch(/^\s*import\s/m); // the page could not resolve a bare or Node import
    ws = await createWorkspace();
    const folder = await ws.write({ id: "radar", source: radarSource });
    await mkdir(path.join(folder, "static"));
    await writeFile(path.join(folder, "static", "client.js"), clientJs);
    await writeFile(path.join(folder, "static", "page.html"), pageHtml);
    ({ shell, log } = testShell(ws, { ipc: createWebSocketIpc() }));
    await shell.start();
    shellUrl = shell.status().server.url!;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await shell?.stop();
    await ws?.cleanup();
  });

  it("invokes a real plugin's handlers from a page on the shell's own origin", async () => {
    const page = await openPage(`${shellUrl}/api/radar/page/`);
    expect(await page.evaluate(() => window.hangar.invoke("plugin:radar:add", { a: 2, b: 40 }))).toBe(42);
    const failures = await page.evaluate(async () => {
      const messages: string[] = [];
      for (const channel of ["plugin:radar:reject", "plugin:radar:missing"]) {
        await window.hangar.invoke(channel).catch((error: Error) => messages.push(error.message));
      }
      return messages;
    });
    expect(failures).toEqual([
      "Error invoking remote method 'plugin:radar:reject': Error: runway closed",
      "Error invoking remote method 'plugin:radar:missing': No handler registered for 'plugin:radar:missing'",
    ]);
    await page.close();
  });

  it("says a message was larger than the shell's limit when the shell closes the link with 1009", async () => {
    const page = await openPage(`${shellUrl}/api/radar/page/`);
    const message = await page.evaluate(() =>
      window.hangar.invoke("plugin:radar:add", { a: "x".repeat(2_000_000), b: 1 }).then(
        () => "resolved",
        (error: Error) => error.message,
      ),
    );
    expect(message).toContain("closed (code 1009)");
    expect(message).toContain("a message was larger than the shell's limit");
    await page.close();
  });

  it("receives events a plugin sends, in every open page, until it unsubscribes", async () => {
    const first = await openPage(`${shellUrl}/api/radar/page/`);
    const second = await openPage(`http://localhost:${new URL(shellUrl).port}/api/radar/page/`);
    // Sent by the plugin from an HTTP route, not in answer to the page: a push.
    const pushed = await fetch(`${shellUrl}/api/radar/contact?callsign=VA123`);
    expect(pushed.status).toBe(200);
    for (const page of [first, second]) {
      await page.waitForFunction(() => window.received.length === 1);
      expect(await page.evaluate(() => window.received)).toEqual([{ callsign: "VA123", source: "route" }]);
      expect(await page.locator("#log li").allTextContents()).toEqual(["VA123"]);
    }

    // A second listener, then unsubscribed: it hears one event, the page's own listener hears both.
    const heard = await first.evaluate(async () => {
      const mine: unknown[] = [];
      const off = window.hangar.on("plugin:radar:contact", (payload) => mine.push(payload));
      await window.hangar.invoke("plugin:radar:echo-contact", { callsign: "VA7" });
      off();
      await window.hangar.invoke("plugin:radar:echo-contact", { callsign: "VA8" });
      return mine;
    });
    expect(heard).toEqual([{ callsign: "VA7" }]);
    await first.waitForFunction(() => window.received.length === 3);
    expect(
      await first.evaluate(() => window.received.map((r) => (r as { callsign: string }).callsign)),
    ).toEqual(["VA123", "VA7", "VA8"]);
    await first.close();
    await second.close();
  });

  it("rejects pending invokes when the page closes the connection", async () => {
    const page = await openPage(`${shellUrl}/api/radar/page/`);
    const outcome = await page.evaluate(async () => {
      const parked = window.hangar.invoke("plugin:radar:park").then(
        () => "resolved",
        (error: Error) => error.message,
      );
      await window.hangar.invoke("plugin:radar:add", { a: 1, b: 1 }); // the park call has reached the shell
      window.hangar.close();
      const afterClose = await window.hangar
        .invoke("plugin:radar:add", { a: 1, b: 1 })
        .catch((e: Error) => e.message);
      return { parked: await parked, afterClose, closed: await window.hangar.closed };
    });
    expect(outcome.parked).toBe(
      "Error invoking remote method 'plugin:radar:park': the connection was closed before a result arrived",
    );
    expect(outcome.afterClose).toMatch(
      /^Error invoking remote method 'plugin:radar:add': the connection is closed/,
    );
    expect(outcome.closed.code).toBe(1000);
    await page.close();
  });

  it("cannot connect from a page on another origin (cross-site WebSocket hijacking)", async () => {
    // The same page and client, served by a different server: the browser sends that server's Origin.
    const foreign: Server = createServer((req, res) => {
      if (req.url === "/client.js") res.writeHead(200, { "content-type": "text/javascript" }).end(clientJs);
      else res.writeHead(200, { "content-type": "text/html" }).end(pageHtml);
    });
    await new Promise<void>((resolve) => foreign.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = foreign.address() as AddressInfo;
      const page = await browser.newPage();
      const target = `${shellUrl.replace("http", "ws")}/_hangar/ipc`;
      await page.goto(`http://127.0.0.1:${port}/?target=${encodeURIComponent(target)}`);
      await page.waitForFunction(() => window.hangar !== undefined);
      const outcome = await page.evaluate(async () => {
        const message = await window.hangar.invoke("plugin:radar:add", { a: 1, b: 2 }).then(
          (value: unknown) => `resolved ${String(value)}`,
          (error: Error) => error.message,
        );
        return { message, closed: await window.hangar.closed };
      });
      expect(outcome.message).toMatch(
        /^Error invoking remote method 'plugin:radar:add': the connection .* closed/,
      );
      expect(outcome.closed.code).toBe(1006);
      // Refused for its Origin, which Chromium set to the foreign page's own.
      const refusals = log.lines.filter((line) =>
        String(line.msg).includes("cross-site WebSocket hijacking"),
      );
      expect(refusals.map((line) => line.origin)).toEqual([`http://127.0.0.1:${port}`]);
      await page.close();
    } finally {
      await new Promise((resolve) => foreign.close(resolve));
    }
  });

  it("sees the connection close with 1001 when the shell shuts down", async () => {
    const page = await openPage(`${shellUrl}/api/radar/page/`);
    await page.evaluate(() => window.hangar.invoke("plugin:radar:add", { a: 0, b: 0 }));
    await shell.stop();
    await page.waitForFunction(() => window.closedWith !== null);
    expect(await page.evaluate(() => window.closedWith)).toMatchObject({ code: 1001 });
    await page.close();
  });
});
