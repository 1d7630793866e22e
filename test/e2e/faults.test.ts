// Plugins that misbehave in every phase, side by side with a good one: each ends errored (or its request
// failed) with a message naming plugin, phase and cause; the good plugin is unaffected; nothing reaches
// uncaughtException or unhandledRejection; shutdown stays bounded. The whole suite runs through each IPC
// transport: in-memory, and Electron's (hangar/electron + hangar/preload on the fake Electron).
import { mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PluginStatus, Shell } from "../../src/index.js";
import { ipcHarnesses } from "../support/ipc-harness.js";
import {
  type CapturedLog,
  createWorkspace,
  goodPluginSource,
  testIsolation,
  testShell,
  type Workspace,
} from "../support/plugins.js";

const hooks = (body: { start?: string; stop?: string; resume?: string }) => `
export async function onStart(ctx) { ${body.start ?? ""} }
export async function onStop() { ${body.stop ?? ""} }
${body.resume === undefined ? "" : `export async function onResume(ctx) { ${body.resume} }`}
`;
const hang = "await new Promise(() => {});";
// Each hanging plugin gets a short limit for the hook that hangs only: its other hooks keep the default, which an
// isolated plugin's hook round trip (and the boot of a fresh worker on a retry) needs on a loaded machine.
const fast = {
  start: { background: { startTimeoutMs: 300 } },
  stop: { background: { stopTimeoutMs: 300 } },
  resume: { background: { resumeTimeoutMs: 300 } },
};

