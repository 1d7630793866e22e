// The shell page of a real `hangar run` (the built binary in a child process) in Debian's Chromium: it lists the
// example plugins with their states and mounts fleet-board's UI (hangar/react, TanStack Query), which renders route
// data, hears background pushes, follows config changes both ways, survives a shell restart and catches up after
// one, and leaves no listener behind when unmounted. Plus the page with a session token (server.token).
import type { ChildProcess } from "node:child_process";
import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { copyConfigValue } from "../../src/context/config-value.js";
import { createShell, createWebSocketIpc, type Shell } from "../../src/index.js";
import { describeInChromium, launchChromium } from "../support/chromium.js";
import { start, waitForEvent } from "../support/processes.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const examples = path.join(root, "examples", "plugins");
const screenshotFile = path.join(root, "docs", "shell-page.png");

declare global {
  interface Window {
    hangarShell: { connection: import("../../src/client/index.js").HangarConnection };
    /** Set by the test: still there means the page was never reloaded. */
    notReloaded?: boolean;
  }
}

interface Run {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

const runs: ChildProcess[] = [];
let browser: Browser;
let dataDir: string;

/** `hangar run examples/plugins` on `port`, resolved with the shell page's URL from its JSON summary. */
async function hangarRun(port: number): Promise<Run> {
  const running = start(
    process.execPath,
    ["bin/hangar.js", "run", examples, "--port", String(port), "--data-dir", dataDir, "--json"],
    { cwd: root },
  );
  runs.push(running.child);
  const summary = await waitForEvent(running, "summary");
  return { child: running.child, url: String(summary.shellPage), exited: running.exited };
}

async function stop(run: Run): Promise<void> {
  run.child.kill("SIGINT");
  expect(await run.exited).toBe(0);
}

/** A port nobody listens on now, so a restarted shell can come back where the open page expects it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

const board = (page: Page) => page.locator('[data-plugin="fleet-board"]');
const highlight = (page: Page) => board(page).locator(".highlight-base");

async function post(url: string, body: unknown): Promise<Response> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return response;
}

describeInChromium("the shell page of hangar run, in Chromium", () => {
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "hangar-shell-page-"));
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const child of runs) if (child.exitCode === null) child.kill("SIGKILL");
    await browser?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("lists the plugins, runs fleet-board's UI live, keeps config in sync both ways and across restarts", async () => {
    const port = await freePort();
    let run = await hangarRun(port);
    expect(run.url).toBe(`http://127.0.0.1:${port}/`);
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(run.url);
    await page.evaluate(() => {
      window.notReloaded = true;
    });

    // Every plugin, with its state.
    for (const [id, state] of [
      ["fleet-board", "running"],
      ["flight-tracker", "running"],
      ["pilot-notes", "running"],
      ["livery-gallery", "inactive"],
    ]) {
      await expect
        .poll(() => page.locator(`[data-plugin="${id}"] [data-state]`).getAttribute("data-state"), {
          timeout: 10_000,
        })
        .toBe(state);
    }

    // Route data, fetched with TanStack Query from pluginUrl("/fleet").
    await page.locator('li[data-tail="G-HGRA"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('li[data-tail="G-HGRA"]').textContent()).toContain("City of Farnborough");
    expect(await page.locator('li[data-tail="G-HGRB"] .status').textContent()).toBe("available");

    // A background push (ctx.ipc.send) reaches usePluginIPC within one second of being sent.
    const banner = page.waitForFunction(
      () =>
        document
          .querySelector('[data-plugin="fleet-board"] .banner')
          ?.textContent?.includes("G-HGRB is now in-flight"),
      undefined,
      { polling: "raf", timeout: 10_000 },
    );
    await post(`${run.url}api/fleet-board/fleet/G-HGRB/status`, { status: "in-flight" });
    const sent = Date.now();
    await banner;
    expect(Date.now() - sent).toBeLessThan(1_000);
    // The listener also invalidated the query: the list shows the new status from the route.
    await expect.poll(() => page.locator('li[data-tail="G-HGRB"] .status').textContent()).toBe("in-flight");

    // A config change made by the background shows without a reload.
    expect(await highlight(page).textContent()).toBe("Highlighting: none");
    await post(`${run.url}api/fleet-board/settings`, { highlightBase: "EGLL" });
    await expect.poll(() => highlight(page).textContent()).toBe("Highlighting: EGLL");
    expect(await page.locator('li[data-tail="G-HGRD"]').getAttribute("data-highlight")).toBe("yes");

    // The UI's own config.set goes through the shell's store: on disk, and seen by the background's routes.
    await board(page).locator("select").selectOption("EGPH");
    await expect.poll(() => highlight(page).textContent()).toBe("Highlighting: EGPH");
    const configFile = path.join(dataDir, "config", "fleet-board.json");
    // The set is in the journal at once, and in the JSON file once the store has been idle for a second.
    await expect
      .poll(async () => JSON.parse(await readFile(configFile, "utf8")).highlightBase, { timeout: 10_000 })
      .toBe("EGPH");

    // A UI's config.set refuses, before anything is encoded, what ctx.config.set refuses, in its words: over the
    // WebSocket JSON would have stored NaN as null, a Date as a string, a Map as {} and dropped a function.
    const refusals: string[] = await page.evaluate(`(async () => {
      const React = await import("react");
      const { createRoot } = await import("react-dom/client");
      const { HangarProvider, usePluginContext } = await import("hangar/react");
      let ui;
      function Probe() { ui = usePluginContext(); return null; }
      const host = document.createElement("div");
      document.body.append(host);
      const root = createRoot(host);
      root.render(React.createElement(HangarProvider,
        { pluginId: "fleet-board", transport: window.hangarShell.connection }, React.createElement(Probe)));
      while (!ui) await new Promise((resolve) => setTimeout(resolve, 20));
      const out = [];
      for (const value of [NaN, Infinity, new Date(0), new Map([[1, 2]]), () => 1]) {
        out.push(await ui.config.set("probe", value).then(() => "stored", (error) => error.message));
      }
      root.unmount();
      host.remove();
      return out;
    })()`);
    const refusedInTheBackground = [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      new Date(0),
      new Map([[1, 2]]),
      () => 1,
    ].map((value) => {
      try {
        copyConfigValue("fleet-board", "probe", value);
        return "stored";
      } catch (error) {
        return (error as Error).message;
      }
    });
    expect(refusals).toEqual(refusedInTheBackground);
    expect(refusals[4]).toContain("value is a function");
    expect(JSON.parse(await readFile(configFile, "utf8"))).not.toHaveProperty("probe");

    // The README's screenshot: the page with fleet-board's UI mounted, after a push and a config change.
    await access(screenshotFile).catch(async () => {
      await page.locator('li[data-tail="G-HGRA"]').waitFor();
      await page.screenshot({ path: screenshotFile, fullPage: true });
    });

    // Unmounting the UI leaves no listener on the transport (the page itself holds none).
    const connection = () => page.evaluate(() => window.hangarShell.connection.listenerCount());
    expect(await connection()).toBeGreaterThanOrEqual(4); // config, auth, status-update, reconnect
    await board(page).getByRole("button", { name: "Hide UI" }).click();
    await expect.poll(connection).toBe(0);
    await board(page).getByRole("button", { name: "Show UI" }).click();
    await expect.poll(() => highlight(page).textContent()).toBe("Highlighting: EGPH");

    // Restart: the UI's value survived (a fresh page shows it), and the open page reconnected by itself.
    await stop(run);
    run = await hangarRun(port);
    const fresh = await browser.newPage();
    await fresh.goto(run.url);
    await expect.poll(() => highlight(fresh).textContent(), { timeout: 10_000 }).toBe("Highlighting: EGPH");
    await fresh.close();
    await expect
      .poll(() => page.evaluate(() => window.hangarShell.connection.state), { timeout: 15_000 })
      .toBe("open");

    // Catch-up: a change made while the page was cut off shows once it is back, still without a reload.
    await stop(run);
    const stored = JSON.parse(await readFile(configFile, "utf8"));
    await writeFile(configFile, JSON.stringify({ ...stored, highlightBase: "EGGD" }));
    run = await hangarRun(port);
    await expect.poll(() => highlight(page).textContent(), { timeout: 15_000 }).toBe("Highlighting: EGGD");
    expect(await page.evaluate(() => window.notReloaded)).toBe(true);
    expect(pageErrors).toEqual([]);
    await page.close();
    await stop(run);
  }, 180_000); // three start-ups of the real CLI on a loaded machine
});

describeInChromium("the shell page with a session token (server.token)", () => {
  const token = "shell-page-session-token-0123456789";
  let shell: Shell;
  let tokenDataDir: string;
  let tokenBrowser: Browser;

  beforeAll(async () => {
    tokenDataDir = await mkdtemp(path.join(os.tmpdir(), "hangar-shell-token-"));
    tokenBrowser = await launchChromium();
    shell = createShell({
      plugins: [path.join(examples, "fleet-board")],
      dataDir: tokenDataDir,
      server: { port: 0, token },
      ipc: createWebSocketIpc(),
      shellPage: true,
      log: { level: "silent" },
    });
    await shell.start();
  });

  afterAll(async () => {
    await tokenBrowser?.close();
    await shell?.stop();
    await rm(tokenDataDir, { recursive: true, force: true });
  });

  it("takes the token from the URL's fragment, hides it, and sends it on the page's own /api requests", async () => {
    // status() never carries the token (apps ship it to telemetry): whoever set server.token adds the fragment.
    expect(JSON.stringify(shell.status())).not.toContain(token);
    const url = `${shell.status().shellPage?.url}#token=${token}`;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=shell-page-session-token-0123456789$/);
    const page = await tokenBrowser.newPage();
    await page.goto(url);
    // The plugin UI's plain fetch(pluginUrl("/fleet")) got through the token check, and IPC connected.
    await page.locator('li[data-tail="G-HGRA"]').waitFor({ timeout: 30_000 });
    expect(page.url()).not.toContain(token);
    await expect.poll(() => page.evaluate(() => window.hangarShell.connection.state)).toBe("open");
    // Reloading keeps working: the token stays in this tab's sessionStorage.
    await page.reload();
    await page.locator('li[data-tail="G-HGRA"]').waitFor({ timeout: 30_000 });

    // Without the token the page still loads, but the shell answers it nothing.
    const stranger = await tokenBrowser.newPage();
    await stranger.goto(url.replace(/#.*$/, ""));
    await expect
      .poll(() => stranger.locator(".error").first().textContent(), { timeout: 10_000 })
      .toContain("session token");
    await stranger.close();
    await page.close();
  }, 120_000);
});
