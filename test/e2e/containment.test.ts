// The fault matrix of SPEC §11: {throw, reject, leftover-call, exit, hang} × {module load, onStart, running,
// route, IPC handler, onResume, onStop}, generated from one table, run side by side in one child process per
// IPC transport (memory, WebSocket) that installs no error handlers of its own, and through the real CLI.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PluginStatus, ShellStatus } from "../../src/index.js";
import { createWorkspace, goodPluginSource, type Workspace } from "../support/plugins.js";

/** The vitest project "isolated" runs this file again with every plugin in its own worker (SPEC §12). */
const isolated = process.env.HANGAR_TEST_ISOLATION === "worker";
/** Booting some forty workers at once takes minutes on a loaded machine. */
const startupTimeout = isolated ? 300_000 : 30_000;

type Fault = "throw" | "reject" | "leftover-call" | "exit" | "hang";
type Site =
  | "module load"
  | "onStart"
  | "running: timer"
  | "running: shared listener"
  | "running: forgotten promise"
  | "route: sync"
  | "route: async"
  | "route: continuation"
  | "route: after end"
  | "IPC handler"
  | "onResume"
  | "onStop";
/** When the cell's outcome is checked: after start-up, after an update, or after shell.stop(). */
type Checkpoint = "start" | "update" | "stop";

interface Expectation {
  at: Checkpoint;
  state: PluginStatus["state"];
  /** The error's phase; either of two where the outcome depends on timing (see the isolated table). */
  phase?: string | string[];
  code?: string;
  /** A warning on the plugin's status (or, at "stop", in the log) that names the call and the fix. */
  warning?: RegExp;
}

interface Cell {
  fault: Fault;
  site: Site;
  /** A plugin of its own, or a probe (route path, IPC channel) of a shared plugin. */
  plugin?: { id: string; source: string; manifest?: Record<string, unknown> };
  expect?: Expectation;
  route?: { path: string; status: number; body?: RegExp };
  ipc?: { channel: string; error: RegExp };
  /** Why this cell is not run. */
  skip?: string;
}

/** A plugin that answers /api/<id>/ping and IPC `ping`, then does `start`; `stop`/`resume` are the other hooks. */
function faulty(
  id: string,
  parts: { top?: string; start?: string; stop?: string; resume?: string; manifest?: Record<string, unknown> },
) {
  const register = `
    ctx.server.registerRouter("/api/${id}", (req, res, next) => req.url === "/ping" ? res.json({ pong: true }) : next());
    ctx.ipc.handle("ping", () => "pong");`;
  // policy "never": a crash leaves the plugin errored, so the cell shows the fault (restarts: a test below).
  const background = { restart: { policy: "never" }, ...(parts.manifest?.background as object | undefined) };
  return {
    id,
    manifest: { ...parts.manifest, background },
    source: `import { bus } from "../../../shared/bus.mjs";
${parts.top ?? ""}
export async function onStart(ctx) { ${register} ${parts.start ?? ""} }
export async function onStop() { ${parts.stop ?? ""} }
${parts.resume === undefined ? "" : `export async function onResume(ctx) { ${register} ${parts.resume} }`}
`,
  };
}

const throwSoon = (message: string, ms = 30) =>
  `setTimeout(() => { throw new Error("${message}"); }, ${ms});`;
const never = "await new Promise(() => {});";

const routes = faulty("routes", {
  start: `ctx.server.registerRouter("/api/routes/f", (req, res) => {
    if (req.url === "/sync") throw new Error("route sync boom");
    if (req.url === "/async") return Promise.reject(new Error("route async boom"));
    if (req.url === "/timer") { ${throwSoon("route timer boom", 10)} return; }
    if (req.url === "/forgot") { Promise.reject(new Error("route forgot")); return; }
    if (req.url === "/after-end") { res.json({ answered: true }); ${throwSoon("after end boom", 5)} return; }
    if (req.url === "/exit") { process.exit(1); }
  });`,
});
const ipcs = faulty("ipcs", {
  start: `
    ctx.ipc.handle("sync", () => { throw new Error("ipc sync boom"); });
    ctx.ipc.handle("timer", () => new Promise(() => { ${throwSoon("ipc timer boom", 10)} }));
    ctx.ipc.handle("forgot", () => { Promise.reject(new Error("ipc forgot")); return new Promise(() => {}); });
    ctx.ipc.handle("exit", () => process.exit(4));`,
});

