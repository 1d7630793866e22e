// Writes real plugin folders into a temp dir for tests, and starts shells on port 0 that log to memory.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, expect } from "vitest";
import { createShell, type Shell, type ShellOptions } from "../../src/index.js";
import { type Running, start } from "./processes.js";

export interface PluginSpec {
  id: string;
  version?: string;
  /** Extra plugin.json fields (background timeouts, dependsOn, ...). */
  manifest?: Record<string, unknown>;
  /** Source of background/index.mjs; omit for a UI-only plugin. */
  source?: string;
  /** File name of the entry module. Default `background/index.mjs`. */
  entry?: string;
  /** Folder name; defaults to the id. */
  folder?: string;
}

export interface Workspace {
  root: string;
  pluginsDir: string;
  dataDir: string;
  write(spec: PluginSpec): Promise<string>;
  cleanup(): Promise<void>;
}

/**
 * A fresh workspace for each test of the suite, and a list where the test puts the shells it starts: after each
 * test those shells are stopped, then the workspace is removed. Call at the top of a file or describe block and
 * read `fixture.ws` inside the tests (it is the current test's workspace).
 */
export function workspacePerTest(): { readonly ws: Workspace; readonly shells: Shell[] } {
  let current: Workspace | undefined;
  const shells: Shell[] = [];
  beforeEach(async () => {
    current = await createWorkspace();
  });
  afterEach(async () => {
    await Promise.all(shells.splice(0).map((shell) => shell.stop()));
    await current?.cleanup();
  });
  return {
    get ws() {
      if (!current) throw new Error("fixture.ws is the workspace of the running test: read it inside a test");
      return current;
    },
    shells,
  };
}

/** bin/hangar.js of this checkout (it runs dist/). */
const hangarBin = fileURLToPath(new URL("../../bin/hangar.js", import.meta.url));

/**
 * {@link workspacePerTest} for tests of the real CLI: `fixture.hangar(args, env)` starts `bin/hangar.js` in the
 * current test's workspace (cwd `ws.root`) as a child process; after each test every child it started is killed
 * (SIGKILL) and awaited, then the workspace is removed. `env` adds to (or, with `undefined`, removes from)
 * `defaultEnv` and the test's own environment.
 */
export function cliWorkspacePerTest(defaultEnv: Record<string, string | undefined> = {}): {
  readonly ws: Workspace;
  hangar(args: string[], env?: Record<string, string | undefined>): Running;
  /** `hangar run <plugins> --json --port 0 --data-dir <data> ...extra` in the current workspace. */
  hangarRun(extra?: string[], env?: Record<string, string | undefined>): Running;
} {
  let current: Workspace | undefined;
  const children: Running[] = [];
  beforeEach(async () => {
    current = await createWorkspace();
  });
  afterEach(async () => {
    const ended = children.splice(0);
    for (const running of ended) running.child.kill("SIGKILL");
    await Promise.all(ended.map((running) => running.exited));
    await current?.cleanup();
  });
  const fixture = {
    get ws() {
      if (!current) throw new Error("fixture.ws is the workspace of the running test: read it inside a test");
      return current;
    },
    hangar(args: string[], env: Record<string, string | undefined> = {}): Running {
      const child = start(process.execPath, [hangarBin, ...args], {
        cwd: fixture.ws.root,
        env: { ...defaultEnv, ...env },
      });
      children.push(child);
      return child;
    },
    hangarRun(extra: string[] = [], env: Record<string, string | undefined> = {}): Running {
      const { pluginsDir, dataDir } = fixture.ws;
      return fixture.hangar(
        ["run", pluginsDir, "--json", "--port", "0", "--data-dir", dataDir, ...extra],
        env,
      );
    },
  };
  return fixture;
}

/** A plugin's status as the shell reports it (shell.status(), GET /api/_shell/plugins, hangar update --json). */
type StatusRow = { id: string; state: string; error?: { phase: string; code: string; message: string } };

/**
 * The outcome once a hung import's load timeout has run out, in the fleet `good`, `good-dependent` (dependsOn
 * good), `hung` (a top-level await that never ends) and `hung-dependent` (dependsOn hung): the first two run,
 * `hung` is errored with HANGAR_LOAD_TIMEOUT and its dependent with HANGAR_DEPENDENCY_FAILED naming it.
 */
export function expectHungImportOutcome(plugins: readonly StatusRow[]): void {
  const byId = new Map(plugins.map((plugin) => [plugin.id, plugin]));
  expect(byId.get("good")?.state).toBe("running");
  expect(byId.get("good-dependent")?.state).toBe("running");
  expect(byId.get("hung")).toMatchObject({
    state: "errored",
    error: { phase: "load", code: "HANGAR_LOAD_TIMEOUT" },
  });
  expect(byId.get("hung-dependent")).toMatchObject({
    state: "errored",
    error: { phase: "dependency", code: "HANGAR_DEPENDENCY_FAILED" },
  });
  expect(byId.get("hung-dependent")?.error?.message).toMatch(/depends on 'hung', which is errored/);
}

