// testPluginLifecycle: drives one plugin through every path of the plugin machine on real test shells (port 0,
// a temporary data dir, in-memory IPC) and reports what its author must fix. It imports no test framework.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { InspectionEvent } from "xstate";
import type { LogOptions } from "../context/logger.js";
import { type ErrorCode, hasHangarCode, messageOf, type PluginPhase, phaseCodes } from "../errors.js";
import { createMemoryIpc, type MemoryIpc } from "../ipc/memory.js";
import { pluginStateOf } from "../machines/plugin.machine.js";
import { readManifest } from "../manifest/read-manifest.js";
import type { PluginManifest } from "../manifest/schema.js";
import { createShell, type Shell } from "../shell.js";
import { defaultTimeouts } from "../shell-options.js";
import type { PluginErrorInfo, PluginStatus } from "../status.js";
import { FastForwardClock } from "./clock.js";
import { type HookResource, HookResources } from "./hook-resources.js";
import { type ContextRecord, type HookName, type HookRecord, PluginObserver } from "./observer.js";
import {
  createReport,
  fixFor,
  LIFECYCLE_PATHS,
  type LifecyclePath,
  type LifecyclePathResult,
  type LifecycleProblem,
  type LifecycleReport,
  type LifecycleTestCode,
  PATH_TITLES,
} from "./report.js";
import { setRunnerListenersAside } from "./runner-handlers.js";
import { withShellTestHooks } from "./shell-hooks.js";

/** Options of {@link testPluginLifecycle}. Every field has a default. */
export interface LifecycleTestOptions {
  /**
   * Hook timeouts of the test shells, in ms. Default: hangar's (start 10 000, stop 5 000, resume 10 000; load
   * 10 000, which for an isolated run includes booting the plugin's worker thread).
   * The plugin's own `background.*TimeoutMs` in plugin.json still win, as in a real shell.
   */
  timeouts?: { start?: number; stop?: number; resume?: number; load?: number };
  /** Folders of the plugins named in `dependsOn`. Default: the plugin folders beside this one. */
  dependencies?: string[];
  /** Start/stop cycles in the `cycles` path (at least 2). Default 3. */
  cycles?: number;
  /** The auth token the test shells start with. Default: none. */
  token?: string | null;
  /** The paths to run. Default: all of them. */
  paths?: LifecyclePath[];
  /** The test shells' log output. Default: silent. */
  log?: LogOptions;
  /**
   * Where the plugin runs (docs/isolation.md): `"none"` in the test process, `"worker"` in its own worker thread,
   * `"both"` every path twice, in-process then isolated; a problem found only isolated says so. Default:
   * `background.isolation` from plugin.json, else `"none"`. A plugin.json that sets `background.isolation` wins
   * over this option, as it does in a real shell: its plugin runs only that way.
   */
  isolation?: "none" | "worker" | "both";
}

/**
 * Drives the plugin in `pluginFolder` through every lifecycle path (see {@link LIFECYCLE_PATHS}) on real
 * test shells and reports what its author must fix: exceptions, timeouts, registrations lost after an
 * update, calls on a disposed context, resources left behind by start/stop cycles, hooks out of order.
 * Never throws for a faulty plugin: everything found is in the report.
 *
 * @example
 * const report = await testPluginLifecycle("./plugins/my-plugin");
 * assert.ok(report.ok, report.format());
 */
export async function testPluginLifecycle(
  pluginFolder: string,
  options: LifecycleTestOptions = {},
): Promise<LifecycleReport> {
  // The runner's own uncaughtException/unhandledRejection listeners would fail the test with a plugin crash
  // that the report already holds: they only see errors hangar's containment does not attribute to a plugin.
  const restore = setRunnerListenersAside();
  try {
    const folder = path.resolve(pluginFolder);
    if (options.isolation !== "both") return await new LifecycleRun(folder, options, options.isolation).run();
    const inProcess = await new LifecycleRun(folder, options, "none").run();
    // Nothing could run (an unreadable plugin.json, a UI-only plugin): isolated, it would say the same again.
    if (inProcess.paths.every((result) => result.outcome === "skipped")) return inProcess;
    const isolated = await new LifecycleRun(folder, options, "worker").run();
    return mergeReports(inProcess, isolated);
  } finally {
    restore();
  }
}