describe.each(ipcHarnesses)("faults over $name", ({ create }) => {
  let ws: Workspace;
  let shell: Shell;
  let log: CapturedLog;
  const ipc = create();
  const processErrors: unknown[] = [];
  const onProcessError = (error: unknown) => processErrors.push(error);

  function statusOf(id: string): PluginStatus {
    const status = shell.status().plugins.find((p) => p.id === id);
    if (!status)
      throw new Error(
        `no status for ${id}: ${shell
          .status()
          .plugins.map((p) => p.id)
          .join(", ")}`,
      );
    return status;
  }

  beforeAll(async () => {
    process.on("uncaughtException", onProcessError);
    process.on("unhandledRejection", onProcessError);
    ws = await createWorkspace();
    await ws.write({ id: "good", source: goodPluginSource("good") });
    // onStart
    await ws.write({
      id: "start-throws",
      source: hooks({ start: 'throw new Error("database unreachable");' }),
    });
    await ws.write({
      id: "start-rejects",
      source: `export function onStart() { return Promise.reject(new TypeError("bad fleet data")); }
             export function onStop() {}`,
    });
    await ws.write({ id: "start-hangs", manifest: fast.start, source: hooks({ start: hang }) });
    await ws.write({
      id: "late-register",
      manifest: fast.start,
      source: `export async function onStart(ctx) {
      await new Promise(r => setTimeout(r, 500));
      const refused = [];
      try { ctx.server.registerRouter("/api/late-register", (req, res) => res.json({ late: true })); }
      catch (e) { refused.push(e.code); }
      try { ctx.ipc.handle("late", () => 1); } catch (e) { refused.push(e.code); }
      ctx.logger.warn("Late", "refused: " + refused.join(", "));
    }
    export async function onStop() {}`,
    });
    await ws.write({
      id: "route-outside",
      source: hooks({
        start: 'ctx.server.registerRouter("/api/good", (req, res) => res.json({ hijacked: true }));',
      }),
    });
    await ws.write({
      id: "ipc-throws",
      source: hooks({ start: 'ctx.ipc.handle("boom", () => { throw new Error("handler exploded"); });' }),
    });
    // onStop and onResume (exercised by update and shutdown)
    await ws.write({ id: "stop-throws", source: hooks({ stop: 'throw new Error("flush failed");' }) });
    await ws.write({ id: "stop-hangs", manifest: fast.stop, source: hooks({ stop: hang }) });
    await ws.write({ id: "resume-throws", source: hooks({ resume: 'throw new Error("resume broke");' }) });
    await ws.write({
      id: "resume-rejects",
      source: hooks({ resume: 'return Promise.reject(new Error("nope"));' }),
    });
    await ws.write({ id: "resume-hangs", manifest: fast.resume, source: hooks({ resume: hang }) });
    // modules
    await ws.write({ id: "syntax-error", source: "export async function onStart( {\n" });
    await ws.write({ id: "no-onstop", source: "export async function onStart() {}\n" });
    await ws.write({
      id: "not-a-function",
      source: 'export const onStart = 42; export const onStop = "later";\n',
    });
    await ws.write({ id: "throws-on-import", source: 'throw new Error("top-level failure");\n' });
    // manifests
    const unreadable = path.join(ws.pluginsDir, "unreadable-json");
    await mkdir(unreadable);
    await writeFile(path.join(unreadable, "plugin.json"), '{ "id": "unreadable-json", ');
    const invalid = path.join(ws.pluginsDir, "invalid-manifest");
    await mkdir(invalid);
    await writeFile(path.join(invalid, "plugin.json"), JSON.stringify({ id: "Invalid Id!", version: "one" }));
    await ws.write({ id: "good", folder: "zz-duplicate-of-good", source: goodPluginSource("good") });
    await ws.write({
      id: "escapes",
      source: hooks({}),
      entry: "background/index.mjs",
      manifest: { background: { entryModule: "../../outside.mjs" } },
    });
    await writeFile(path.join(ws.root, "outside.mjs"), hooks({}));
    const symlinked = await ws.write({
      id: "symlink-escape",
      manifest: { background: { entryModule: "bg/index.mjs" } },
    });
    await symlink(ws.root, path.join(symlinked, "bg"));
    await writeFile(path.join(ws.root, "index.mjs"), hooks({}));
    // dependencies
    await ws.write({ id: "needs-missing", source: hooks({}), manifest: { dependsOn: ["nowhere"] } });
    await ws.write({ id: "needs-errored", source: hooks({}), manifest: { dependsOn: ["start-throws"] } });
    await ws.write({ id: "cycle-a", source: hooks({}), manifest: { dependsOn: ["cycle-b"] } });
    await ws.write({ id: "cycle-b", source: hooks({}), manifest: { dependsOn: ["cycle-a"] } });

    ({ shell, log } = testShell(ws, { ipc: ipc.transport, timeouts: { shutdown: 3000 } }));
    await shell.start();
  });

  afterAll(async () => {
    await shell.stop();
    process.off("uncaughtException", onProcessError);
    process.off("unhandledRejection", onProcessError);
    await ws.cleanup();
  });

  function expectError(id: string, phase: string, code: string, ...fragments: string[]) {
    const status = statusOf(id);
    expect(status.state, `${id}: ${JSON.stringify(status.error)}`).toBe("errored");
    expect(status.error?.phase).toBe(phase);
    expect(status.error?.code).toBe(code);
    for (const fragment of [`'${id}'`, ...fragments]) expect(status.error?.message).toContain(fragment);
  }

  describe("faults at start-up", () => {
    it("leaves the good plugin running and serving", async () => {
      expect(statusOf("good").state).toBe("running");
      const response = await fetch(`${shell.status().server.url}/api/good/status`);
      expect(await response.json()).toMatchObject({ ok: true, id: "good" });
      expect(shell.status().state).toBe("running");
    });

    it("errors plugins whose onStart throws, rejects or hangs", () => {
      expectError("start-throws", "start", "HANGAR_START_FAILED", "onStart", "database unreachable");
      expectError("start-rejects", "start", "HANGAR_START_FAILED", "bad fleet data");
      expectError("start-hangs", "start", "HANGAR_START_TIMEOUT", "onStart", "300 ms");
    });

    it("refuses registrations made after a start timeout, and none of them survives", async () => {
      expectError("late-register", "start", "HANGAR_START_TIMEOUT");
      await new Promise((r) => setTimeout(r, 400));
      const refused = log.lines.filter((line) => line.pluginId === "late-register" && line.tag === "Late");
      if (testIsolation === "worker") {
        // Isolated, a hook past its timeout ends its worker (SPEC §12): the late code normally never runs. The
        // plugin's thread and the shell's run side by side, though: when the shell's thread is starved (a loaded
        // machine), its 300 ms timer can fire after the plugin's 500 ms one, and the registrations were made while
        // the context was still live. Either way none of them survives the timeout (below).
        expect(refused.map((line) => line.msg)).toEqual(refused.length === 0 ? [] : ["refused: "]);
      } else {
        expect(refused.map((line) => line.msg)).toEqual([
          "refused: HANGAR_CONTEXT_DISPOSED, HANGAR_CONTEXT_DISPOSED",
        ]);
      }
      const response = await fetch(`${shell.status().server.url}/api/late-register/`);
      expect(response.status).toBe(503);
      await expect(ipc.invoke("plugin:late-register:late")).rejects.toThrow("No handler registered");
    });

    it("errors a plugin that registers a route outside its namespace, with that code", async () => {
      expectError("route-outside", "start", "HANGAR_ROUTE_NAMESPACE", "/api/good");
      const response = await fetch(`${shell.status().server.url}/api/good/status`);
      expect(await response.json()).not.toHaveProperty("hijacked");
    });

    it("errors modules that do not load or do not honour the contract", () => {
      expectError("syntax-error", "load", "HANGAR_MODULE_IMPORT", "index.mjs");
      expectError("no-onstop", "load", "HANGAR_MODULE_CONTRACT", "onStop");
      expectError("not-a-function", "load", "HANGAR_MODULE_CONTRACT", "onStart");
      expectError("throws-on-import", "load", "HANGAR_MODULE_IMPORT", "top-level failure");
    });

    it("lists folders whose plugin.json is unreadable, invalid or a duplicate, by folder name", () => {
      // No id could be read: the message names the folder instead.
      for (const [folder, code] of [
        ["unreadable-json", "HANGAR_MANIFEST_UNREADABLE"],
        ["invalid-manifest", "HANGAR_MANIFEST_INVALID"],
      ] as const) {
        const status = statusOf(folder);
        expect(status).toMatchObject({ state: "errored", error: { phase: "load", code } });
        expect(status.error?.message).toContain(path.join(ws.pluginsDir, folder));
      }
      expect(statusOf("invalid-manifest").error?.message).toMatch(/id/);
      const duplicate = statusOf("zz-duplicate-of-good");
      expect(duplicate.error).toMatchObject({ phase: "load", code: "HANGAR_MANIFEST_DUPLICATE_ID" });
      expect(duplicate.error?.message).toContain("'good'");
    });

    it("refuses entry modules that resolve outside the plugin folder, through .. or a symlink", () => {
      expectError("escapes", "load", "HANGAR_ENTRY_OUTSIDE_PLUGIN");
      expectError("symlink-escape", "load", "HANGAR_ENTRY_OUTSIDE_PLUGIN");
    });

    it("errors dependents of missing, errored and cyclic plugins in phase dependency", () => {
      expectError("needs-missing", "dependency", "HANGAR_DEPENDENCY_MISSING", "nowhere");
      expectError("needs-errored", "dependency", "HANGAR_DEPENDENCY_FAILED", "start-throws");
      expectError("cycle-a", "dependency", "HANGAR_DEPENDENCY_CYCLE", "cycle-b");
    });

    it("passes an IPC handler's failure to the renderer as text, logs it to the plugin, and keeps answering", async () => {
      await expect(ipc.invoke("plugin:ipc-throws:boom")).rejects.toThrow(
        "Error invoking remote method 'plugin:ipc-throws:boom': Error: handler exploded",
      );
      const logged = log.lines.filter((line) => line.pluginId === "ipc-throws" && line.level === 50);
      expect(JSON.stringify(logged)).toContain("handler exploded");
      expect(statusOf("ipc-throws").state).toBe("running");
      await expect(ipc.invoke("plugin:good:ping", "still there")).resolves.toMatchObject({
        pong: "still there",
      });
    });

    it("answers 500 without details when a route throws or rejects, logs it to the plugin, and keeps serving", async () => {
      const base = shell.status().server.url;
      for (const route of ["boom", "reject"]) {
        const response = await fetch(`${base}/api/good/${route}`);
        expect(response.status).toBe(500);
        const body = await response.json();
        expect(body.success).toBe(false);
        expect(JSON.stringify(body)).not.toMatch(/at .*\.mjs|secret stack|async route failure/);
      }
      expect((await fetch(`${base}/api/good/status`)).status).toBe(200);
      const logged = log.lines.filter((line) => line.pluginId === "good" && line.level === 50);
      expect(JSON.stringify(logged)).toContain("route exploded");
    });
  });

  describe("faults on update and shutdown", () => {
    it("errors plugins whose onResume throws, rejects or hangs, and stop failures during update", async () => {
      await shell.update();
      expectError("resume-throws", "resume", "HANGAR_RESUME_FAILED", "onResume", "resume broke");
      expectError("resume-rejects", "resume", "HANGAR_RESUME_FAILED", "nope");
      expectError("resume-hangs", "resume", "HANGAR_RESUME_TIMEOUT", "300 ms");
      expectError("stop-throws", "stop", "HANGAR_STOP_FAILED", "onStop", "flush failed");
      expectError("stop-hangs", "stop", "HANGAR_STOP_TIMEOUT", "onStop");
      expect(statusOf("good").state).toBe("running");
      expect(shell.status().state).toBe("running");
    });

    it("retries errored plugins on the next update", async () => {
      await shell.update();
      // Errored in phase stop or resume by the last update: started again now with their unchanged module.
      expect(statusOf("stop-throws").state).toBe("running");
      expect(statusOf("resume-throws").state).toBe("running");
      // Still broken: errored again, with the same explanation.
      expectError("start-throws", "start", "HANGAR_START_FAILED", "database unreachable");
      expectError("needs-errored", "dependency", "HANGAR_DEPENDENCY_FAILED", "start-throws");
    });

    it("bounds shutdown when onStop hangs or throws, and stops the rest", async () => {
      await shell.stop();
      expect(shell.status().state).toBe("stopped");
      expectError("stop-hangs", "stop", "HANGAR_STOP_TIMEOUT", "300 ms");
      expectError("stop-throws", "stop", "HANGAR_STOP_FAILED", "flush failed");
      expect(statusOf("good").state).toBe("stopped");
    });

    it("never reached uncaughtException or unhandledRejection", () => {
      expect(processErrors).toEqual([]);
    });
  });
});