const crashed = (at: Checkpoint = "start", code = "HANGAR_PLUGIN_CRASHED"): Expectation => ({
  at,
  state: "errored",
  phase: "run",
  code,
});

/**
 * The throw, exit and hang cells of one hook: each errors the plugin in the hook's phase, with the codes given
 * (spelled out here, not read from src/errors.ts, so a wrong table in src fails these cells).
 */
function hookFaults(
  hook: "start" | "resume" | "stop",
  at: Checkpoint,
  codes: { throw: string; hang: string },
  exitCode: number,
): Cell[] {
  const site = ({ start: "onStart", resume: "onResume", stop: "onStop" } as const)[hook];
  const errored = (code: string): Expectation => ({ at, state: "errored", phase: hook, code });
  const timeout = { background: { [`${hook}TimeoutMs`]: 400 } };
  return [
    {
      fault: "throw",
      site,
      plugin: faulty(`throw-${hook}`, { [hook]: `throw new Error("${hook} boom");` }),
      expect: errored(codes.throw),
    },
    {
      fault: "exit",
      site,
      plugin: faulty(`exit-${hook}`, { [hook]: `process.exit(${exitCode});` }),
      expect: errored("HANGAR_PROCESS_EXIT"),
    },
    {
      fault: "hang",
      site,
      plugin: faulty(`hang-${hook}`, { [hook]: never, manifest: timeout }),
      expect: errored(codes.hang),
    },
  ];
}

