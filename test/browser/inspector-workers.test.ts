// The inspector page shows each isolated plugin's worker thread (thread id, heap used of its limit, heartbeat
// lag) live beside its actor, updating that line in place each second (the rest of the page is not redrawn), and
// drops it when the worker ends; an in-process plugin shows none.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Shell } from "../../src/shell.js";
import { describeInChromium, launchChromium } from "../support/chromium.js";
import { createWorkspace, testShell, type Workspace } from "../support/plugins.js";

let ws: Workspace;
let shell: Shell;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

describeInChromium("the inspector page shows isolated plugins' workers", () => {
  beforeAll(async () => {
    ws = await createWorkspace();
    await ws.write({
      id: "isolated",
      // Stays errored once its worker exits: the test watches the worker's facts go away.
      manifest: { background: { isolation: "worker", memoryLimitMb: 64, restart: { policy: "never" } } },
      // Allocates a little every 100 ms, so that its heap (and the line showing it) changes every second.
      source: `const held = [];
               export async function onStart(ctx) {
                 const churn = setInterval(() => { held.push(new Array(20_000).fill(held.length)); if (held.length > 40) held.length = 0; }, 100);
                 ctx.signal.addEventListener("abort", () => clearInterval(churn));
                 ctx.server.registerRouter("/api/isolated", (req, res) => { res.json({ exiting: true }); setTimeout(() => process.exit(5), 20); });
               }
               export async function onStop() {}`,
    });
    await ws.write({
      id: "failing",
      // An error with a stack in the Errors view, which the user can open.
      manifest: { background: { isolation: "none", restart: { policy: "never" } } },
      source: `export async function onStart() { throw new Error("checklist incomplete"); }
               export async function onStop() {}`,
    });
    await ws.write({
      id: "inline",
      manifest: { background: { isolation: "none" } },
      source: "export async function onStart() {} export async function onStop() {}",
    });
    ({ shell } = testShell(ws, { inspector: true, timeouts: { load: 120_000 } }));
    await shell.start();
    browser = await launchChromium();
    page = await browser.newPage();
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(String(error)));
    await page.goto(shell.status().inspector?.url ?? "");
    await page.locator('#connection[data-connection="live"]').waitFor();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await shell?.stop();
    await ws?.cleanup();
  });

  const worker = (id: string) => page.locator(`#tree [data-actor="plugin:${id}"] .facts .worker`);

  it("shows the worker's thread id, heap and heartbeat lag, and none for an in-process plugin", async () => {
    const status = shell.status().plugins.find((plugin) => plugin.id === "isolated")!;
    expect(status.state).toBe("running");
    const threadId = status.worker!.threadId;
    // Heap and lag come with the first heartbeat answer; the page polls once a second.
    await expect
      .poll(() => worker("isolated").textContent(), { timeout: 20_000 })
      .toMatch(new RegExp(`^worker #${threadId} · heap \\d+\\.\\d of 64 MB · heartbeat lag \\d+ ms$`));
    expect(await worker("isolated").getAttribute("data-thread-id")).toBe(String(threadId));
    // The same figures as the shell's status (heap as of the last heartbeat, so within a few MB).
    const text = (await worker("isolated").textContent()) ?? "";
    const shownMb = Number(/heap ([\d.]+) of/.exec(text)![1]);
    const heapMb =
      (shell.status().plugins.find((p) => p.id === "isolated")!.worker!.heapUsedBytes ?? 0) / 2 ** 20;
    expect(Math.abs(shownMb - heapMb)).toBeLessThan(16);
    expect(await worker("inline").count()).toBe(0);
    expect(consoleErrors).toEqual([]);
  });

  it("updates the worker's line in place: a stack the user opened stays open, the tree is not rebuilt", async () => {
    const stack = page.locator('#errors .error[data-actor="plugin:failing"] details');
    await stack.locator("summary").click();
    expect(await stack.getAttribute("open")).toBe("");
    // Remember the nodes the user sees now; a redraw would replace them with new ones.
    await page.evaluate(() => {
      const held = globalThis as unknown as Record<string, unknown>;
      held.__workerLine = document.querySelector('#tree [data-actor="plugin:isolated"] .facts .worker');
      held.__tree = document.querySelector("#tree > ul");
    });
    const first = await worker("isolated").textContent();
    // Two changes of the line: each one a poll whose facts differ (heap and lag change between heartbeats).
    await expect.poll(() => worker("isolated").textContent(), { timeout: 20_000 }).not.toBe(first);
    const second = await worker("isolated").textContent();
    await expect.poll(() => worker("isolated").textContent(), { timeout: 20_000 }).not.toBe(second);
    const kept = await page.evaluate(() => {
      const held = globalThis as unknown as Record<string, unknown>;
      return {
        line:
          document.querySelector('#tree [data-actor="plugin:isolated"] .facts .worker') === held.__workerLine,
        tree: document.querySelector("#tree > ul") === held.__tree,
      };
    });
    expect(kept).toEqual({ line: true, tree: true });
    expect(await stack.getAttribute("open")).toBe("");
    expect(consoleErrors).toEqual([]);
  });

  it("drops the worker's facts once the worker has ended", async () => {
    await fetch(`${shell.status().server.url}/api/isolated`);
    await expect.poll(() => worker("isolated").count(), { timeout: 20_000 }).toBe(0);
    expect(shell.status().plugins.find((p) => p.id === "isolated")).toMatchObject({
      state: "errored",
      error: { code: "HANGAR_PLUGIN_CRASHED" },
    });
    expect(consoleErrors).toEqual([]);
  });
});
