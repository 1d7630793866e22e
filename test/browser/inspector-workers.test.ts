// The inspector page shows each isolated plugin's worker thread (thread id, heap used of its limit, heartbeat
// lag) live beside its actor, and drops it when the worker ends; an in-process plugin shows none.
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
      source: `export async function onStart(ctx) {
                 ctx.server.registerRouter("/api/isolated", (req, res) => { res.json({ exiting: true }); setTimeout(() => process.exit(5), 20); });
               }
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
