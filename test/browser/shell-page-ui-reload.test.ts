// A plugin's rebuilt UI reaches an open shell page without a reload (its URL carries the entry file's version, so
// the browser's module map cannot hand back the old module), the old UI and its provider unmount (no listener is
// left behind), and a UI whose built file is missing shows hangar's message rather than the browser's import error.
// In Debian's Chromium, against an in-process shell with the page on.
import { utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createShell, createWebSocketIpc, type Shell } from "../../src/index.js";
import { describeInChromium, launchChromium } from "../support/chromium.js";
import { createPluginFolders, type PluginFolders } from "../support/plugin-folders.js";

declare global {
  interface Window {
    hangarShell: { connection: import("../../src/client/index.js").HangarConnection };
    notReloaded?: boolean;
  }
}

const background = "export function onStart() {}\nexport function onStop() {}\n";

/** A built UI module (no JSX: what a bundler would emit), importing a sibling chunk by a relative path. */
const uiModule = (version: string): string => `import { createElement } from "react";
import { usePluginContext } from "hangar/react";
import { label } from "./label.js";
export default function Ui() {
  const ui = usePluginContext();
  return createElement("p", { className: "ui-version" }, label + " " + ${JSON.stringify(version)} + " for " + ui.pluginId);
}
`;

describeInChromium("a plugin UI rebuilt under an open shell page, in Chromium", () => {
  let folders: PluginFolders;
  let shell: Shell;
  let browser: Browser;
  let radarUi: string;

  beforeAll(async () => {
    folders = await createPluginFolders("hangar-ui-reload-");
    const radar = await folders.plugin("radar", {
      "plugin.json": JSON.stringify({
        id: "radar",
        version: "1.0.0",
        background: { entryModule: "background.mjs" },
        ui: { entry: "ui/dist/index.js" },
      }),
      "background.mjs": background,
      "ui/dist/index.js": uiModule("first build"),
      "ui/dist/label.js": 'export const label = "Radar UI,";\n',
    });
    radarUi = path.join(radar, "ui", "dist", "index.js");
    const unbuilt = await folders.plugin("unbuilt", {
      "plugin.json": JSON.stringify({
        id: "unbuilt",
        version: "1.0.0",
        background: { entryModule: "background.mjs" },
        ui: { entry: "ui/dist/index.js" },
      }),
      "background.mjs": background,
      "ui/index.js": "export default function Ui() { return null; }\n",
    });
    browser = await launchChromium();
    shell = createShell({
      plugins: [radar, unbuilt],
      dataDir: path.join(folders.root, "data"),
      server: { port: 0 },
      ipc: createWebSocketIpc(),
      shellPage: true,
      log: { level: "silent" },
    });
    await shell.start();
  });

  afterAll(async () => {
    await browser?.close();
    if (shell?.status().state !== "stopped") await shell?.stop();
    await folders?.cleanup();
  });

  it("swaps in the rebuilt UI without a reload, unmounts the old one, and says why an unbuilt UI is missing", async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(shell.status().shellPage?.url ?? "");
    await page.evaluate(() => {
      window.notReloaded = true;
    });
    const version = page.locator('[data-plugin="radar"] .ui-version');
    await expect
      .poll(() => version.textContent(), { timeout: 15_000 })
      .toBe("Radar UI, first build for radar");
    const listeners = () => page.evaluate(() => window.hangarShell.connection.listenerCount());
    const mounted = await listeners();
    expect(mounted).toBeGreaterThan(0);

    // The build writes the entry again (another size, a later mtime): the open page shows it by itself.
    await writeFile(radarUi, uiModule("second build, a little longer"));
    const later = new Date(Date.now() + 5_000);
    await utimes(radarUi, later, later);
    await expect
      .poll(() => version.textContent(), { timeout: 15_000 })
      .toBe("Radar UI, second build, a little longer for radar");
    expect(await page.evaluate(() => window.notReloaded)).toBe(true);
    // The first UI's provider is gone: the connection has the listeners of one mounted UI, not two.
    await expect.poll(listeners).toBe(mounted);
    // The same build, read again, is not mounted again: the URL only changes when the file does.
    const urls = await page.evaluate(async () => {
      const read = async () =>
        ((await (await fetch("/_hangar/shell/uis")).json()) as { id: string; url: string | null }[]).find(
          (ui) => ui.id === "radar",
        )?.url;
      return [await read(), await read()];
    });
    expect(urls[0]).toMatch(/^\/_hangar\/ui\/radar\/ui\/dist\/index\.js\?v=[0-9a-z]+-[0-9a-z]+$/);
    expect(urls[1]).toBe(urls[0]);

    // A UI that was never built: hangar's words (the same as `hangar validate`), not the browser's.
    const unbuilt = page.locator('[data-plugin="unbuilt"] .ui-error');
    await expect
      .poll(() => unbuilt.textContent(), { timeout: 15_000 })
      .toContain(
        `Plugin 'unbuilt': plugin.json's ui.entry "ui/dist/index.js" does not exist: build the UI so that it writes that file`,
      );
    expect(await page.locator('[data-plugin="unbuilt"]').textContent()).not.toContain("dynamically imported");
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 60_000);

  it("says 'disconnected' and shows plugin states as unknown while the shell is down", async () => {
    const page = await browser.newPage();
    await page.goto(shell.status().shellPage?.url ?? "");
    const link = page.locator("header.top .link");
    const radarState = page.locator('[data-plugin="radar"] [data-state]');
    await expect.poll(() => link.textContent(), { timeout: 15_000 }).toBe("IPC open");
    await expect.poll(() => radarState.getAttribute("data-state"), { timeout: 15_000 }).toBe("running");

    await shell.stop();
    await expect.poll(() => link.textContent(), { timeout: 15_000 }).toBe("disconnected");
    await expect.poll(() => radarState.getAttribute("data-state"), { timeout: 15_000 }).toBe("unknown");
    expect(await radarState.textContent()).toBe("unknown (was running)");
    await page.close();
  }, 60_000);
});
