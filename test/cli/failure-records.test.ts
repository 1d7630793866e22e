// How `hangar run` reports plugin failures: each one once, and with --json as one record with the fields
// docs/cli.md lists (pluginId, state, phase, code, err with the plugin's stack), whatever the phase.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type Running, records, start, waitFor } from "../support/processes.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

const plugins: Record<string, { module: string; restart?: object }> = {
  // A timer throws while the plugin runs: a crash in phase run.
  crasher: {
    module: `export async function onStart() { setTimeout(() => { throw new Error("boom in timer"); }, 200); }`,
    restart: { policy: "never" },
  },
  // process.exit() in a timer: refused, so it is a crash with HANGAR_PROCESS_EXIT.
  exiter: {
    module: "export async function onStart() { setTimeout(() => process.exit(3), 200); }",
    restart: { policy: "never" },
  },
  // process.exit() inside onStart: the hook fails.
  "start-exiter": { module: "export async function onStart() { process.exit(4); }" },
  // Crashes with no restart allowed: errored with HANGAR_RESTART_LIMIT, carrying the crash's stack.
  limited: {
    module: `export async function onStart() { setTimeout(() => { throw new Error("limited crash"); }, 200); }`,
    restart: { policy: "on-failure", maxRestarts: 0 },
  },
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "hangar-failures-"));
  for (const [id, { module, restart }] of Object.entries(plugins)) {
    await mkdir(join(dir, "plugins", id, "background"), { recursive: true });
    await writeFile(
      join(dir, "plugins", id, "plugin.json"),
      JSON.stringify({
        id,
        version: "1.0.0",
        background: { entryModule: "background/index.mjs", ...(restart ? { restart } : {}) },
      }),
    );
    await writeFile(
      join(dir, "plugins", id, "background/index.mjs"),
      `${module}\nexport async function onStop() {}\n`,
    );
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `hangar run` on the plugins until every one has failed as it will, then stops it. */
/**
 * Writes a plugin `id` (one ES module, `source`) under `parent` and runs `hangar run --json` on it with its own data
 * folder; resolves once the CLI printed its summary (whose `url` the server answers on).
 */
async function runOnePlugin(
  parent: string,
  id: string,
  source: string,
  dataDir: string,
  isolation: string,
): Promise<{ running: Running; summary: Record<string, unknown> }> {
  const folder = join(parent, id);
  await mkdir(join(folder, "background"), { recursive: true });
  await writeFile(
    join(folder, "plugin.json"),
    JSON.stringify({ id, version: "1.0.0", background: { entryModule: "background/index.mjs" } }),
  );
  await writeFile(join(folder, "background/index.mjs"), source);
  const args = [
    "bin/hangar.js",
    "run",
    folder,
    "--port",
    "0",
    "--data-dir",
    dataDir,
    "--json",
    "--isolation",
    isolation,
  ];
  const running = start(process.execPath, args, { cwd: root });
  try {
    const summary = await waitFor(running, () =>
      records(running.stdout()).find((r) => r.event === "summary"),
    );
    return { running, summary };
  } catch (error) {
    running.child.kill("SIGKILL");
    throw error;
  }
}

async function runUntilSettled(
  json: boolean,
  extra: string[] = [],
  ids = Object.keys(plugins),
): Promise<Running> {
  const args = ["bin/hangar.js", "run", ...ids.map((id) => join(dir, "plugins", id))];
  args.push("--port", "0", "--data-dir", join(dir, "data"), ...extra);
  const running = start(process.execPath, json ? [...args, "--json"] : args, { cwd: root });
  try {
    const errored = json
      ? () => records(running.stdout()).filter((r) => r.state === "errored").length
      : () => running.stdout().match(/ ERROR \[[\w-]+\] errored/g)?.length ?? 0;
    await waitFor(running, () => (errored() === ids.length ? true : undefined));
    running.child.kill("SIGINT");
    expect(await running.exited).toBe(0);
    return running;
  } finally {
    if (running.child.exitCode === null) running.child.kill("SIGKILL");
  }
}

describe("hangar run --json", () => {
  let lines: Record<string, unknown>[];
  beforeAll(async () => {
    const running = await runUntilSettled(true);
    lines = records(running.stdout());
  });

  /** The records with a plugin failure's code. */
  const failures = (pluginId: string) => lines.filter((r) => r.pluginId === pluginId && r.level === 50);
  /** Log records (not the CLI's events, such as the summary with every plugin's status) that mention `text`. */
  const logged = (text: string) =>
    lines.filter((r) => r.level !== undefined && JSON.stringify(r).includes(text));

  it("a crash is one record with pluginId, state, phase, code and the plugin's stack", () => {
    const [crash, errored] = failures("crasher");
    expect(crash).toMatchObject({ state: "running", phase: "run", code: "HANGAR_PLUGIN_CRASHED" });
    const err = crash?.err as { type: string; message: string; stack: string };
    expect(err).toMatchObject({ type: "Error", message: "boom in timer" });
    expect(err.stack.split("\n")[1]).toContain(join("crasher", "background", "index.mjs"));
    // Restart policy never: the errored record follows, with the same fields, without repeating the error.
    expect(errored).toMatchObject({ state: "errored", phase: "run", code: "HANGAR_PLUGIN_CRASHED" });
    expect(String(errored?.msg)).not.toContain("boom in timer");
    expect(failures("crasher")).toHaveLength(2);
  });

  it("a refused process.exit() is logged once, its stack starting at the plugin's call", () => {
    expect(logged("process.exit(3)")).toHaveLength(1);
    const crash = failures("exiter")[0];
    expect(crash).toMatchObject({ state: "running", phase: "run", code: "HANGAR_PROCESS_EXIT" });
    const stack = (crash as { err: { stack: string } }).err.stack;
    expect(stack.split("\n")[1]).toContain(join("exiter", "background", "index.mjs"));

    expect(logged("process.exit(4)")).toHaveLength(1);
    expect(failures("start-exiter")).toEqual([
      expect.objectContaining({ state: "errored", phase: "start", code: "HANGAR_PROCESS_EXIT" }),
    ]);
  });

  it("the restart limit's record carries the last crash's stack", () => {
    const limit = failures("limited").find((r) => r.code === "HANGAR_RESTART_LIMIT");
    expect(limit).toMatchObject({ state: "errored", phase: "run" });
    expect((limit as { err: { stack: string } }).err.stack).toContain("limited crash");
    // Its advice names every way there is to start it again.
    expect(limit?.msg).toContain("hangar update limited (which re-imports its code)");
    expect(limit?.msg).toContain("POST /api/_shell/plugins/limited/restart");
    expect(limit?.msg).toContain('shell.restartPlugin("limited")');
  });

  it("every failure record has the same fields", () => {
    const all = lines.filter((r) => r.level === 50);
    expect(all.length).toBeGreaterThanOrEqual(5);
    for (const record of all) {
      expect(Object.keys(record)).toEqual(expect.arrayContaining(["pluginId", "state", "phase", "code"]));
      if (record.err) expect((record.err as { type: string }).type).not.toBe("Object");
    }
  });
});

it("hangar run (text): a refused process.exit() is one log entry, its stack under it", async () => {
  const running = await runUntilSettled(false);
  const entries = running
    .stdout()
    .split("\n")
    .filter((line) => /^\d\d:\d\d:\d\d\.\d{3} /.test(line));
  expect(entries.filter((line) => line.includes("process.exit(3)"))).toHaveLength(1);
  expect(running.stdout()).toMatch(/process\.exit\(3\)[^\n]*\n(?: {4}[^\n]*\n)*? {8}at [^\n]*exiter/);
});

it("hangar run --isolation worker: a crash in a plugin's worker is one record with the same fields", async () => {
  const running = await runUntilSettled(
    true,
    ["--isolation", "worker"],
    ["crasher", "exiter", "start-exiter"],
  );
  const lines = records(running.stdout()).filter((r) => r.level === 50);
  const crash = lines.find((r) => r.pluginId === "crasher" && r.state === "running");
  expect(crash).toMatchObject({ phase: "run", code: "HANGAR_PLUGIN_CRASHED" });
  expect((crash as { err: { stack: string } }).err.stack).toContain(
    join("crasher", "background", "index.mjs"),
  );
  const exit = lines.filter((r) => r.pluginId === "exiter" && String(r.msg).includes("exit code 3"));
  expect(exit).toEqual([
    expect.objectContaining({ state: "running", phase: "run", code: "HANGAR_PLUGIN_CRASHED" }),
  ]);
  // Each crash once, then the errored line that refers to it; an exit during onStart is its failed hook.
  expect(lines.map((r) => `${r.pluginId} ${r.state}`).sort()).toEqual([
    "crasher errored",
    "crasher running",
    "exiter errored",
    "exiter running",
    "start-exiter errored",
  ]);
  expect(lines.find((r) => r.pluginId === "start-exiter")).toMatchObject({ phase: "start" });
}, 60_000);

describe.each(["none", "worker"])("hangar run --json --isolation %s", (isolation) => {
  it("an error escaping a route handler is one failure record: phase request, HANGAR_ROUTE_FAILED, its stack", async () => {
    const { running, summary } = await runOnePlugin(
      join(dir, "routes"),
      "router",
      `export async function onStart(ctx) {
         ctx.server.registerRouter("/api/router", (req, res) => {
           if (req.url === "/boom") throw new Error("route boom");
           res.json({ ok: true });
         });
       }
       export async function onStop() {}\n`,
      join(dir, `data-${isolation}`),
      isolation,
    );
    try {
      const response = await fetch(`${summary.url}/api/router/boom`);
      expect(response.status).toBe(500);
      expect(await response.text()).not.toContain("route boom");
      const record = await waitFor(running, () =>
        records(running.stdout()).find((r) => r.pluginId === "router" && r.level === 50),
      );
      expect(record).toMatchObject({ state: "running", phase: "request", code: "HANGAR_ROUTE_FAILED" });
      expect(record.msg).toContain("Plugin 'router' route GET /api/router/boom failed: route boom");
      const err = record.err as { type: string; message: string; stack: string };
      expect(err).toMatchObject({ type: "Error", message: "route boom" });
      expect(err.stack).toContain(join("router", "background", "index.mjs"));
      // The plugin keeps running and serving.
      expect((await fetch(`${summary.url}/api/router/ok`)).status).toBe(200);
      running.child.kill("SIGINT");
      expect(await running.exited).toBe(0);
      expect(records(running.stdout()).filter((r) => r.level === 50)).toHaveLength(1);
    } finally {
      if (running.child.exitCode === null) running.child.kill("SIGKILL");
    }
  }, 90_000);
});

describe.each(["none", "worker"])("hangar run --json --isolation %s", (isolation) => {
  it("an error escaping an IPC handler is one failure record: phase request, HANGAR_IPC_HANDLER_FAILED, its stack", async () => {
    const { running, summary } = await runOnePlugin(
      join(dir, "ipc"),
      "caller",
      `export async function onStart(ctx) {
         ctx.ipc.handle("fail", async () => { throw new Error("ipc boom"); });
       }
       export async function onStop() {}\n`,
      join(dir, `ipc-${isolation}`),
      isolation,
    );
    try {
      const socket = new WebSocket(`${String(summary.url).replace(/^http/, "ws")}/_hangar/ipc`);
      const answer = await new Promise<Record<string, unknown>>((resolve, reject) => {
        socket.on("error", reject);
        socket.on("open", () =>
          socket.send(JSON.stringify({ type: "invoke", id: 1, channel: "plugin:caller:fail" })),
        );
        socket.on("message", (data) => {
          const message = JSON.parse(String(data)) as Record<string, unknown>;
          if (message.type === "result") resolve(message);
        });
      });
      socket.close();
      expect(JSON.stringify(answer)).toContain("ipc boom");
      const record = await waitFor(running, () =>
        records(running.stdout()).find((r) => r.pluginId === "caller" && r.level === 50),
      );
      expect(record).toMatchObject({ state: "running", phase: "request", code: "HANGAR_IPC_HANDLER_FAILED" });
      expect(record.msg).toContain("Plugin 'caller' IPC handler 'fail' failed: ipc boom");
      const err = record.err as { type: string; message: string; stack: string };
      expect(err).toMatchObject({ message: "ipc boom" });
      expect(err.stack).toContain(join("caller", "background", "index.mjs"));
      running.child.kill("SIGINT");
      expect(await running.exited).toBe(0);
      // One record: the plugin's own logger does not log it again.
      expect(records(running.stdout()).filter((r) => r.level === 50)).toHaveLength(1);
    } finally {
      if (running.child.exitCode === null) running.child.kill("SIGKILL");
    }
  }, 90_000);
});

describe("hangar run --json --isolation worker: a crash while invokes wait", () => {
  it("rejects the waiting invokes with the crash, logged once as the crash, not once more per invoke", async () => {
    const { running, summary } = await runOnePlugin(
      join(dir, "ipc-crash"),
      "waiter",
      `export async function onStart(ctx) {
         ctx.ipc.handle("wait", () => new Promise(() => {}));
         ctx.ipc.handle("die", () => { setTimeout(() => { throw new Error("worker boom"); }, 100); return "bye"; });
       }
       export async function onStop() {}\n`,
      join(dir, "ipc-crash-data"),
      "worker",
    );
    try {
      const socket = new WebSocket(`${String(summary.url).replace(/^http/, "ws")}/_hangar/ipc`);
      const results = new Map<number, Record<string, unknown>>();
      await new Promise<void>((resolve, reject) => {
        socket.on("error", reject);
        socket.on("open", () => {
          for (const id of [1, 2, 3]) {
            socket.send(JSON.stringify({ type: "invoke", id, channel: "plugin:waiter:wait" }));
          }
          socket.send(JSON.stringify({ type: "invoke", id: 4, channel: "plugin:waiter:die" }));
        });
        socket.on("message", (data) => {
          const message = JSON.parse(String(data)) as Record<string, unknown>;
          if (message.type === "result") results.set(Number(message.id), message);
          if (results.size === 4) resolve();
        });
      });
      socket.close();
      // The three waiting invokes were rejected with the crash's message.
      for (const id of [1, 2, 3]) expect(JSON.stringify(results.get(id))).toContain("worker boom");
      const crash = await waitFor(running, () =>
        records(running.stdout()).find((r) => r.pluginId === "waiter" && r.code === "HANGAR_PLUGIN_CRASHED"),
      );
      expect(String(crash.msg)).toContain("worker boom");
      expect(records(running.stdout()).filter((r) => r.code === "HANGAR_IPC_HANDLER_FAILED")).toEqual([]);
    } finally {
      if (running.child.exitCode === null) running.child.kill("SIGKILL");
    }
  }, 90_000);
});

describe.each(["none", "worker"])("hangar run --json --isolation %s: a restart's log lines", (isolation) => {
  it("say how long the import took, and which restart waits how long", async () => {
    const { running } = await runOnePlugin(
      join(dir, `restart-${isolation}`),
      "once",
      `export async function onStart(ctx) {
         const starts = (await ctx.config.get("starts", 0)) + 1;
         await ctx.config.set("starts", starts);
         if (starts === 1) setTimeout(() => { throw new Error("first run fails"); }, 100);
       }
       export async function onStop() {}\n`,
      join(dir, `restart-${isolation}-data`),
      isolation,
    );
    try {
      const lines = () =>
        records(running.stdout())
          .filter((r) => r.pluginId === "once")
          .map((r) => String(r.msg));
      await waitFor(running, () =>
        lines().filter((msg) => msg.startsWith("running (")).length === 2 ? true : undefined,
      );
      const load = isolation === "worker" ? "worker boot and import" : "import";
      expect(lines()).toContainEqual(
        expect.stringMatching(new RegExp(`^loaded \\(${load} took \\d+ ms\\)$`)),
      );
      expect(lines()).toContainEqual(
        expect.stringMatching(/^backoff: restart 1 of 3 within 300000 ms, in 1000 ms/),
      );
      if (isolation === "worker") {
        // The restart boots a new worker and imports the module again before starting it.
        expect(lines()).toContainEqual(
          expect.stringMatching(/^starting \(worker boot and import took \d+ ms\)$/),
        );
      }
    } finally {
      if (running.child.exitCode === null) running.child.kill("SIGKILL");
    }
  }, 90_000);
});
