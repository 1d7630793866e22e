// Containment holes a fresh user found (session 4), each through the real CLI in a child process: odd thrown
// values (a Proxy, a revoked Proxy, a throwing stack getter, a throwing toString, a null-prototype object) and a
// 5 MB message, from a timer and from onStart; a plugin that closes the shell's server. In-process only: the CLI runs plugins in-process by default.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PluginStatus } from "../../src/index.js";
import { createWorkspace, type Workspace } from "../support/plugins.js";
import { type Running, run, sleep, start, waitFor } from "../support/processes.js";

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

describe("a plugin that replaces globalThis.setTimeout, through hangar run", () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await createWorkspace();
    // Every timer set through the global after its onStart waits 100 times longer (a 500 ms stop timeout: 50 s).
    await ws.write({
      id: "timer-patch",
      source: `const original = setTimeout;
        export async function onStart() { globalThis.setTimeout = (fn, ms, ...args) => original(fn, (ms ?? 0) * 100, ...args); }
        export async function onStop() {}`,
    });
    await ws.write({
      id: "stop-hang",
      manifest: { background: { stopTimeoutMs: 500 } },
      source:
        "export async function onStart() {} export async function onStop() { await new Promise(() => {}); }",
    });
  });
  afterAll(() => ws?.cleanup());

  it("does not stretch hangar's own timeouts: Ctrl+C still ends within the stop timeout", async () => {
    const args = ["bin/hangar.js", "run", ws.pluginsDir, "--port", "0", "--data-dir", ws.dataDir, "--json"];
    const running = start(process.execPath, args, { cwd: root });
    try {
      await waitFor(running, () => records(running.stdout()).find((r) => r.event === "summary"));
      running.child.kill("SIGINT");
      // Patched, the 500 ms stop timeout would be 50 s (and the 15 s shutdown budget 25 minutes).
      const exited = await Promise.race([running.exited, sleep(20_000).then(() => "still running")]);
      expect(exited).not.toBe("still running");
      const stopHang = records(running.stdout()).find(
        (r) => r.pluginId === "stop-hang" && r.code === "HANGAR_STOP_TIMEOUT",
      );
      expect(stopHang).toBeDefined();
    } finally {
      if (running.child.exitCode === null) running.child.kill("SIGKILL");
    }
  }, 60_000);
});

describe("a plugin that closes the shell's server, through hangar run", () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await createWorkspace();
    // A "cleanup" that closes every net.Server of the process: the shell's own among them.
    await ws.write({
      id: "closer",
      source: `import net from "node:net";
        export async function onStart() {
          setTimeout(() => { for (const h of process._getActiveHandles()) if (h instanceof net.Server) h.close(); }, 300);
        }
        export async function onStop() {}`,
    });
  });
  afterAll(() => ws?.cleanup());

  it("is not a silent exit 0: HANGAR_SERVER_CLOSED, the plugins stopped, exit code 1", async () => {
    const args = ["bin/hangar.js", "run", ws.pluginsDir, "--port", "0", "--data-dir", ws.dataDir, "--json"];
    const running = start(process.execPath, args, { cwd: root });
    try {
      const exited = await Promise.race([running.exited, sleep(30_000).then(() => "still running")]);
      expect(exited, running.stderr()).not.toBe("still running");
      expect(running.child.exitCode).toBe(1);
      expect(running.stderr() + running.stdout()).toContain("HANGAR_SERVER_CLOSED");
      expect(running.stderr() + running.stdout()).toContain("was closed while the shell was running");
      // The plugins were stopped on the way out, not abandoned.
      expect(
        records(running.stdout()).some((r) => r.pluginId === "closer" && String(r.msg).startsWith("stopped")),
      ).toBe(true);
    } finally {
      if (running.child.exitCode === null) running.child.kill("SIGKILL");
    }
  }, 60_000);
});

describe("an embedding host that outlives shell.stop()", () => {
  let ws: Workspace;
  let calm: Workspace;
  beforeAll(async () => {
    calm = await createWorkspace();
    await calm.write({
      id: "calm",
      source: "export async function onStart() {} export async function onStop() {}",
    });
    ws = await createWorkspace();
    // Forgets its interval, which throws once the plugin has been stopped.
    await ws.write({
      id: "late",
      source: `let stopped = false;
        export async function onStart() { setInterval(() => { if (stopped) throw new Error("late timer boom"); }, 100); }
        export async function onStop() { stopped = true; }`,
    });
  });
  afterAll(async () => {
    await ws?.cleanup();
    await calm?.cleanup();
  });

  const embed = (mode: string, over = ws) =>
    run(
      process.execPath,
      [join(root, "test/support/embed-after-stop.mjs"), over.pluginsDir, over.dataDir, mode],
      {
        cwd: over.root,
      },
    );

  it("a stopped plugin's leftover that throws is a warning naming the plugin, not the host's end", async () => {
    const { code, stdout, stderr } = await embed("leftover");
    expect(stderr).not.toContain("late timer boom");
    expect(code).toBe(0);
    const lines = records(stdout);
    expect(lines.find((r) => r.event === "stopped")).toMatchObject({ shutdown: { clean: true } });
    expect(lines.some((r) => r.event === "alive")).toBe(true);
    const warnings = lines.filter((r) => r.pluginId === "late" && r.level === 40).map((r) => String(r.msg));
    // The interval, named once when its context was disposed (docs/lifecycle.md, "Leftover timers"), and its throw
    // (in either order: the interval may fire before the leftover check, two turns after the disposal).
    expect(warnings).toHaveLength(2);
    expect(
      warnings.filter((msg) => /^Plugin 'late' left 1 interval running after onStop/.test(msg)),
    ).toHaveLength(1);
    expect(
      warnings.filter((msg) => /after the shell stopped, its code threw: late timer boom/.test(msg)),
    ).toHaveLength(1);
  }, 60_000);

  it("the host's own error after the stop still ends the process as Node would: printed, exit code 1", async () => {
    for (const mode of ["host-bug", "host-rejection"]) {
      // With no leftover throwing first: what is tested is that hangar's after-stop guard keeps Node's meaning.
      const { code, stdout, stderr } = await embed(mode, calm);
      expect(code, mode).toBe(1);
      expect(stderr, mode).toContain(
        mode === "host-bug" ? "host bug after stop" : "host rejection after stop",
      );
      expect(
        records(stdout).some((r) => r.event === "alive"),
        mode,
      ).toBe(false);
    }
  }, 90_000);
});