const matrix: Cell[] = [
  // module load
  {
    fault: "throw",
    site: "module load",
    plugin: faulty("throw-load", { top: `throw new Error("top-level boom");` }),
    expect: { at: "start", state: "errored", phase: "load", code: "HANGAR_MODULE_IMPORT" },
  },
  {
    fault: "reject",
    site: "module load",
    plugin: faulty("reject-load", {
      top: `Promise.reject(new Error("top-level forgotten")); await new Promise((r) => setTimeout(r, 50));`,
    }),
    expect: { at: "start", state: "errored", phase: "load", code: "HANGAR_LOAD_FAILED" },
  },
  {
    fault: "throw",
    site: "running: timer",
    plugin: faulty("module-timer", {
      top: `let started; const ready = new Promise((r) => { started = r; }); ready.then(() => { ${throwSoon("module timer boom")} });`,
      start: "started();",
    }),
    expect: crashed(),
  },
  {
    fault: "exit",
    site: "module load",
    plugin: faulty("exit-load", { top: "process.exit(2);" }),
    expect: { at: "start", state: "errored", phase: "load", code: "HANGAR_MODULE_IMPORT" },
  },
  {
    fault: "hang",
    site: "module load",
    // The load timeout is the plugin machine's; here it meets a real module that never finishes importing.
    plugin: faulty("hang-load", {
      top: "await new Promise(() => {});",
      manifest: { background: { loadTimeoutMs: 400 } },
    }),
    expect: { at: "start", state: "errored", phase: "load", code: "HANGAR_LOAD_TIMEOUT" },
  },
  { fault: "leftover-call", site: "module load", skip: "module code has no context to outlive" },
  // onStart
  ...hookFaults("start", "start", { throw: "HANGAR_START_FAILED", hang: "HANGAR_START_TIMEOUT" }, 0),
  {
    fault: "throw",
    site: "onStart",
    plugin: faulty("timer-in-start", {
      start: `${throwSoon("timer while starting", 10)} await new Promise((r) => setTimeout(r, 250));`,
    }),
    expect: { at: "start", state: "errored", phase: "start", code: "HANGAR_START_FAILED" },
  },
  {
    fault: "reject",
    site: "onStart",
    plugin: faulty("reject-start", { start: `Promise.reject(new Error("forgotten in onStart"));` }),
    expect: crashed(),
  },
  {
    fault: "leftover-call",
    site: "onStart",
    plugin: faulty("leftover-start", {
      start: `setInterval(() => ctx.server.registerRouter("/api/leftover-start/late", (q, s) => s.json({})), 40); ${never}`,
      manifest: { background: { startTimeoutMs: 400 } },
    }),
    expect: {
      at: "start",
      state: "errored",
      phase: "start",
      code: "HANGAR_START_TIMEOUT",
      warning:
        /ctx\.server\.registerRouter\('\/api\/leftover-start\/late'\) after the context was disposed by a start timeout.*clear it in onStop/,
    },
    route: { path: "/api/leftover-start/late", status: 503 },
  },
  // running
  {
    fault: "throw",
    site: "running: timer",
    plugin: faulty("throw-timer", { start: throwSoon("timer boom") }),
    expect: crashed(),
  },
  {
    fault: "throw",
    site: "running: shared listener",
    plugin: faulty("throw-listener", {
      start: `bus.on("tick", () => { throw new Error("listener boom"); });`,
    }),
    expect: crashed(),
  },
  {
    fault: "reject",
    site: "running: forgotten promise",
    plugin: faulty("reject-running", {
      start: `setTimeout(() => { Promise.reject(new Error("forgotten later")); }, 30);`,
    }),
    expect: crashed(),
  },
  {
    fault: "exit",
    site: "running: timer",
    plugin: faulty("exit-running", { start: "setTimeout(() => process.exit(3), 30);" }),
    expect: crashed("start", "HANGAR_PROCESS_EXIT"),
  },
  {
    fault: "leftover-call",
    site: "running: timer",
    plugin: faulty("leftover-running", {
      start: `let n = 0; setInterval(() => ctx.ipc.send("tick", n++), 30);`,
    }),
    expect: {
      at: "update",
      state: "running",
      warning: /ctx\.ipc\.send\('tick'\) after the context was disposed by an update.*clear it in onStop/,
    },
  },
  {
    fault: "hang",
    site: "running: timer",
    skip: "a busy loop blocks the shell's own thread: isolation (SPEC §12)",
  },
  // routes (one plugin, one probe per cell); the plugin keeps running
  {
    fault: "throw",
    site: "route: sync",
    plugin: routes,
    route: { path: "/api/routes/f/sync", status: 500 },
    expect: { at: "start", state: "running" },
  },
  { fault: "reject", site: "route: async", route: { path: "/api/routes/f/async", status: 500 } },
  { fault: "throw", site: "route: continuation", route: { path: "/api/routes/f/timer", status: 500 } },
  { fault: "reject", site: "route: continuation", route: { path: "/api/routes/f/forgot", status: 500 } },
  {
    fault: "throw",
    site: "route: after end",
    route: { path: "/api/routes/f/after-end", status: 200, body: /answered/ },
  },
  { fault: "exit", site: "route: sync", route: { path: "/api/routes/f/exit", status: 500 } },
  {
    fault: "hang",
    site: "route: sync",
    skip: "an unanswered request is the client's timeout; shutdown's close grace ends it",
  },
  {
    fault: "leftover-call",
    site: "route: sync",
    skip: "a route belongs to a live context; covered by the running cells",
  },
  // IPC handlers (one plugin, one channel per cell); the plugin keeps running
  {
    fault: "throw",
    site: "IPC handler",
    plugin: ipcs,
    ipc: { channel: "plugin:ipcs:sync", error: /ipc sync boom/ },
    expect: { at: "start", state: "running" },
  },
  { fault: "throw", site: "IPC handler", ipc: { channel: "plugin:ipcs:timer", error: /ipc timer boom/ } },
  { fault: "reject", site: "IPC handler", ipc: { channel: "plugin:ipcs:forgot", error: /ipc forgot/ } },
  { fault: "exit", site: "IPC handler", ipc: { channel: "plugin:ipcs:exit", error: /process\.exit/ } },
  {
    fault: "hang",
    site: "IPC handler",
    skip: "SPEC §7 has no invoke timeout: the invoke pends until the transport closes",
  },
  // onResume (checked after an update)
  ...hookFaults("resume", "update", { throw: "HANGAR_RESUME_FAILED", hang: "HANGAR_RESUME_TIMEOUT" }, 0),
  {
    fault: "reject",
    site: "onResume",
    plugin: faulty("reject-resume", { resume: `Promise.reject(new Error("forgotten in onResume"));` }),
    expect: crashed("update"),
  },
  {
    fault: "leftover-call",
    site: "onResume",
    // The reference pattern: a timer from onStart sends on its context; onResume gets a fresh one and forgets the timer.
    plugin: faulty("leftover-resume", {
      start: `setInterval(() => ctx.ipc.send("tick", 1), 30);`,
      resume: "",
    }),
    expect: {
      at: "update",
      state: "running",
      warning: /ctx\.ipc\.send\('tick'\) after the context was disposed by an update/,
    },
  },
  // onStop (an update restarts plugins without onResume: stop, then start)
  ...hookFaults("stop", "update", { throw: "HANGAR_STOP_FAILED", hang: "HANGAR_STOP_TIMEOUT" }, 5),
  {
    fault: "reject",
    site: "onStop",
    plugin: faulty("reject-stop", { stop: `Promise.reject(new Error("forgotten in onStop"));` }),
    expect: { at: "update", state: "running", warning: /forgotten in onStop/ },
  },
  {
    fault: "leftover-call",
    site: "onStop",
    plugin: faulty("leftover-stop", {
      start: "globalThis.__ctx = ctx;",
      // Fires for 1.5 s after each onStop: on the final stop, also after the shell has stopped.
      stop: `const ctx = globalThis.__ctx; let n = 0; const t = setInterval(() => { if (++n > 30) clearInterval(t); ctx.ipc.send("bye", 1); ctx.ipc.handle("late", () => 1); }, 50);`,
    }),
    expect: {
      at: "stop",
      state: "stopped",
      warning:
        /ctx\.ipc\.send\('bye'\) after the context was disposed by a stop.*the shell has stopped; the call was ignored/,
    },
  },
];

