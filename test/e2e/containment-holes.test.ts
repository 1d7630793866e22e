// Containment holes a fresh user found (session 4), each through the real CLI in a child process: odd thrown
// values (a Proxy, a revoked Proxy, a throwing stack getter, a throwing toString, a null-prototype object) and a
// 5 MB message, from a timer and from onStart. In-process only: the CLI runs plugins in-process by default.
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PluginStatus } from "../../src/index.js";
import { createWorkspace, type Workspace } from "../support/plugins.js";
import { type Running, start, waitFor } from "../support/processes.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Values that throw when hangar reads them, as a plugin would throw them. */
const poison: Record<string, string> = {
  "stack-getter": `(() => { const e = new Error("base"); Object.defineProperty(e, "stack", { get() { throw new Error("stack getter"); } }); return e; })()`,
  proxy: `new Proxy({}, { get() { throw new Error("gotcha"); } })`,
  revoked: `(() => { const r = Proxy.revocable({}, {}); r.revoke(); return r.proxy; })()`,
  "null-proto": `Object.assign(Object.create(null), { message: "no prototype", code: "E_SYNC" })`,
  "to-string": `{ toString() { throw new Error("toString"); }, toJSON() { throw new Error("toJSON"); } }`,
  "to-primitive": `{ [Symbol.toPrimitive]() { throw new Error("toPrimitive"); }, toJSON() { throw new Error("toJSON"); } }`,
};
const HUGE = 5 * 1024 * 1024;

/** The complete JSON lines printed so far (a 5 MB line may still be arriving). */
function records(text: string): Record<string, unknown>[] {
  return text
    .slice(0, text.lastIndexOf("\n") + 1)
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A plugin of one module; restart policy never, so a crash leaves it errored for the test to see. */
function writePlugin(ws: Workspace, id: string, source: string): Promise<string> {
  return ws.write({ id, source, manifest: { background: { restart: { policy: "never" } } } });
}

describe("odd thrown values and huge messages, through hangar run", () => {
  let ws: Workspace;
  let running: Running;
  let statuses: Map<string, PluginStatus>;
  let exitCode: number | null;
  const ids = [
    ...Object.keys(poison).map((kind) => `timer-${kind}`),
    "start-stack-getter",
    "start-proxy",
    "huge",
  ];

  beforeAll(async () => {
    ws = await createWorkspace();
    for (const [kind, value] of Object.entries(poison)) {
      await writePlugin(
        ws,
        `timer-${kind}`,
        `export async function onStart() { setTimeout(() => { throw ${value}; }, 300); }
         export async function onStop() {}`,
      );
    }
    await writePlugin(
      ws,
      "start-stack-getter",
      `export async function onStart() { throw ${poison["stack-getter"]}; } export async function onStop() {}`,
    );
    await writePlugin(
      ws,
      "start-proxy",
      `export async function onStart() { throw ${poison.proxy}; } export async function onStop() {}`,
    );
    await writePlugin(
      ws,
      "huge",
      `export async function onStart() { setTimeout(() => { throw new Error("x".repeat(${HUGE})); }, 300); }
       export async function onStop() {}`,
    );
    await writePlugin(
      ws,
      "bystander",
      `export async function onStart(ctx) { ctx.server.registerRouter("/api/bystander", (req, res) => res.json({ ok: true })); }
       export async function onStop() {}`,
    );
    const args = ["bin/hangar.js", "run", ws.pluginsDir, "--port", "0", "--data-dir", ws.dataDir, "--json"];
    running = start(process.execPath, args, { cwd: root });
    try {
      const summary = await waitFor(running, () =>
        records(running.stdout()).find((r) => r.event === "summary"),
      );
      const url = String(summary.url);
      // Every faulty plugin errors (restart policy never); the shell must still be there to say so.
      await waitFor(running, () => {
        const errored = new Set(
          records(running.stdout())
            .filter((r) => r.state === "errored")
            .map((r) => r.pluginId),
        );
        return ids.every((id) => errored.has(id)) ? true : undefined;
      });
      const list: PluginStatus[] = await (await fetch(`${url}/api/_shell/plugins`)).json();
      statuses = new Map(list.map((status) => [status.id, status]));
      expect((await fetch(`${url}/api/bystander`)).status).toBe(200);
      running.child.kill("SIGINT");
      exitCode = await running.exited;
    } finally {
      if (running.child.exitCode === null) running.child.kill("SIGKILL");
    }
  }, 90_000);
  afterAll(() => ws?.cleanup());

  it("a thrown value that throws when read crashes its plugin, not the shell", () => {
    for (const kind of Object.keys(poison)) {
      const status = statuses.get(`timer-${kind}`);
      expect(status?.state, kind).toBe("errored");
      expect(status?.error, kind).toMatchObject({ phase: "run", code: "HANGAR_PLUGIN_CRASHED" });
      expect(status?.error?.message, kind).toContain(`Plugin 'timer-${kind}' crashed`);
    }
    expect(statuses.get("timer-stack-getter")?.error?.message).toContain("base");
    expect(statuses.get("timer-null-proto")?.error?.message).toContain("no prototype");
    expect(statuses.get("bystander")?.state).toBe("running");
    expect(running.stderr()).not.toMatch(/stack getter|gotcha|revoked/);
    expect(exitCode).toBe(0);
    expect(running.stdout()).toContain('"msg":"stopped"');
  });

  it("thrown by onStart, it fails the start and is not reported as a leftover", () => {
    for (const id of ["start-stack-getter", "start-proxy"]) {
      expect(statuses.get(id)?.error, id).toMatchObject({ phase: "start", code: "HANGAR_START_FAILED" });
      expect(statuses.get(id)?.warnings, id).toBeUndefined();
    }
    expect(statuses.get("start-stack-getter")?.error?.message).toContain("base");
    const leftovers = records(running.stdout()).filter(
      (r) => String(r.pluginId).startsWith("start-") && r.level === 40,
    );
    expect(leftovers).toEqual([]);
  });

  it("a 5 MB message is kept as its first 16 kB, saying how much was cut", () => {
    const message = statuses.get("huge")?.error?.message ?? "";
    expect(message).toMatch(/x{16384}… \(\d+ more characters\)/);
    expect(message.length).toBeLessThan(20_000);
    // The log has the crash and the errored line: nowhere near the 5 MB.
    expect(running.stdout().length).toBeLessThan(400_000);
  });
});