/** One report of two runs of the same plugin; a problem only the isolated run found says so in its fix. */
function mergeReports(inProcess: LifecycleReport, isolated: LifecycleReport): LifecycleReport {
  const seen = new Set(inProcess.problems.map((problem) => `${problem.path}\0${problem.code}`));
  const onlyIsolated = isolated.problems.map((problem) =>
    seen.has(`${problem.path}\0${problem.code}`)
      ? problem
      : { ...problem, fix: `${problem.fix} ${ISOLATION_ONLY_FIX}` },
  );
  return createReport(
    isolated.pluginId,
    isolated.folder,
    [...inProcess.problems, ...onlyIsolated],
    [...inProcess.paths, ...isolated.paths],
  );
}

const ISOLATION_ONLY_FIX =
  "It showed only when the plugin ran isolated, in its own worker thread: in-process it relies on something " +
  "it shares with the test process or another plugin (a global, a module both import, process-wide state), " +
  "which an isolated plugin does not have. Get it through the PluginContext, config or IPC instead.";

/** An in-memory IPC transport that knows which channels have a handler. */
interface TrackedIpc extends MemoryIpc {
  readonly channels: ReadonlySet<string>;
}

/** How long the start-stop path lets the plugin run before stopping it, in ms. */
const RUN_GRACE_MS = 50;
const HOOK_PHASE: Record<HookName, PluginPhase> = { onStart: "start", onStop: "stop", onResume: "resume" };

/** One call of testPluginLifecycle. */
class LifecycleRun {
  readonly #folder: string;
  readonly #options: LifecycleTestOptions;
  /** The shells' `isolation` (undefined: plugin.json's, else in-process); the one used is on every result. */
  readonly #isolation: "none" | "worker" | undefined;
  #ranIsolation: "none" | "worker" = "none";
  readonly #problems: LifecycleProblem[] = [];
  readonly #notes = new Map<LifecyclePath, string[]>();
  readonly #ran = new Set<LifecyclePath>();
  readonly #skipped = new Map<LifecyclePath, string>();
  #pluginId: string;
  #manifest: PluginManifest | null = null;
  #observer = new PluginObserver("");
  #dependencies: string[] = [];
  #root = "";
  /** The plugin's state changes in the current test shell. */
  #states: string[] = [];
  /**
   * The plugin's first crash (phase run) in the current test shell, as it happened: the restart policy may
   * have put it in backoff and the stop ended it `stopped` since, so the final status no longer shows it.
   */
  #crash: PluginErrorInfo | null = null;
  /** The leftover problem of each path, and after how many of its shells it was found. */
  readonly #leftovers = new Map<LifecyclePath, { problem: LifecycleProblem; count: number }>();
  /** What the plugin's hooks created and did not release (timers, servers, sockets). */
  #resources: HookResources | null = null;
  /** Set when the plugin does not start at all: the other paths would only repeat that problem. */
  #cannotStart = false;

  constructor(folder: string, options: LifecycleTestOptions, isolation: "none" | "worker" | undefined) {
    this.#folder = folder;
    this.#options = options;
    this.#isolation = isolation;
    this.#pluginId = path.basename(folder);
  }