/**
 * The same faults with every plugin in its own worker (SPEC §12; the vitest project "isolated"), where they differ
 * from the in-process table above, by plugin id, route path or IPC channel. What holds for every cell here:
 * - any error that escapes the plugin's code in its worker ends the worker: HANGAR_PLUGIN_CRASHED, where
 *   in-process the shell's containment gives `HANGAR_PROCESS_EXIT`, a failed hook or a warning;
 * - except from code a route or an IPC handler left behind: as in-process, it fails that request (500) or invoke
 *   while it waits, and after the answer it is logged once; the plugin runs on (the worker keeps each request's
 *   and invoke's flow in its async scope);
 * - except from a leftover of a disposed context: the worker attributes an escaped error to the context whose
 *   async scope it comes from, so a promise an earlier context forgot (`reject-stop`) is the same warning as
 *   in-process and the running generation carries on (SPEC §11). A leftover's call on its disposed context is
 *   ignored in the worker and warned about by the shell, as in-process;
 * - a worker's onStart lasts until Express is imported for its routes, seconds on a loaded machine: a fault
 *   30 ms after onStart registered its routes may strike inside onStart (phase `start`) or after it (`run`);
 * - modules are not shared between workers: the `bus` the emitter emits on is not the listener's;
 * - a crash of the `routes` or `ipcs` plugin ends it for the probes after it: they answer 503 / "No handler".
 */
const isolatedTable: Record<string, Partial<Cell>> = {
  // Its 400 ms load timeout bounds the worker's boot and then its import, apart: with thirty workers booting at
  // once on a loaded machine the boot alone may take longer (HANGAR_WORKER_BOOT_TIMEOUT), else the import hangs
  // (HANGAR_LOAD_TIMEOUT); either way it is errored in phase load. test/isolation/worker-boot-timeout.test.ts
  // checks each code on its own.
  "hang-load": { expect: { at: "start", state: "errored", phase: "load" } },
  "reject-load": { expect: { at: "start", state: "errored", phase: "load", code: "HANGAR_PLUGIN_CRASHED" } },
  "exit-load": { expect: { at: "start", state: "errored", phase: "load", code: "HANGAR_PLUGIN_CRASHED" } },
  "module-timer": { expect: { ...crashed(), phase: ["start", "run"] } },
  "exit-start": { expect: { at: "start", state: "errored", phase: "start", code: "HANGAR_PLUGIN_CRASHED" } },
  "timer-in-start": {
    expect: { at: "start", state: "errored", phase: "start", code: "HANGAR_PLUGIN_CRASHED" },
  },
  "reject-start": { expect: { ...crashed(), phase: ["start", "run"] } },
  // The hook outlived its timeout, so its worker was ended: no leftover is left to call.
  "leftover-start": {
    expect: { at: "start", state: "errored", phase: "start", code: "HANGAR_START_TIMEOUT" },
  },
  "throw-timer": { expect: { ...crashed(), phase: ["start", "run"] } },
  "throw-listener": { expect: { at: "start", state: "running" } },
  "reject-running": { expect: { ...crashed(), phase: ["start", "run"] } },
  "exit-running": { expect: { ...crashed(), phase: ["start", "run"] } },
  // process.exit() ends the worker (in-process it throws at the call): the request answers 503, the invoke fails
  // with the crash, which names process.exit() as in-process.
  "/api/routes/f/exit": { route: { path: "/api/routes/f/exit", status: 503 } },
  "exit-resume": {
    expect: { at: "update", state: "errored", phase: "resume", code: "HANGAR_PLUGIN_CRASHED" },
  },
  "exit-stop": { expect: { at: "update", state: "errored", phase: "stop", code: "HANGAR_PLUGIN_CRASHED" } },
  // Its leftover warns after the update (the same warning as in-process); on the final stop the worker is ended
  // (it exits when the shell closes it) before the leftover's timer fires: nothing is left to call after stop.
  "leftover-stop": { expect: { at: "stop", state: "stopped" } },
};