export async function createWorkspace(): Promise<Workspace> {
  const root = await mkdtemp(path.join(os.tmpdir(), "hangar-test-"));
  const pluginsDir = path.join(root, "plugins");
  const dataDir = path.join(root, "data");
  await mkdir(pluginsDir, { recursive: true });
  // ESM for every generated plugin, so a re-import gives a fresh module tree.
  await writeFile(path.join(root, "package.json"), JSON.stringify({ type: "module" }));
  return {
    root,
    pluginsDir,
    dataDir,
    async write(spec) {
      const folder = path.join(pluginsDir, spec.folder ?? spec.id);
      const entry = spec.entry ?? "background/index.mjs";
      await mkdir(path.join(folder, path.dirname(entry)), { recursive: true });
      const manifest: Record<string, unknown> = {
        id: spec.id,
        version: spec.version ?? "1.0.0",
        ...spec.manifest,
      };
      if (spec.source !== undefined) {
        manifest.background = { entryModule: entry, ...(spec.manifest?.background as object | undefined) };
        await writeFile(path.join(folder, entry), spec.source);
      }
      await writeFile(path.join(folder, "plugin.json"), JSON.stringify(manifest, null, 2));
      return folder;
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** Log records captured from a shell (JSON lines). */
export interface CapturedLog {
  lines: Array<Record<string, unknown>>;
  text(): string;
}

export function captureLog(): CapturedLog & { destination: { write(chunk: string): void } } {
  const lines: Array<Record<string, unknown>> = [];
  return {
    lines,
    text: () => lines.map((line) => JSON.stringify(line)).join("\n"),
    destination: {
      write(chunk: string) {
        for (const line of chunk.split("\n")) if (line.trim()) lines.push(JSON.parse(line));
      },
    },
  };
}

/**
 * Where the suites' plugins run: `HANGAR_TEST_ISOLATION=worker npx vitest run test/e2e` runs the same suites with
 * every plugin isolated in a worker thread (docs/isolation.md); default in-process.
 */
export const testIsolation = process.env.HANGAR_TEST_ISOLATION === "worker" ? "worker" : "none";

/**
 * The load timeout of the suites' shells when isolated. Loading an isolated plugin boots a worker thread (a V8
 * isolate, tsx from source, Express, hangar's worker side): about 3 s each when this 2-core machine is shared by
 * eight agents (over 120 s for a suite's 30 at load average 45), and a suite boots up to 30 at once. The 10 s default would time out loads that are merely
 * queued for a core; tests of the load timeout itself set `loadTimeoutMs` in plugin.json, which still wins.
 */
const ISOLATED_LOAD_TIMEOUT_MS = 300_000;

/** A shell on an ephemeral port over the workspace, logging JSON to memory. */
export function testShell(ws: Workspace, options: ShellOptions = {}): { shell: Shell; log: CapturedLog } {
  const log = captureLog();
  const shell = createShell({
    isolation: testIsolation,
    plugins: [ws.pluginsDir],
    dataDir: ws.dataDir,
    server: { port: 0 },
    log: { format: "json", level: "debug", destination: log.destination },
    ...options,
    timeouts: {
      ...((options.isolation ?? testIsolation) === "worker" ? { load: ISOLATED_LOAD_TIMEOUT_MS } : {}),
      ...options.timeouts,
    },
  });
  return { shell, log };
}

/**
 * A well-behaved plugin: a route, an IPC handler, a config counter; records its calls in config. Its onStop logs
 * `stopping` (tag `Good`) to its logger: what a test reads to see stops, in-process or isolated alike.
 */
export const goodPluginSource = (id: string) => `
let instance = Math.random();
let context;
export async function onStart(ctx) {
  context = ctx;
  const starts = (await ctx.config.get("starts", 0)) + 1;
  await ctx.config.set("starts", starts);
  ctx.ipc.handle("ping", (payload) => ({ pong: payload, instance }));
  ctx.server.registerRouter("/api/${id}", (req, res, next) => {
    if (req.url === "/status") return res.json({ ok: true, id: "${id}", instance, starts });
    if (req.url === "/boom") throw new Error("route exploded with a secret stack");
    if (req.url === "/reject") return Promise.reject(new Error("async route failure"));
    next();
  });
  ctx.logger.info("Good", "started", { starts });
}
export async function onStop() {
  context.logger.info("Good", "stopping");
}
`;

/** The plugins that logged `message` (with `tag`), in the order the shell's logger received them. */
export function loggedBy(log: CapturedLog, tag: string, message: string): string[] {
  return log.lines
    .filter((line) => line.tag === tag && line.msg === message)
    .map((line) => String(line.pluginId));
}

/**
 * A gate a plugin's code waits on, held open by a file: the test opens it by creating the file. It works alike
 * in-process and in a worker thread, where the test's own globals cannot reach.
 */
export interface FileGate {
  /** JavaScript for the plugin's source: a statement that waits until the gate is open. */
  readonly wait: string;
  open(): Promise<void>;
  close(): Promise<void>;
}

let gates = 0;
export function fileGate(ws: Workspace): FileGate {
  const file = path.join(ws.root, `gate-${++gates}`);
  return {
    wait: `await (async () => { const { existsSync } = await import("node:fs"); while (!existsSync(${JSON.stringify(file)})) await new Promise((r) => setTimeout(r, 10)); })();`,
    open: () => writeFile(file, ""),
    close: () => rm(file, { force: true }),
  };
}