  async run(): Promise<LifecycleReport> {
    const selected = new Set(this.#options.paths ?? LIFECYCLE_PATHS);
    try {
      this.#manifest = await readManifest(this.#folder);
    } catch (error) {
      this.#problems.push(this.#problemFromError("load", "load", error));
      return this.#report(selected, "plugin.json could not be read");
    }
    this.#pluginId = this.#manifest.id;
    this.#ranIsolation = this.#manifest.background?.isolation ?? this.#isolation ?? "none";
    if (!this.#manifest.background) {
      return this.#report(selected, "UI-only plugin: it has no background module to run");
    }
    this.#observer = new PluginObserver(this.#pluginId);
    this.#dependencies =
      this.#options.dependencies?.map((folder) => path.resolve(folder)) ??
      (await findDependencies(this.#folder, this.#manifest));
    this.#root = await mkdtemp(path.join(os.tmpdir(), "hangar-lifecycle-"));
    const resources = new HookResources();
    this.#resources = resources;
    this.#observer.scope = (hook, call) => resources.run(hook, call);
    try {
      for (const name of LIFECYCLE_PATHS) {
        if (!selected.has(name)) continue;
        const reason = this.#skipReason(name);
        if (reason) {
          this.#skipped.set(name, reason);
          continue;
        }
        this.#observer.path = name;
        this.#ran.add(name);
        await this.#runPath(name);
        this.#observer.onCall = null;
        this.#observer.beforeSettle = null;
        this.#checkHookOrder(name);
      }
      this.#collectLateCalls();
    } finally {
      this.#observer.path = "";
      resources.release();
      resources.close();
      await rm(this.#root, { recursive: true, force: true });
    }
    return this.#report(selected, null);
  }

  #skipReason(name: LifecyclePath): string | null {
    if (this.#cannotStart) return "the plugin does not start: fix the problems of the first path first";
    if (name === "resume-timeout" && this.#ran.size > 0 && !this.#observer.hasOnResume) {
      return "the plugin has no onResume";
    }
    return null;
  }

  #runPath(name: LifecyclePath): Promise<void> {
    switch (name) {
      case "start-stop":
        return this.#startStop();
      case "stop-during-start":
        return this.#stopDuringStart();
      case "restart":
        return this.#restart();
      case "ota-update":
        return this.#otaUpdate(name, []);
      case "ota-reload":
        return this.#otaUpdate(name, [this.#pluginId]);
      case "cycles":
        return this.#cycles();
      case "start-timeout":
        return this.#startTimeout();
      case "stop-timeout":
        return this.#stopTimeout();
      case "resume-timeout":
        return this.#resumeTimeout();
    }
  }

  // ---- the paths ---------------------------------------------------------------------------------------

  async #startStop(): Promise<void> {
    await this.#withShell("start-stop", undefined, async (shell) => {
      if (!(await this.#start(shell, "start-stop"))) {
        // Every other path starts the plugin too: they would only repeat this problem.
        this.#cannotStart = true;
        return;
      }
      // A moment of running, so that a timer or listener that throws soon after onStart crashes it here
      // (phase run) rather than on its way out; #withShell reports it.
      await delay(RUN_GRACE_MS);
      await this.#stop(shell, "start-stop");
    });
  }

  async #stopDuringStart(): Promise<void> {
    const name = "stop-during-start";
    let stopping: Promise<void> | null = null;
    let current: Shell | null = null;
    this.#observer.onCall = (record) => {
      if (record.hook === "onStart" && !stopping && current) stopping = current.stop();
    };
    // Hold onStart's outcome until the STOP has reached the plugin, as if onStart were slow.
    this.#observer.beforeSettle = async (record) => {
      if (record.hook === "onStart") await idle();
    };
    await this.#withShell(name, undefined, async (shell) => {
      current = shell;
      await shell.start();
      await (stopping ?? shell.stop());
      const status = this.#status(shell);
      const [start, ...after] = this.#observer.hooksOf(name);
      if (!start) {
        this.#problemFromStatus(name, status, "start");
        return;
      }
      if (start.outcome === "rejected") {
        this.#problemFromStatus(name, status, "start");
      } else if (!after.some((record) => record.hook === "onStop")) {
        this.#problem(
          name,
          "stop",
          "HANGAR_TEST_HOOK_ORDER",
          "onStart succeeded while a stop was pending, but onStop never ran.",
        );
      } else if (status?.state !== "stopped") {
        this.#problemFromStatus(name, status, "stop");
      }
      // Said outright, so a reader knows the path really stopped the plugin mid-start.
      this.#note(
        name,
        this.#states.includes("starting → stopping")
          ? "the stop arrived while onStart ran; onStop followed once it settled"
          : `the stop did not arrive while onStart ran (${this.#states.join(", ")})`,
      );
    });
  }

  async #restart(): Promise<void> {
    const name = "restart";
    for (let round = 1; round <= 2; round += 1) {
      const started = await this.#withShell(name, undefined, async (shell) => {
        if (!(await this.#start(shell, name))) return false;
        await this.#stop(shell, name);
        return true;
      });
      if (!started) return;
    }
  }

  async #otaUpdate(name: "ota-update" | "ota-reload", changed: string[]): Promise<void> {
    const imports = this.#observer.imports;
    await this.#withShell(name, undefined, async (shell) => {
      if (!(await this.#start(shell, name))) return;
      const before = this.#observer.contexts.at(-1)!;
      const hooksBefore = this.#observer.hooksOf(name).length;
      if (changed.length > 0) this.#observer.generation = 1;
      const updated = await this.#update(shell, name, changed);
      this.#observer.generation = 0;
      if (!updated) return;
      const hooks = this.#observer
        .hooksOf(name)
        .slice(hooksBefore)
        .map((record) => record.hook);
      const reimported = this.#observer.imports > imports ? " on a freshly imported module" : "";
      this.#note(name, `${hooks.join(" → ")}${name === "ota-reload" ? reimported : ""}`);
      const status = this.#status(shell);
      if (status?.state !== "running") {
        const phase = hooks.includes("onResume") ? "resume" : hooks.at(-1) === "onStart" ? "start" : "stop";
        this.#problemFromStatus(name, status, phase, "After the OTA update: ");
        return;
      }
      const after = this.#observer.contexts.at(-1)!;
      if (after !== before) this.#compareRegistrations(name, before, after);
      await this.#stop(shell, name);
    });
  }

  async #cycles(): Promise<void> {
    const name = "cycles";
    const rounds = Math.max(2, this.#options.cycles ?? 3);
    // What each cycle leaves behind is reported after every shell stop (#checkLeftovers).
    for (let round = 1; round <= rounds; round += 1) {
      const completed = await this.#withShell(name, undefined, async (shell) => {
        if (!(await this.#start(shell, name, `In start/stop cycle ${round}: `))) return false;
        await this.#stop(shell, name);
        return true;
      });
      if (!completed) return;
    }
  }

  async #startTimeout(): Promise<void> {
    const name = "start-timeout";
    const clock = new FastForwardClock();
    const timedOut = this.#timeOutFirst("onStart", clock);
    await this.#withShell(name, clock, async (shell) => {
      await shell.start();
      if (!(await this.#expectTimeout(shell, name, "start", timedOut.record))) return;
      await this.#retry(shell, name, "After its onStart timed out, the retry on the next update failed: ");
    });
  }

  async #stopTimeout(): Promise<void> {
    const name = "stop-timeout";
    const clock = new FastForwardClock();
    const timedOut = this.#timeOutFirst("onStop", clock);
    await this.#withShell(name, clock, async (shell) => {
      if (!(await this.#start(shell, name))) return;
      await shell.stop();
      await this.#expectTimeout(shell, name, "stop", timedOut.record);
    });
  }

  async #resumeTimeout(): Promise<void> {
    const name = "resume-timeout";
    const clock = new FastForwardClock();
    const timedOut = this.#timeOutFirst("onResume", clock);
    await this.#withShell(name, clock, async (shell) => {
      if (!(await this.#start(shell, name))) return;
      if (!this.#observer.hasOnResume) {
        this.#note(name, "the plugin has no onResume");
        await this.#stop(shell, name);
        return;
      }
      if (!(await this.#update(shell, name, []))) return;
      if (!(await this.#expectTimeout(shell, name, "resume", timedOut.record))) return;
      await this.#retry(shell, name, "After its onResume timed out, the retry on the next update failed: ");
    });
  }

  // ---- steps shared by the paths -------------------------------------------------------------------------

  /** Creates a test shell, runs `body`, and always stops the shell and checks that nothing outlived it. */
  async #withShell<T>(
    name: LifecyclePath,
    clock: FastForwardClock | undefined,
    body: (shell: Shell) => Promise<T>,
  ): Promise<T | undefined> {
    const ipc = trackedIpc();
    this.#states = [];
    this.#crash = null;
    let last: unknown = null;
    const actorId = `plugin:${this.#pluginId}`;
    const shell = createShell(
      withShellTestHooks(
        {
          plugins: [this.#folder, ...this.#dependencies],
          dataDir: path.join(this.#root, name),
          server: { port: 0 },
          ipc,
          ...(this.#isolation ? { isolation: this.#isolation } : {}),
          auth: { init: async () => ({ token: this.#options.token ?? null }) },
          timeouts: { ...this.#options.timeouts },
          log: this.#options.log ?? { level: "silent" },
          // The plugin's state changes (`starting → stopping`), for notes on what a path really did.
          inspect: (event: InspectionEvent) => {
            if (event.type !== "@xstate.snapshot" || (event.actorRef as { id?: string }).id !== actorId)
              return;
            // As status shows it: `stopping`, not `{ active: { stopping: "toStopped" } }`.
            const value = pluginStateOf((event.snapshot as { value?: unknown }).value);
            if (value !== last) this.#states.push(`${String(last)} → ${value}`);
            last = value;
            const error = (event.snapshot as { context?: { error?: PluginErrorInfo | null } }).context?.error;
            if (error?.phase === "run") this.#crash ??= error;
          },
        },
        {
          wrapModule: this.#observer.wrap,
          // Only the plugin under test runs on the fast-forward clock: firing "the latest timer" must never
          // fire a dependency's timeout instead (its restart during an update sets timers after ours).
          ...(clock ? { pluginClock: (id: string) => (id === this.#pluginId ? clock : undefined) } : {}),
        },
      ),
    );
    try {
      return await body(shell);
    } catch (error) {
      this.#problems.push(this.#problemFromError(name, "start", error));
      return undefined;
    } finally {
      this.#checkCrashed(name, shell);
      await shell.stop();
      this.#checkLeftBehind(name, ipc);
      await this.#checkLeftovers(name);
    }
  }

  /** Starts the shell; false (with the problem recorded) when the plugin is not running afterwards. */
  async #start(shell: Shell, name: LifecyclePath, prefix = ""): Promise<boolean> {
    await shell.start();
    const status = this.#status(shell);
    if (status?.state === "running") return true;
    this.#problemFromStatus(name, status, "start", prefix + this.#restartedInstance());
    return false;
  }

  /** Stops the shell; a failed or timed-out onStop is a problem. */
  async #stop(shell: Shell, name: LifecyclePath): Promise<void> {
    await shell.stop();
    const status = this.#status(shell);
    if (status?.state !== "stopped" && status?.error?.phase === "stop")
      this.#problemFromStatus(name, status, "stop");
  }

  async #update(shell: Shell, name: LifecyclePath, changed: string[]): Promise<boolean> {
    try {
      await shell.update({ changed });
      return true;
    } catch (error) {
      this.#problems.push(this.#problemFromError(name, "resume", error));
      return false;
    }
  }

  /** The next call of `hook` times out at once: its timer fires before the hook can settle. */
  #timeOutFirst(hook: HookName, clock: FastForwardClock): { record: HookRecord | null } {
    const timedOut: { record: HookRecord | null } = { record: null };
    this.#observer.onCall = (record) => {
      if (record.hook !== hook || timedOut.record) return;
      timedOut.record = record;
      record.late = true;
      clock.fireLatest();
    };
    return timedOut;
  }

  /** Checks the hook the harness timed out was reported as such, and gives it its own limit to finish. */
  async #expectTimeout(
    shell: Shell,
    name: LifecyclePath,
    phase: "start" | "stop" | "resume",
    record: HookRecord | null,
  ): Promise<boolean> {
    this.#observer.onCall = null;
    const status = this.#status(shell);
    if (!record) {
      this.#problemFromStatus(name, status, phase);
      return false;
    }
    if (status?.error?.code !== phaseCodes[phase].timeout) {
      this.#problemFromStatus(name, status, phase);
      return false;
    }
    // The shell has moved on; the hook itself may still be running. Let it finish (or not) within its limit.
    const limit = this.#limit(phase);
    const finished = await Promise.race([record.settled.then(() => true), delay(limit).then(() => false)]);
    if (!finished) this.#note(name, `${record.hook} was still running ${limit} ms after it timed out`);
    else if (record.outcome === "rejected" && !hasCode(record.error, "HANGAR_CONTEXT_DISPOSED")) {
      // A call refused by the disposed context is noted with the late calls; anything else is noted here.
      this.#note(
        name,
        `${record.hook} went on after its timeout and then failed: ${messageOf(record.error)}`,
      );
    }
    return true;
  }

  /** Retries an errored plugin with an update; it must run again. */
  async #retry(shell: Shell, name: LifecyclePath, prefix: string): Promise<void> {
    if (!(await this.#update(shell, name, []))) return;
    const status = this.#status(shell);
    if (status?.state !== "running") {
      this.#problemFromStatus(name, status, "start", prefix);
      return;
    }
    await this.#stop(shell, name);
  }

  /** Says so when the last onStart ran on a module instance that had been started and stopped before. */
  #restartedInstance(): string {
    const last = this.#observer.hooks.at(-1);
    if (last?.hook !== "onStart") return "";
    const stoppedBefore = this.#observer.hooks.some(
      (record) =>
        record.instance === last.instance && record.hook === "onStop" && record.outcome === "resolved",
    );
    return stoppedBefore
      ? "On a later start of the same module instance (it had been started and stopped before, as after an update without onResume): "
      : "";
  }

  #status(shell: Shell): PluginStatus | undefined {
    return shell.status().plugins.find((plugin) => plugin.id === this.#pluginId);
  }

  #limit(phase: "start" | "stop" | "resume"): number {
    const background = this.#manifest?.background;
    const own = {
      start: background?.startTimeoutMs,
      stop: background?.stopTimeoutMs,
      resume: background?.resumeTimeoutMs,
    };
    return own[phase] ?? this.#options.timeouts?.[phase] ?? defaultTimeouts[phase];
  }

  // ---- checks ----------------------------------------------------------------------------------------------

  /** After a shell stopped: no IPC handler of the plugin and no live context may remain. */
  #checkLeftBehind(name: LifecyclePath, ipc: TrackedIpc): void {
    const prefix = `plugin:${this.#pluginId}:`;
    const channels = [...ipc.channels].filter((channel) => channel.startsWith(prefix));
    if (channels.length > 0) {
      this.#problem(
        name,
        "stop",
        "HANGAR_TEST_LEFT_BEHIND",
        `IPC handlers outlived the shell: ${channels.join(", ")}.`,
      );
    }
    const live = this.#observer.contexts.filter(
      (context) => context.path === name && !context.signal.aborted,
    );
    if (live.length > 0) {
      this.#problem(
        name,
        "stop",
        "HANGAR_TEST_LEFT_BEHIND",
        `${live.length} plugin context(s) were not disposed when the shell stopped (their signal never aborted).`,
      );
    }
  }

  /**
   * A plugin that crashed outside its hooks (a throwing timer, a forgotten rejection): errored in phase `run`,
   * or seen crashing while the shell ran (the restart policy then moves it to backoff, and a stop to `stopped`).
   */
  #checkCrashed(name: LifecyclePath, shell: Shell): void {
    const status = this.#status(shell);
    const crash = status?.state === "errored" && status.error?.phase === "run" ? status.error : this.#crash;
    if (!crash) return;
    if (this.#problems.some((problem) => problem.path === name && problem.phase === "run")) return;
    const { phase, code, message } = crash;
    this.#problems.push({ path: name, phase, code, message, fix: fixFor(code) });
  }

  /**
   * After a shell stopped: anything the plugin's hooks created that still runs (a timer, a server) is a leak. It
   * is reported, then released (timers cleared, handles unref'd) so that it cannot keep the test runner alive
   * or act in the next path. Hooks still running (one the harness timed out) get a moment to finish first.
   */
  async #checkLeftovers(name: LifecyclePath): Promise<void> {
    const resources = this.#resources;
    if (!resources) return;
    const pending = this.#observer.pending().map((record) => record.settled);
    if (pending.length > 0) await Promise.race([Promise.all(pending), delay(1_000)]);
    await idle();
    const left = resources.release();
    if (left.length === 0) return;
    // One problem per path: a path that runs several shells (cycles, restart) says how many leaked.
    const earlier = this.#leftovers.get(name);
    if (earlier) {
      earlier.count += 1;
      earlier.problem.message = earlier.problem.message.replace(
        / \(after \d+ shell stops\)$|$/,
        ` (after ${earlier.count} shell stops)`,
      );
      return;
    }
    const problem: LifecycleProblem = {
      path: name,
      phase: "stop",
      code: "HANGAR_TEST_RESOURCES_LEAKED",
      message:
        `Plugin '${this.#pluginId}' left ${describeResources(left)} running after the shell stopped it: onStop ` +
        "(or the context's signal) must release what onStart and onResume started. hangar/testing released " +
        "it after this report, so it cannot keep the test process alive.",
      fix: fixFor("HANGAR_TEST_RESOURCES_LEAKED"),
      ...(left[0]?.at ? { at: left[0].at } : {}),
    };
    this.#leftovers.set(name, { problem, count: 1 });
    this.#problems.push(problem);
  }

  /** onStop only after an accepted onStart/onResume, once; never onStart twice without onStop between. */
  #checkHookOrder(name: LifecyclePath): void {
    let started: HookRecord | null = null;
    const problems: string[] = [];
    for (const record of this.#observer.hooksOf(name)) {
      if (record.hook === "onStart" && started) problems.push("onStart was called again before onStop");
      if (record.hook === "onResume" && !started)
        problems.push("onResume was called on a plugin not running");
      if (record.hook === "onStop" && !started) problems.push("onStop was called without a successful start");
      started = null;
      const accepted = record.outcome === "resolved" && record.liveAtSettle !== false && !record.late;
      if (record.hook !== "onStop" && accepted) started = record;
    }
    if (started) problems.push(`${started.hook} succeeded but onStop never ran`);
    for (const problem of problems) this.#problem(name, "stop", "HANGAR_TEST_HOOK_ORDER", `${problem}.`);
  }

  /** What is lost when an OTA update hands the plugin a fresh context. */
  #compareRegistrations(name: LifecyclePath, before: ContextRecord, after: ContextRecord): void {
    const routes = before.routes.filter((route) => !after.routes.includes(route));
    const channels = before.channels.filter((channel) => !after.channels.includes(channel));
    if (routes.length === 0 && channels.length === 0) return;
    const lost = [
      ...routes.map((route) => `route ${route}`),
      ...channels.map((channel) => `IPC channel '${channel}'`),
    ].join(", ");
    this.#problem(
      name,
      after.hook === "onResume" ? "resume" : "start",
      "HANGAR_TEST_REGISTRATIONS_LOST",
      `Plugin '${this.#pluginId}' registered ${lost} in ${before.hook}, but not again in ${after.hook} after the OTA ` +
        "update: the old context's registrations were removed with it, so they stopped working.",
    );
  }

  /** Calls on disposed contexts: a problem, unless made by a hook the harness timed out while it still ran. */
  #collectLateCalls(): void {
    const seen = new Map<string, { problem: LifecycleProblem; count: number }>();
    for (const context of this.#observer.contexts) {
      const path = context.path as LifecyclePath;
      for (const late of context.lateCalls) {
        if (late.duringHook?.late) {
          this.#note(
            path,
            `${late.duringHook.hook} went on after its timeout and called ctx.${late.call} on its disposed context ` +
              "(refused with HANGAR_CONTEXT_DISPOSED); check ctx.signal.aborted after each await",
          );
          continue;
        }
        const key = `${path}\0${late.call}\0${late.at}`;
        const known = seen.get(key);
        if (known) {
          known.count += 1;
          continue;
        }
        const phase: PluginPhase =
          path === "start-timeout" ? "start" : path === "resume-timeout" ? "resume" : "stop";
        const problem: LifecycleProblem = {
          path,
          phase,
          code: "HANGAR_CONTEXT_DISPOSED",
          message:
            `Plugin '${this.#pluginId}' called ctx.${late.call} after the context it received in ${context.hook} ` +
            "was disposed (after onStop, or after a failure or timeout). The call was refused.",
          fix: fixFor("HANGAR_CONTEXT_DISPOSED"),
          ...(late.at ? { at: late.at } : {}),
        };
        seen.set(key, { problem, count: 1 });
      }
    }
    for (const { problem, count } of seen.values()) {
      if (count > 1) problem.message += ` It happened ${count} times.`;
      this.#problems.push(problem);
    }
  }

  // ---- problems and the report ---------------------------------------------------------------------------

  #problem(name: LifecyclePath, phase: PluginPhase, code: LifecycleTestCode, message: string): void {
    this.#problems.push({ path: name, phase, code, message, fix: fixFor(code) });
  }

  #problemFromStatus(
    name: LifecyclePath,
    status: PluginStatus | undefined,
    phase: PluginPhase,
    prefix = "",
  ): void {
    if (status?.error) {
      const { code, message } = status.error;
      const at = this.#stackOf(name, status.error.phase);
      this.#problems.push({
        path: name,
        phase: status.error.phase,
        code,
        message: prefix + message,
        fix: fixFor(code),
        ...(at ? { at } : {}),
      });
      return;
    }
    this.#problem(
      name,
      phase,
      "HANGAR_TEST_HOOK_ORDER",
      `${prefix}Plugin '${this.#pluginId}' is ${status?.state ?? "not listed"} with no error recorded.`,
    );
  }

  #problemFromError(name: LifecyclePath | "load", phase: PluginPhase, error: unknown): LifecycleProblem {
    const code: ErrorCode = hasHangarCode(error) ? error.code : "HANGAR_INTERNAL";
    return { path: name, phase, code, message: messageOf(error), fix: fixFor(code) };
  }

  /** The stack of the error the plugin's hook threw in `phase` on `name`, when the hook threw one. */
  #stackOf(name: LifecyclePath, phase: PluginPhase): string | undefined {
    const record = this.#observer
      .hooksOf(name)
      .filter((hook) => HOOK_PHASE[hook.hook] === phase && hook.outcome === "rejected")
      .at(-1);
    const stack = (record?.error as { stack?: unknown } | undefined)?.stack;
    return typeof stack === "string" ? stack.split("\n").slice(0, 6).join("\n") : undefined;
  }

  #note(name: LifecyclePath, note: string): void {
    const notes = this.#notes.get(name) ?? [];
    if (!notes.includes(note)) notes.push(note);
    this.#notes.set(name, notes);
  }

  #report(selected: Set<LifecyclePath>, skipAll: string | null): LifecycleReport {
    const results: LifecyclePathResult[] = LIFECYCLE_PATHS.filter((name) => selected.has(name)).map(
      (name) => {
        const skipped = skipAll ?? this.#skipped.get(name) ?? (this.#ran.has(name) ? null : "not run");
        const notes = this.#notes.get(name) ?? [];
        const note = skipped ?? (notes.length > 0 ? notes.join("; ") : undefined);
        const outcome = skipped
          ? "skipped"
          : this.#problems.some((problem) => problem.path === name)
            ? "failed"
            : "passed";
        const isolation = this.#ranIsolation;
        return { path: name, title: PATH_TITLES[name], outcome, isolation, ...(note ? { note } : {}) };
      },
    );
    const problems = this.#problems.map((problem) => ({ ...problem, isolation: this.#ranIsolation }));
    return createReport(this.#pluginId, this.#folder, problems, results);
  }
}