function isolatedCell(cell: Cell): Cell {
  const key = cell.plugin?.id ?? cell.route?.path ?? cell.ipc?.channel ?? "";
  return { ...cell, ...isolatedTable[key] };
}

/** The table this run checks: the in-process one, or the isolated outcomes over it. */
const table = isolated ? matrix.map(isolatedCell) : matrix;
const cells = table.filter((cell) => cell.skip === undefined);
const plugins = [
  ...new Map(cells.flatMap((cell) => (cell.plugin ? [[cell.plugin.id, cell.plugin]] : []))).values(),
];
const ownerOf = (index: number) => {
  for (let i = index; i >= 0; i -= 1) if (table[i]!.plugin) return table[i]!.plugin!.id;
  return "";
};

/** One answer line of the child: a status, an invoke's outcome, or the ready line. */
type Answer = ShellStatus & { ok?: boolean; error?: string; value?: unknown; url: string; stopMs?: number };

/** A child process running test/support/containment-run.mjs, answering one JSON line per command. */
interface Child {
  process: ChildProcess;
  url: string;
  send(command: Record<string, unknown>): Promise<Answer>;
  stderr(): string;
  exited: Promise<number | null>;
}

async function startChild(ws: Workspace, transport: "memory" | "websocket"): Promise<Child> {
  const script = path.resolve("test/support/containment-run.mjs");
  const child = spawn(process.execPath, [script, ws.pluginsDir, ws.dataDir, transport], {
    cwd: ws.root,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk) => {
    stderr += chunk;
  });
  if (process.env.CONTAIN_DEBUG) child.stderr!.pipe(createWriteStream(`/tmp/contain-${transport}.log`));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout! });
  const waiting: Array<(value: Answer) => void> = [];
  lines.on("line", (line) => waiting.shift()?.(JSON.parse(line)));
  const next = () => new Promise<Answer>((resolve) => waiting.push(resolve));
  const ready = await Promise.race([
    next(),
    exited.then((code) => {
      throw new Error(`the child exited ${code} before it was ready:\n${stderr}`);
    }),
  ]);
  return {
    process: child,
    url: ready.url,
    exited,
    stderr: () => stderr,
    send(command) {
      const answer = next();
      child.stdin!.write(`${JSON.stringify(command)}\n`);
      return answer;
    },
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function writePlugins(ws: Workspace): Promise<void> {
  await mkdir(path.join(ws.root, "shared"), { recursive: true });
  await writeFile(
    path.join(ws.root, "shared", "bus.mjs"),
    `import { EventEmitter } from "node:events"; export const bus = new EventEmitter();`,
  );
  await ws.write({ id: "bystander", source: goodPluginSource("bystander") });
  // Emits on the shared bus from its own timer: a throwing listener runs in this plugin's scope, not the thrower's.
  await ws.write({
    id: "emitter",
    source: `import { bus } from "../../../shared/bus.mjs";
      let timer;
      export async function onStart() { timer = setInterval(() => bus.emit("tick"), 40); }
      export async function onStop() { clearInterval(timer); }`,
  });
  for (const plugin of plugins) await ws.write(plugin);
}

/** What the `after end` route cell leaves in the log (once): the plugin keeps running. */
const afterEndLogged = /left code that failed after the response was sent: after end boom/;

async function expectBystanderAnswers(child: Child): Promise<void> {
  const response = await fetch(`${child.url}/api/bystander/status`);
  expect(response.status).toBe(200);
  expect(await child.send({ cmd: "invoke", channel: "plugin:bystander:ping", payload: 1 })).toMatchObject({
    ok: true,
  });
}

async function checkCells(child: Child, status: ShellStatus, at: Checkpoint): Promise<void> {
  const byId = new Map(status.plugins.map((plugin) => [plugin.id, plugin]));
  if (at !== "stop") expect(byId.get("emitter")?.state).toBe("running");
  for (const [index, cell] of table.entries()) {
    if (cell.skip !== undefined || cell.expect?.at !== at) continue;
    const id = ownerOf(index);
    const plugin = byId.get(id);
    const label = `${cell.fault} × ${cell.site} (${id})`;
    const { expect: want } = cell;
    expect({ label, state: plugin?.state, error: plugin?.error }).toMatchObject({ label, state: want.state });
    if (typeof want.phase === "string") {
      expect({ label, phase: plugin?.error?.phase }).toEqual({ label, phase: want.phase });
    } else if (want.phase) {
      expect(want.phase, `${label}: phase ${plugin?.error?.phase}`).toContain(plugin?.error?.phase);
    }
    if (want.code) expect({ label, code: plugin?.error?.code }).toEqual({ label, code: want.code });
    if (want.state === "errored") {
      expect(plugin?.error?.message, label).toContain(`'${id}'`);
      // Its registrations are gone: the route 503s, the IPC handler is removed.
      expect((await fetch(`${child.url}/api/${id}/ping`)).status, label).toBe(503);
      const invoke = await child.send({ cmd: "invoke", channel: `plugin:${id}:ping` });
      expect(invoke.ok, label).toBe(false);
    }
    if (want.warning) {
      const text = at === "stop" ? child.stderr() : (plugin?.warnings ?? []).join("\n");
      expect(text, label).toMatch(want.warning);
    }
  }
}

describe.each(["memory", "websocket"] as const)(
  "fault matrix, %s IPC, plain node host without handlers",
  (transport) => {
    let ws: Workspace;
    let child: Child;

    beforeAll(async () => {
      ws = await createWorkspace();
      await writePlugins(ws);
      child = await startChild(ws, transport);
      // Let the running-phase timers fire (30–100 ms after their onStart) under a loaded machine.
      await pause(600);
    }, startupTimeout);

    afterAll(async () => {
      child?.process.kill();
      await ws?.cleanup();
    });

    it("contains every fault of the start-up cells; the bystander still answers", async () => {
      await expectBystanderAnswers(child);
      await checkCells(child, await child.send({ cmd: "status" }), "start");
    });

    it("fails only the request or invoke for route and IPC faults; the plugin keeps running", async () => {
      for (const cell of cells) {
        if (cell.route) {
          const response = await fetch(`${child.url}${cell.route.path}`);
          const label = `${cell.fault} × ${cell.site} ${cell.route.path}`;
          expect({ label, status: response.status }).toEqual({ label, status: cell.route.status });
          const body = await response.text();
          expect(body, label).not.toMatch(/\bat .*:\d+:\d+/); // no stack
          if (cell.route.body) expect(body, label).toMatch(cell.route.body);
          if (response.status === 500) expect(JSON.parse(body)).toMatchObject({ success: false });
          // Its timer strikes after the answer: let it, before the `exit` probe ends an isolated plugin's worker.
          if (cell.site === "route: after end") {
            for (let waited = 0; waited < 10_000 && !afterEndLogged.test(child.stderr()); waited += 50) {
              await pause(50);
            }
          }
        }
        if (cell.ipc) {
          const answer = await child.send({ cmd: "invoke", channel: cell.ipc.channel });
          expect(answer.ok, cell.ipc.channel).toBe(false);
          expect(answer.error, cell.ipc.channel).toMatch(cell.ipc.error);
        }
      }
      await pause(100); // the after-end timer
      const status: ShellStatus = await child.send({ cmd: "status" });
      // Isolated, the route's and the IPC handler's process.exit() ends its worker: routes and ipcs crashed (see
      // above); what they left behind before that only failed its request or invoke, as in-process.
      for (const id of isolated ? ["bystander"] : ["routes", "ipcs", "bystander"]) {
        expect(status.plugins.find((plugin) => plugin.id === id)?.state, id).toBe("running");
      }
      expect(child.stderr()).toMatch(afterEndLogged);
      if (isolated) {
        for (const id of ["routes", "ipcs"]) {
          expect(status.plugins.find((plugin) => plugin.id === id)?.error, id).toMatchObject({
            phase: "run",
            code: "HANGAR_PLUGIN_CRASHED",
          });
          expect(status.plugins.find((plugin) => plugin.id === id)?.error?.message, id).toMatch(/exit code/);
        }
        return;
      }
      expect((await fetch(`${child.url}/api/routes/ping`)).status).toBe(200);
    });

    it("turns leftovers of disposed contexts into warnings after an update; resume and stop faults error only their plugin", async () => {
      await child.send({ cmd: "update" });
      await pause(300); // leftover intervals fire on their disposed contexts
      await expectBystanderAnswers(child);
      const updated: ShellStatus = await child.send({ cmd: "status" });
      await checkCells(child, updated, "update");
      if (isolated) {
        // leftover-stop's timer from the update's onStop called its disposed context in the worker: a warning.
        const leftover = updated.plugins.find((plugin) => plugin.id === "leftover-stop");
        expect(leftover?.state).toBe("running");
        expect((leftover?.warnings ?? []).join("\n")).toMatch(
          /ctx\.ipc\.send\('bye'\) after the context was disposed by an update.*clear it in onStop/,
        );
      }
    });

    it("stops within budget, cleanly, and leftovers after stop never crash the host", async () => {
      const final = await child.send({ cmd: "stop" });
      expect(final.state).toBe("stopped");
      expect(final.shutdown).toEqual({ clean: true });
      expect(final.stopMs).toBeLessThan(8_000);
      await checkCells(child, final, "stop");
      expect(await child.exited).toBe(0);
      // Rate-limited: leftover intervals fired many times, each call site is warned about once.
      const warnings = child.stderr().match(/ctx\.ipc\.send\('tick'\) after the context was disposed/g) ?? [];
      // Two plugins × two disposal reasons (the update, the stop) × before and after the shell stopped.
      expect(warnings.length).toBeLessThanOrEqual(8);
      expect(child.stderr()).not.toMatch(
        /uncaughtException from no plugin|unhandledRejection from no plugin/,
      );
    });
  },
);

/** Runs `hangar run` on `pluginsDir`; resolves with the child once the summary line is out. */
async function runCli(pluginsDir: string, cwd: string, nodeArgs: string[] = []) {
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      path.resolve("bin/hangar.js"),
      "run",
      pluginsDir,
      "--json",
      "--port",
      "0",
      "--data-dir",
      "data",
    ],
    { cwd, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const summary = await new Promise<{ url: string; plugins: PluginStatus[] }>((resolve, reject) => {
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      for (const line of stdout.split("\n")) {
        if (line.includes('"summary"')) resolve(JSON.parse(line));
      }
    });
    void exited.then((code) => reject(new Error(`hangar run exited ${code} before its summary:\n${stdout}`)));
  });
  return { child, summary, exited, stdout: () => stdout };
}

