// hangar/react over Electron's preload bridge, on the fake Electron (the binary cannot run here): a real shell with
// electronIpc, a real plugin, window.hangar exposed by exposePluginBridge through the fake contextBridge, and React
// rendering real components (react-test-renderer: React's own reconciler, no DOM needed).
import { act, createElement, type ReactNode, useState } from "react";
import { create, type ReactTestRenderer } from "react-test-renderer";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createFileConfigBackend } from "../../src/context/config-file.js";
import type { HangarBridge } from "../../src/preload/index.js";
import { HangarProvider, usePluginContext, usePluginIPC } from "../../src/react/index.js";
import type { Shell } from "../../src/shell.js";
import type { FakeBrowserWindow } from "../support/fake-electron.js";
import { createWorkspace, type Workspace } from "../support/plugins.js";
import { preloadShell } from "../support/preload-shell.js";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

// React 19 announces react-test-renderer's deprecation on every render; everything else still reaches the log.
const consoleError = console.error;
beforeAll(() => {
  console.error = (...args: unknown[]) => {
    if (String(args[0]).includes("react-test-renderer is deprecated")) return;
    consoleError(...args);
  };
});
afterAll(() => {
  console.error = consoleError;
});

const radarSource = `
export async function onStart(ctx) {
  await ctx.config.set("range", 10);
  ctx.ipc.handle("set-range", (range) => ctx.config.set("range", range));
  ctx.ipc.handle("burst", (count) => {
    for (let i = 0; i < count; i++) ctx.ipc.send("contact", { n: i });
    return count;
  });
}
export async function onStop() {}
`;

let ws: Workspace;
let shell: Shell;
let window: FakeBrowserWindow;
let bridge: HangarBridge;

/** What the component saw: every render, and the contacts its usePluginIPC listener received. */
interface Seen {
  renders: number;
  contacts: number[];
  ui: ReturnType<typeof usePluginContext> | null;
}

function Radar({ seen }: { seen: Seen }): ReactNode {
  const ui = usePluginContext();
  const [contacts, setContacts] = useState<number[]>([]);
  usePluginIPC<{ n: number }>("contact", (payload) => {
    seen.contacts.push(payload.n);
    setContacts((list) => [...list, payload.n]);
  });
  seen.renders += 1;
  seen.ui = ui;
  return createElement(
    "p",
    null,
    `range ${String(ui.config.get("range", 0))}; contacts ${contacts.length}; auth ${ui.auth.isAuthenticated()}`,
  );
}

async function render(seen: Seen): Promise<ReactTestRenderer> {
  let renderer: ReactTestRenderer | undefined;
  await act(async () => {
    renderer = create(
      createElement(HangarProvider, { pluginId: "radar", transport: bridge }, createElement(Radar, { seen })),
    );
  });
  return renderer!;
}

const text = (renderer: ReactTestRenderer): string => {
  const node = renderer.toJSON();
  return node && !Array.isArray(node) ? String(node.children?.join("")) : "";
};

/** Lets pushes, frames (16 ms outside a browser) and effects run until `check` holds, or fails after 3 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await act(() => new Promise((resolve) => setTimeout(resolve, 10)));
  }
}

/** Listeners the page holds on Electron's ipcRenderer, on every channel hangar/react may use. */
function rendererListeners(): number {
  const renderer = window.webContents.ipcRenderer;
  return ["plugin:radar:contact", "hangar:config:radar", "hangar:auth"].reduce(
    (sum, channel) => sum + renderer.listenerCount(channel),
    0,
  );
}

beforeEach(async () => {
  ws = await createWorkspace();
  await ws.write({ id: "radar", source: radarSource });
  ({ shell, window, bridge } = preloadShell(ws));
  await shell.start();
});

afterEach(async () => {
  await shell.stop();
  await ws.cleanup();
});