/** The plugins named in `dependsOn` (and theirs), looked for among the folders beside `folder`. */
async function findDependencies(folder: string, manifest: PluginManifest): Promise<string[]> {
  const wanted = [...(manifest.dependsOn ?? [])];
  if (wanted.length === 0) return [];
  const parent = path.dirname(folder);
  const byId = new Map<string, { folder: string; dependsOn: string[] }>();
  for (const entry of await readdir(parent, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory()) continue;
    const candidate = path.join(parent, entry.name);
    if (candidate === folder) continue;
    const sibling = await readManifest(candidate).catch(() => null);
    if (sibling) byId.set(sibling.id, { folder: candidate, dependsOn: sibling.dependsOn ?? [] });
  }
  const found = new Set<string>();
  while (wanted.length > 0) {
    const id = wanted.pop()!;
    const sibling = byId.get(id);
    // A missing one is reported by the shell itself (HANGAR_DEPENDENCY_MISSING) when the plugin starts.
    if (!sibling || found.has(sibling.folder)) continue;
    found.add(sibling.folder);
    wanted.push(...sibling.dependsOn);
  }
  return [...found];
}

function hasCode(error: unknown, code: ErrorCode): boolean {
  return hasHangarCode(error) && error.code === code;
}

function trackedIpc(): TrackedIpc {
  const memory = createMemoryIpc();
  const channels = new Set<string>();
  return {
    ...memory,
    channels,
    handle(channel, handler) {
      memory.handle(channel, handler);
      channels.add(channel);
    },
    removeHandler(channel) {
      memory.removeHandler(channel);
      channels.delete(channel);
    },
  };
}