// The CLI runs these in-process; isolated faults through the CLI are test/isolation/isolation-faults.test.ts.
describe.skipIf(isolated)("through the CLI", () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await createWorkspace();
    await writePlugins(ws);
  });
  afterAll(() => ws?.cleanup());

  it("hangar run contains the faults, keeps the bystander answering and exits 0 after a clean SIGINT", async () => {
    const run = await runCli(ws.pluginsDir, ws.root);
    await pause(600);
    const statuses: PluginStatus[] = await (await fetch(`${run.summary.url}/api/_shell/plugins`)).json();
    const byId = new Map(statuses.map((status) => [status.id, status]));
    expect(byId.get("throw-timer")?.error).toMatchObject({ phase: "run", code: "HANGAR_PLUGIN_CRASHED" });
    expect(byId.get("throw-timer")?.error?.message).toMatch(/Plugin 'throw-timer' crashed.*timer boom/);
    expect(byId.get("exit-start")?.error?.code).toBe("HANGAR_PROCESS_EXIT");
    expect(byId.get("throw-listener")?.error?.code).toBe("HANGAR_PLUGIN_CRASHED");
    expect(byId.get("emitter")?.state).toBe("running");
    expect((await fetch(`${run.summary.url}/api/bystander/status`)).status).toBe(200);
    expect((await fetch(`${run.summary.url}/api/throw-timer/ping`)).status).toBe(503);
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toMatch(/timer boom[\s\S]*at /); // the log has the stack
  }, 40_000);

  it("hangar run exits 1 when an error from no plugin reaches the process, after a graceful shutdown", async () => {
    // The host's own bug, in no plugin's scope and with no plugin frame: a throw from a timer the host sets
    // when it gets SIGUSR2 (sent once the shell runs).
    const hostBug = `data:text/javascript,process.on("SIGUSR2", () => setTimeout(() => { throw new Error("host bug"); }, 10));`;
    const run = await runCli(ws.pluginsDir, ws.root, ["--import", hostBug]);
    run.child.kill("SIGUSR2");
    expect(await run.exited).toBe(1);
    const stdout = run.stdout();
    expect(stdout).toMatch(/uncaughtException from no plugin: host bug/);
    // Gracefully: the bystander's onStop ran before the exit.
    expect(stdout).toMatch(/"pluginId":"bystander","msg":"stopped"/);
  }, 40_000);
});