describe("hangar/react over the Electron preload bridge", () => {
  it("reads config synchronously and shows a change the background makes, without remounting", async () => {
    const seen: Seen = { renders: 0, contacts: [], ui: null };
    const renderer = await render(seen);
    await until(() => text(renderer).startsWith("range 10;"), "the config snapshot");

    await act(async () => {
      await seen.ui!.ipc.invoke("set-range", 25);
    });
    await until(() => text(renderer).startsWith("range 25;"), "the background's change");
    await act(async () => renderer.unmount());
  });

  it("writes config through the shell's store: validated, on disk when set() resolves, shown at once", async () => {
    const seen: Seen = { renders: 0, contacts: [], ui: null };
    const renderer = await render(seen);
    await until(() => text(renderer).startsWith("range 10;"), "the config snapshot");

    await act(async () => {
      await seen.ui!.config.set("range", 40);
    });
    // On disk: what a restart reads (the JSON file, with the journal of sets not yet folded into it replayed).
    expect(await createFileConfigBackend({ dataDir: ws.dataDir }).store("radar").get("range")).toBe(40);
    await until(() => text(renderer).startsWith("range 40;"), "the UI's own change");
    // The store's own validation answers, with its own words.
    await expect(seen.ui!.config.set("range", 10n)).rejects.toThrow(/not plain JSON data: value is a bigint/);
    await expect(seen.ui!.config.set("__proto__", 1)).rejects.toThrow(/reserved/);
    // Refused in the page before Electron's structured clone (which would turn a Map into {}), in the same words.
    await expect(seen.ui!.config.set("range", new Map([[1, 2]]))).rejects.toThrow(
      "Plugin 'radar' called config.set('range', value) with a value that is not plain JSON data: value is a Map " +
        "(store Object.fromEntries(map) instead).",
    );
    await expect(seen.ui!.config.set("range", () => 1)).rejects.toThrow(
      /not plain JSON data: value is a function/,
    );
    expect(await createFileConfigBackend({ dataDir: ws.dataDir }).store("radar").get("range")).toBe(40);
    await act(async () => renderer.unmount());
  });

  it("renders a burst of 200 pushes in at most one render per frame, delivering every payload in order", async () => {
    const seen: Seen = { renders: 0, contacts: [], ui: null };
    const renderer = await render(seen);
    await until(() => text(renderer).startsWith("range 10;"), "the config snapshot");
    const before = seen.renders;
    const started = performance.now();
    await act(async () => {
      await seen.ui!.ipc.invoke("burst", 200);
    });
    await until(() => seen.contacts.length === 200, "200 contacts");
    await until(() => text(renderer).includes("contacts 200"), "the render of 200 contacts");
    const frames = Math.ceil((performance.now() - started) / 16) + 1;
    expect(seen.contacts).toEqual(Array.from({ length: 200 }, (_, i) => i));
    // Far fewer renders than pushes: one per 16 ms frame at most, however the pushes were spread.
    expect(seen.renders - before).toBeLessThanOrEqual(Math.min(frames, 10));
    await act(async () => renderer.unmount());
  });

  it("follows the shell's auth state", async () => {
    const seen: Seen = { renders: 0, contacts: [], ui: null };
    const renderer = await render(seen);
    await until(() => text(renderer).endsWith("auth false"), "the auth state");
    shell.setAuth({ token: "pilot-session-token" });
    await until(() => text(renderer).endsWith("auth true"), "auth true");
    expect(text(renderer)).not.toContain("pilot-session-token");
    await act(async () => renderer.unmount());
  });

  it("leaves no listener on the transport once unmounted", async () => {
    expect(rendererListeners()).toBe(0);
    const seen: Seen = { renders: 0, contacts: [], ui: null };
    const renderer = await render(seen);
    await until(() => text(renderer).startsWith("range 10;"), "the config snapshot");
    // The provider's config and auth subscriptions, and the component's usePluginIPC.
    expect(rendererListeners()).toBe(3);
    await act(async () => renderer.unmount());
    expect(rendererListeners()).toBe(0);
  });

  it("keeps one plugin's UI to its own config", async () => {
    await expect(bridge.getConfig("nobody")).rejects.toThrow(/No plugin "nobody" in this shell/);
    await expect(bridge.getConfig("../radar")).rejects.toThrow(/plugin id must be a plugin.json id/);
    const snapshot = await bridge.getConfig("radar");
    expect(snapshot).toMatchObject({ pluginId: "radar", values: { range: 10 } });
  });
});