/** "2 timers (created at file:3:17 in onStart), 1 server (…)": what a plugin left running, by kind and place. */
function describeResources(resources: HookResource[]): string {
  const names: Record<string, [string, string]> = {
    Timeout: ["timer", "timers"],
    TCPSERVERWRAP: ["server", "servers"],
    PIPESERVERWRAP: ["server", "servers"],
    TCPWRAP: ["socket", "sockets"],
    PIPEWRAP: ["socket", "sockets"],
    UDPWRAP: ["UDP socket", "UDP sockets"],
    FSEVENTWRAP: ["file watcher", "file watchers"],
    STATWATCHER: ["file watcher", "file watchers"],
  };
  const groups = new Map<string, number>();
  for (const resource of resources) {
    const [one] = names[resource.type] ?? [resource.type];
    const key = `${one}\0${resource.hook}\0${resource.at ?? "an unknown place"}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups]
    .map(([key, count]) => {
      const [one, hook, at] = key.split("\0") as [string, string, string];
      const noun = count === 1 ? one : (Object.values(names).find(([single]) => single === one)?.[1] ?? one);
      return `${count} ${noun} created in ${hook} at ${at}`;
    })
    .join(", ");
}

/** Lets pending callbacks (promise reactions, immediates, I/O completions) run. */
async function idle(): Promise<void> {
  for (let i = 0; i < 3; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