// Isolated, a restart gets a fresh worker, whose globalThis no longer counts the first run: restarts of isolated
// plugins are test/isolation/isolated-restart.test.ts.
describe.skipIf(isolated)("restart policy, end to end", () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await createWorkspace();
    await ws.write({ id: "bystander", source: goodPluginSource("bystander") });
    // A real fault (a throw in its timer) on its first start only; on-failure restarts it after a backoff.
    await ws.write({
      id: "flaky",
      manifest: { background: { restart: { policy: "on-failure", backoffMs: 100 } } },
      source: `export async function onStart(ctx) {
        ctx.server.registerRouter("/api/flaky", (req, res) => res.json({ starts: globalThis.__flakyStarts }));
        globalThis.__flakyStarts = (globalThis.__flakyStarts ?? 0) + 1;
        if (globalThis.__flakyStarts === 1) setTimeout(() => { throw new Error("first run only"); }, 20);
      }
      export async function onStop() {}`,
    });
  });
  afterAll(() => ws?.cleanup());

  it("a crash from a plugin's timer goes to backoff, then the plugin runs again with restarts counted", async () => {
    const child = await startChild(ws, "memory");
    try {
      let status: Answer | undefined;
      for (let i = 0; i < 50; i += 1) {
        status = await child.send({ cmd: "status" });
        // restarts counts from the crash on (through backoff): wait for the restart itself to have run.
        const flaky = status.plugins.find((p) => p.id === "flaky");
        if (flaky?.restarts === 1 && flaky.state === "running") break;
        await pause(100);
      }
      const flaky = status?.plugins.find((p) => p.id === "flaky");
      expect(flaky).toMatchObject({ state: "running", restarts: 1 });
      expect(await (await fetch(`${child.url}/api/flaky`)).json()).toEqual({ starts: 2 });
      expect(child.stderr()).toMatch(
        /Plugin 'flaky' crashed outside any hook: its code threw: first run only/,
      );
      const final = await child.send({ cmd: "stop" });
      expect(final.shutdown).toEqual({ clean: true });
      expect(await child.exited).toBe(0);
    } finally {
      child.process.kill();
    }
  }, 40_000);
});

describe.skipIf(isolated)("a shutdown that ran out of budget", () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await createWorkspace();
    await ws.write({ id: "bystander", source: goodPluginSource("bystander") });
    // onStop never settles and its own timeout is longer than the whole shutdown budget (15 s by default).
    await ws.write({
      id: "stuck",
      source: "export async function onStart() {} export function onStop() { return new Promise(() => {}); }",
      manifest: { background: { stopTimeoutMs: 60_000 } },
    });
  });
  afterAll(() => ws?.cleanup());

  it("makes hangar run exit 1, not 0", async () => {
    const run = await runCli(ws.pluginsDir, ws.root);
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(1);
    expect(run.stdout()).toMatch(/HANGAR_SHUTDOWN_TIMEOUT/);
    expect(run.stdout()).toMatch(/"clean":false/);
  }, 40_000);
});
