// A real shell over plugins whose every hook waits for the race test: a Settle command decides each hook's
// outcome, fast-check's scheduler decides when that outcome reaches the shell, and XState's delays run on a
// simulated clock. After every step the system waits until only the test can move it, then checks invariants.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type fc from "fast-check";
import { type AnyActorRef, type InspectionEvent, SimulatedClock } from "xstate";
import { createMemoryIpc, createShell, type MemoryIpc, type Shell } from "../../src/index.js";
import { pluginStateOf } from "../../src/machines/plugin.machine.js";
import type { PluginContext } from "../../src/sdk/types.js";
import {
  type ActorClock,
  type ProvidedPluginMachine,
  withShellTestHooks,
} from "../../src/testing/shell-hooks.js";

/** Small simulated timeouts (ms): a tick of up to {@link MAX_TICK} passes any of them twice over. */
export const RACE_TIMEOUTS = { start: 100, stop: 50, resume: 80, auth: 100, shutdown: 400 } as const;
export const MAX_TICK = 2 * Math.max(...Object.values(RACE_TIMEOUTS));

/** The token the race's auth provider answers with at boot. */
export const BOOT_TOKEN = "boot-token";

/** One controllable plugin on disk. */
export interface RacePluginSpec {
  id: string;
  folder: string;
  onResume: boolean;
  dependsOn: string[];
}

/** Plugin sets, by name: a race run uses one of them (it is recorded in replay files). */
export const RACE_VARIANTS = {
  "solo-resume": [{ id: "solo", folder: "solo-resume", onResume: true, dependsOn: [] }],
  "solo-plain": [{ id: "solo", folder: "solo-plain", onResume: false, dependsOn: [] }],
  "alpha-beta": [
    { id: "alpha", folder: "alpha", onResume: true, dependsOn: [] },
    { id: "beta", folder: "beta", onResume: false, dependsOn: ["alpha"] },
  ],
} satisfies Record<string, RacePluginSpec[]>;

export type RaceVariant = keyof typeof RACE_VARIANTS;

type HookName = "onStart" | "onStop" | "onResume";
type Outcome = "resolve" | "reject";

/** The plugin modules reach their controller through this global, keyed by plugin id. */
interface HookController {
  hook(name: HookName, ctx?: PluginContext): Promise<void>;
}
declare global {
  var __hangarRace: Map<string, HookController> | undefined;
}

/** Writes every variant's plugin folders once; runs share them (the modules hold no state of their own). */
export async function createRaceWorkspace(): Promise<{
  root: string;
  dataDir: string;
  cleanup(): Promise<void>;
}> {
  const root = await mkdtemp(path.join(os.tmpdir(), "hangar-race-"));
  await writeFile(path.join(root, "package.json"), JSON.stringify({ type: "module" }));
  const specs = Object.values(RACE_VARIANTS).flat();
  for (const spec of specs) {
    const folder = path.join(root, spec.folder);
    await mkdir(path.join(folder, "background"), { recursive: true });
    const manifest = {
      id: spec.id,
      version: "1.0.0",
      // A backoff shorter than most ticks, so that a crashed plugin's restart comes up often in the runs.
      background: { entryModule: "background/index.mjs", restart: { backoffMs: 100 } },
      ...(spec.dependsOn.length > 0 ? { dependsOn: spec.dependsOn } : {}),
    };
    await writeFile(path.join(folder, "plugin.json"), JSON.stringify(manifest, null, 2));
    await writeFile(path.join(folder, "background", "index.mjs"), pluginSource(spec));
  }
  return {
    root,
    dataDir: path.join(root, "data"),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

function pluginSource(spec: RacePluginSpec): string {
  const resume = spec.onResume
    ? `export function onResume(ctx) { return control().hook("onResume", ctx); }\n`
    : "";
  return `// Race-test plugin '${spec.id}': every hook asks the test's controller what to do.
const control = () => {
  const controller = globalThis.__hangarRace?.get(${JSON.stringify(spec.id)});
  if (!controller) throw new Error("no race controller for ${spec.id}");
  return controller;
};
export function onStart(ctx) { return control().hook("onStart", ctx); }
export function onStop() { return control().hook("onStop"); }
${resume}`;
}

/** A SimulatedClock that also knows how many timers are pending (a finished shell must hold none). */
export class RaceClock implements ActorClock {
  readonly #clock = new SimulatedClock();
  readonly #pending = new Set<number>();

  setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    const id: number = this.#clock.setTimeout(() => {
      this.#pending.delete(id);
      fn();
    }, timeout);
    this.#pending.add(id);
    return id;
  }

  clearTimeout(id: number): void {
    this.#pending.delete(id);
    this.#clock.clearTimeout(id);
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Moves simulated time forward; every timer that falls due fires, in order. */
  increment(ms: number): void {
    this.#clock.increment(ms);
  }
}

/** One call of a plugin hook, waiting for the test. */
interface HookCall {
  pluginId: string;
  hook: HookName;
  serial: number;
  ctx: PluginContext | undefined;
  decided: Outcome | null;
  delivered: boolean;
  resolve(): void;
  reject(error: Error): void;
}

/** What the test knows of one plugin: the contexts it was given and the hook calls it received. */
interface PluginProbe {
  spec: RacePluginSpec;
  contexts: Array<{ serial: number; ctx: PluginContext }>;
  calls: HookCall[];
  /** The onStart/onResume the shell accepted and no onStop has followed yet. */
  started: HookCall | null;
}

/** A shell promise the test started (start, stop, update) and how it settled. */
interface TrackedPromise {
  label: string;
  settled: boolean;
  error: unknown;
  /** Whether a rejection with this error is part of the API contract. */
  allowed(error: unknown): boolean;
}

/** Thrown when an invariant does not hold; fast-check shrinks the run that threw it. */
export class RaceViolation extends Error {
  override name = "RaceViolation";
}

const HOOK_STATE: Record<HookName, string> = {
  onStart: "starting",
  onResume: "resuming",
  onStop: "stopping",
};
/** Plugin states in which the plugin holds exactly one context. */
const HOLDS_CONTEXT = new Set(["starting", "running", "resuming", "stopping"]);
/** Plugin states that move only when the test settles a hook (or a timeout fires). */
const IN_HOOK = new Set(["starting", "resuming", "stopping"]);
/** `backoff` moves only when the (simulated) clock does: at rest for the test. */
const AT_REST = new Set(["loaded", "running", "backoff", "stopped", "errored", "inactive"]);
/** Shell states that move without the test (real I/O: loading, listening, closing, flushing). */
const SHELL_BUSY = new Set(["booting", "closingServer", "flushingConfig"]);
const QUIESCE_LIMIT_MS = 10_000;

/** Options of one race run. */
export interface RaceSystemOptions {
  variant: RaceVariant;
  workspace: { root: string; dataDir: string };
  /** A planted bug: replaces the plugin machine the shell runs. */
  pluginMachine?: (machine: ProvidedPluginMachine) => ProvidedPluginMachine;
}

/** One real shell under test, with everything a race run needs to drive and check it. */
export class RaceSystem {
  readonly shell: Shell;
  readonly clock = new RaceClock();
  readonly ipc: MemoryIpc;
  /** IPC channels with a handler registered right now. */
  readonly handlers = new Set<string>();
  readonly probes = new Map<string, PluginProbe>();
  /** What happened, in order, for failure reports. */
  readonly trace: string[] = [];
  /** State changes seen (`plugin: starting -> running`), to show what the races reached. */
  readonly transitions = new Set<string>();
  /** Commands that ran, as data (for replay files). */
  readonly ran: unknown[] = [];
  scheduler: fc.Scheduler | null = null;
  readonly #promises: TrackedPromise[] = [];
  readonly #errors: string[] = [];
  #serial = 0;
  /** The token plugins must see: the provider's after boot, then whatever setAuth said last. */
  #token: string | null = null;
  #booted = false;
  #stopPromise: Promise<void> | null = null;

  constructor(options: RaceSystemOptions) {
    const specs = RACE_VARIANTS[options.variant];
    const memory = createMemoryIpc();
    const handlers = this.handlers;
    this.ipc = {
      ...memory,
      handle(channel, handler) {
        memory.handle(channel, handler);
        handlers.add(channel);
      },
      removeHandler(channel) {
        memory.removeHandler(channel);
        handlers.delete(channel);
      },
    };
    const controllers = new Map<string, HookController>();
    for (const spec of specs) {
      this.probes.set(spec.id, { spec, contexts: [], calls: [], started: null });
      controllers.set(spec.id, { hook: (name, ctx) => this.#onHook(spec.id, name, ctx) });
    }
    globalThis.__hangarRace = controllers;

    const options_ = {
      plugins: specs.map((spec) => path.join(options.workspace.root, spec.folder)),
      dataDir: options.workspace.dataDir,
      server: { port: 0 },
      ipc: this.ipc,
      auth: { init: async () => ({ token: BOOT_TOKEN }) },
      timeouts: { ...RACE_TIMEOUTS },
      log: {
        format: "json" as const,
        level: "error" as const,
        destination: {
          write: (chunk: string) => {
            if (chunk.includes("HANGAR_INTERNAL"))
              this.#errors.push(`hangar logged a defect: ${chunk.trim()}`);
          },
        },
      },
      inspect: (event: InspectionEvent) => this.#onInspect(event),
    };
    this.shell = createShell(
      withShellTestHooks(options_, {
        clock: this.clock,
        ...(options.pluginMachine ? { pluginMachine: options.pluginMachine } : {}),
      }),
    );
  }

  // ---- actions the commands take -------------------------------------------------------------------

  start(): void {
    this.#note("start()");
    this.#track("start()", this.shell.start(), (error) => isCode(error, "HANGAR_SHELL_STATE"));
  }

  stop(): void {
    this.#note("stop()");
    this.#stopPromise = this.#track("stop()", this.shell.stop(), () => false);
  }

  update(changed: string[]): void {
    this.#note(`update(${JSON.stringify(changed)})`);
    // Updates are refused (HANGAR_SHELL_STATE) before start, after stop, and when shutdown overtakes them.
    this.#track(`update(${JSON.stringify(changed)})`, this.shell.update({ changed }), (error) =>
      isCode(error, "HANGAR_SHELL_STATE"),
    );
  }

  setAuth(token: string | null): void {
    this.#note(`setAuth(${JSON.stringify(token)})`);
    this.shell.setAuth({ token });
    this.#token = token;
  }

  /** What the containment layer does when a plugin's own code throws outside a hook: a CRASH event. */
  crash(pluginId: string): void {
    const actor = this.#actors.get(pluginId);
    this.#note(`crash(${pluginId})${actor ? "" : ": no actor yet"}`);
    // After shutdown the actors are released; a crash report for one would only make XState warn.
    if (actor?.getSnapshot().status !== "active") return;
    actor.send({
      type: "CRASH",
      code: "HANGAR_PLUGIN_CRASHED",
      message: `Plugin '${pluginId}' crashed (race).`,
    });
  }

  restart(pluginId: string): void {
    this.#note(`restartPlugin(${pluginId})`);
    // Refused before the shell runs, during an update, after stop; unknown before discovery.
    this.#track(
      `restartPlugin(${pluginId})`,
      this.shell.restartPlugin(pluginId).then(() => {}),
      (error) => isCode(error, "HANGAR_SHELL_STATE") || isCode(error, "HANGAR_PLUGIN_UNKNOWN"),
    );
  }

  tick(ms: number): void {
    this.#note(`tick(${ms})`);
    this.clock.increment(ms);
  }

  /**
   * Decides the oldest undecided hook call of `pluginId` (a call whose timeout already fired included: its
   * late outcome is a race of its own). The outcome reaches the shell when the scheduler releases it.
   */
  settle(pluginId: string, outcome: Outcome): void {
    const call = this.probes.get(pluginId)?.calls.find((candidate) => candidate.decided === null);
    if (!call) {
      this.#note(`settle ${pluginId} ${outcome}: no hook waiting`);
      return;
    }
    call.decided = outcome;
    const label = `${pluginId}.${call.hook}#${call.serial} ${outcome}`;
    this.#note(`decide ${label}`);
    if (this.scheduler)
      void this.scheduler.schedule(Promise.resolve(), label).then(() => this.#deliver(call));
    else this.#deliver(call);
  }

  // ---- stepping and checking -----------------------------------------------------------------------

  /** The scheduler's act: release one task, wait until only the test can move the system, check it. */
  async act(release: () => Promise<unknown>): Promise<void> {
    await release();
    await this.quiesce();
    await this.check("after a step");
  }

  /** Waits until nothing but the test (a Settle, a tick, a command) can change the system. */
  async quiesce(): Promise<void> {
    const started = Date.now();
    let quietTurns = 0;
    while (quietTurns < 2) {
      await new Promise((resolve) => setImmediate(resolve));
      quietTurns = this.#isQuiet() ? quietTurns + 1 : 0;
      if (Date.now() - started > QUIESCE_LIMIT_MS) {
        throw this.#violation([`the system never settled: ${this.#describe()}`]);
      }
    }
  }

  /** Checks every invariant in the current (quiet) state; throws a RaceViolation naming each broken one. */
  async check(where: string): Promise<void> {
    const problems = [...this.#errors.splice(0)];
    const shellState = this.#shellState();
    if (shellState === "failed") problems.push(`the shell failed: ${JSON.stringify(this.shell.status())}`);
    const active = this.shell.actor.getSnapshot().status === "active";
    if (active && this.#booted && !SHELL_BUSY.has(shellState)) {
      const authenticated = this.shell.actor.getSnapshot().context.authenticated;
      if (authenticated !== (this.#token !== null)) {
        problems.push(`the shell says authenticated=${authenticated} but the token is ${this.#token}`);
      }
    }
    const expectedChannels = new Set<string>();
    for (const [id, probe] of this.probes) {
      const state = this.#pluginState(id);
      const live = probe.contexts.filter((entry) => !entry.ctx.signal.aborted);
      const holds = HOLDS_CONTEXT.has(state);
      if (live.length !== (holds ? 1 : 0)) {
        problems.push(`${id} is ${state} with ${live.length} live contexts (expected ${holds ? 1 : 0})`);
      }
      const channel = `plugin:${id}:ping`;
      if (holds && live.length === 1) {
        expectedChannels.add(channel);
        expectedChannels.add(`plugin:${id}:late`);
      }
      if (!holds && this.handlers.has(channel))
        problems.push(`${id} is ${state} but its IPC handler survives`);
      for (const entry of live) {
        if (this.#booted && entry.ctx.auth.getToken() !== this.#token) {
          problems.push(`${id}'s context sees token ${entry.ctx.auth.getToken()}, expected ${this.#token}`);
        }
      }
      if (state === "running" && live.length === 1) {
        const serial = live[0]!.serial;
        const answer = await this.ipc.invoke(channel).catch((error: unknown) => String(error));
        if ((answer as { serial?: number } | null)?.serial !== serial) {
          problems.push(`${id} is running on context #${serial} but IPC answers ${JSON.stringify(answer)}`);
        }
        if (shellState === "running" && !this.#httpChecked.has(serial)) {
          this.#httpChecked.add(serial);
          const url = `${this.shell.status().server.url}/api/${id}/ping`;
          const response = await fetch(url).catch((error: unknown) => error as Error);
          const body = response instanceof Error ? response.message : await response.json();
          if ((body as { serial?: number }).serial !== serial) {
            problems.push(`${id} is running on context #${serial} but HTTP answers ${JSON.stringify(body)}`);
          }
        }
      }
    }
    for (const channel of this.handlers) {
      // The shell's own UI channels (hangar:config, hangar:auth) live as long as the shell, not a context.
      if (!channel.startsWith("plugin:")) continue;
      if (!expectedChannels.has(channel))
        problems.push(`IPC handler ${channel} is registered but held by no context`);
    }
    for (const tracked of this.#promises) {
      if (tracked.settled && tracked.error !== undefined && !tracked.allowed(tracked.error)) {
        problems.push(`${tracked.label} rejected: ${String(tracked.error)}`);
        tracked.error = undefined;
      }
    }
    if (problems.length > 0) throw this.#violation(problems.map((problem) => `${problem} (${where})`));
  }

  /** Records an error that escaped to the process (installed by the runner for each run). */
  escaped(kind: string, error: unknown): void {
    this.#errors.push(`${kind}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }

  /**
   * Shuts the shell down and lets every hook succeed until it is `stopped`, then checks the end state:
   * no context, handler or timer left, every accepted start followed by onStop, every shell promise settled.
   */
  async finish(): Promise<void> {
    this.scheduler = null;
    this.#note("finish: stop() and settle every hook");
    this.#stopPromise ??= this.#track("stop()", this.shell.stop(), () => false);
    for (let i = 0; i < 200; i += 1) {
      await this.quiesce();
      const waiting = [...this.probes.values()]
        .flatMap((probe) => probe.calls)
        .find((c) => c.decided === null);
      if (waiting) {
        this.settle(waiting.pluginId, "resolve");
        continue;
      }
      const state = this.#shellState();
      if (state === "stopped" || state === "failed") break;
      if (this.clock.pending === 0) break;
      this.tick(MAX_TICK);
    }
    await this.quiesce();
    await this.check("after shutdown");
    const problems: string[] = [];
    if (this.#shellState() !== "stopped") problems.push(`shutdown ended ${this.#shellState()}, not stopped`);
    for (const [id, probe] of this.probes) {
      const status = this.shell.status().plugins.find((plugin) => plugin.id === id);
      if (status && !["stopped", "errored", "inactive"].includes(status.state)) {
        problems.push(`${id} is still ${status.state} after shutdown`);
      }
      // Only a forced release (the whole shutdown ran out of time) may skip onStop after a successful start.
      if (probe.started && status?.error?.code !== "HANGAR_SHUTDOWN_TIMEOUT") {
        problems.push(`${id}.${probe.started.hook}#${probe.started.serial} succeeded but onStop never ran`);
      }
    }
    if (this.clock.pending > 0) problems.push(`${this.clock.pending} timers are still pending on the clock`);
    // A stopped shell holds no handler at all, its own UI channels included (another shell may take them).
    if (this.handlers.size > 0)
      problems.push(`IPC handlers left after shutdown: ${[...this.handlers].join(", ")}`);
    for (const tracked of this.#promises) {
      if (!tracked.settled) problems.push(`${tracked.label} never settled`);
    }
    if (problems.length > 0) throw this.#violation(problems.map((problem) => `${problem} (at the end)`));
  }

  /** Best-effort teardown after a failed run: never throws, never hangs. */
  async dispose(): Promise<void> {
    this.scheduler = null;
    try {
      void this.shell.stop();
      for (let i = 0; i < 50 && this.#shellState() !== "stopped" && this.#shellState() !== "failed"; i += 1) {
        for (const probe of this.probes.values()) {
          for (const call of probe.calls) if (call.decided === null) this.settle(call.pluginId, "resolve");
        }
        this.clock.increment(MAX_TICK);
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch {
      // The run already failed and reported why; teardown problems would only hide that.
    }
  }

  // ---- internals -----------------------------------------------------------------------------------

  #onHook(pluginId: string, hook: HookName, ctx?: PluginContext): Promise<void> {
    const probe = this.probes.get(pluginId)!;
    const serial = ++this.#serial;
    const state = this.#pluginState(pluginId);
    this.#note(`${pluginId}.${hook}#${serial} called in ${state}`);
    const problems: string[] = [];
    if (state !== HOOK_STATE[hook]) problems.push(`${pluginId}.${hook} was called in ${state}`);
    if (hook === "onStart" && probe.started) {
      problems.push(`${pluginId}.onStart was called again without onStop after #${probe.started.serial}`);
    }
    if (hook === "onResume" && !probe.started)
      problems.push(`${pluginId}.onResume was called on a plugin not started`);
    if (hook === "onStop" && !probe.started) {
      problems.push(`${pluginId}.onStop was called without a successful onStart/onResume before it`);
    }
    if (hook === "onStop" && probe.started?.ctx?.signal.aborted) {
      problems.push(`${pluginId}.onStop was called after its context #${probe.started.serial} was disposed`);
    }
    probe.started = null;
    if (ctx) {
      if (ctx.signal.aborted) problems.push(`${pluginId}.${hook} received a disposed context`);
      probe.contexts.push({ serial, ctx });
      try {
        ctx.ipc.handle("ping", () => ({ serial }));
        ctx.server.registerRouter(
          `/api/${pluginId}`,
          (req: { url: string }, res: { json(body: unknown): void }, next: () => void) => {
            if (req.url === "/ping") res.json({ serial });
            else next();
          },
        );
      } catch (error) {
        problems.push(`${pluginId}.${hook} could not register on its context: ${String(error)}`);
      }
    }
    this.#errors.push(...problems);
    return new Promise<void>((resolve, reject) => {
      probe.calls.push({ pluginId, hook, serial, ctx, decided: null, delivered: false, resolve, reject });
    });
  }

  #deliver(call: HookCall): void {
    call.delivered = true;
    this.#note(`deliver ${call.pluginId}.${call.hook}#${call.serial} ${call.decided}`);
    if (call.ctx) this.#registerLate(call.pluginId, call.serial, call.ctx);
    if (call.decided === "resolve") {
      // The shell accepts the outcome only while the hook's context is live (its timeout has not fired).
      if (call.hook !== "onStop" && call.ctx && !call.ctx.signal.aborted) {
        this.probes.get(call.pluginId)!.started = call;
      }
      call.resolve();
    } else {
      call.reject(new Error(`planned failure of ${call.pluginId}.${call.hook}#${call.serial}`));
    }
  }

  /**
   * Just before its outcome, a hook registers once more, as slow plugin code does after an await: refused
   * (HANGAR_CONTEXT_DISPOSED) when the context is gone, kept until disposal when it is live.
   */
  #registerLate(pluginId: string, serial: number, ctx: PluginContext): void {
    const disposed = ctx.signal.aborted;
    // Once the shell has stopped, a late registration is ignored with a warning instead of throwing, so a
    // leftover can never crash the host (SPEC §11, docs/lifecycle.md "Containment"); nothing is registered.
    const shellStopped = ["stopped", "failed"].includes(this.shell.status().state);
    try {
      ctx.ipc.handle("late", () => ({ serial }));
      if (disposed && !shellStopped)
        this.#errors.push(`${pluginId}: a handler registered on disposed context #${serial} was accepted`);
    } catch (error) {
      if (!disposed || !isCode(error, "HANGAR_CONTEXT_DISPOSED")) {
        this.#errors.push(
          `${pluginId}: registering on ${disposed ? "disposed" : "live"} context #${serial} threw ${String(error)}`,
        );
      }
    }
  }

  #onInspect(event: InspectionEvent): void {
    const id = (event.actorRef as { id?: string }).id ?? "";
    if (id.startsWith("plugin:")) this.#actors.set(id.slice("plugin:".length), event.actorRef as AnyActorRef);
    if (event.type !== "@xstate.snapshot") return;
    const snapshot = event.snapshot as { value?: unknown };
    if (id.startsWith("plugin:") || id === "shell") {
      // A plugin's state as status shows it (`stopping`, not `{ active: { stopping: … } }`).
      const state = id === "shell" ? topState(snapshot.value) : pluginStateOf(snapshot.value);
      const previous = this.#lastState.get(id);
      const generation = (snapshot as { context?: { generation?: number } }).context?.generation;
      // updating -> updating is a re-entry (a queued update begins): only the generation shows it.
      const reentered = id === "shell" && state === "updating" && generation !== this.#generation;
      if (id === "shell") this.#generation = generation;
      if (previous !== state || (reentered && previous === "updating")) {
        this.#lastState.set(id, state);
        this.transitions.add(`${id === "shell" ? "shell" : "plugin"}: ${previous ?? "(new)"} -> ${state}`);
      }
    }
    if (id !== "shell") return;
    const state = topState(snapshot.value);
    if (state === "booting") this.#booting = true;
    if (this.#booting && !this.#booted && state !== "booting") {
      // Boot has set the provider's token (over any earlier setAuth); only later setAuth calls change it.
      this.#booted = true;
      this.#token = BOOT_TOKEN;
    }
  }

  readonly #actors = new Map<string, AnyActorRef>();
  #booting = false;
  readonly #lastState = new Map<string, string>();
  #generation: number | undefined;
  /** Contexts whose route was already seen answering over HTTP (once each keeps the runs fast). */
  readonly #httpChecked = new Set<number>();

  #isQuiet(): boolean {
    if (SHELL_BUSY.has(this.#shellState())) return false;
    // Once the actor has stopped, stop() still releases the shell's resources (real I/O: the data-folder lock).
    if (!this.#busyActor() && this.#promises.some((p) => p.label === "stop()" && !p.settled)) return false;
    for (const [id, probe] of this.probes) {
      const state = this.#pluginState(id);
      if (AT_REST.has(state) || state === "unknown") continue;
      if (!IN_HOOK.has(state)) return false;
      // In a hook: quiet only once the matching hook was called and its outcome has not been delivered.
      const last = probe.calls.at(-1);
      if (!last || HOOK_STATE[last.hook] !== state || last.delivered) return false;
    }
    return true;
  }

  #busyActor(): boolean {
    return this.shell.actor.getSnapshot().status === "active";
  }

  #shellState(): string {
    const value = this.shell.actor.getSnapshot().value;
    if (typeof value === "string") return value;
    const [top, inner] = Object.entries(value as Record<string, unknown>)[0]!;
    // shuttingDown's steps matter: closing the server and flushing config are real I/O.
    return top === "shuttingDown" && typeof inner === "string" ? inner : top;
  }

  #pluginState(id: string): string {
    return this.shell.status().plugins.find((plugin) => plugin.id === id)?.state ?? "unknown";
  }

  #describe(): string {
    const plugins = [...this.probes.keys()].map((id) => `${id}=${this.#pluginState(id)}`).join(", ");
    return `shell ${this.#shellState()}, ${plugins}`;
  }

  #track(label: string, promise: Promise<void>, allowed: (error: unknown) => boolean): Promise<void> {
    const tracked: TrackedPromise = { label, settled: false, error: undefined, allowed };
    this.#promises.push(tracked);
    return promise.then(
      () => {
        tracked.settled = true;
      },
      (error: unknown) => {
        tracked.settled = true;
        tracked.error = error ?? new Error("rejected with nothing");
      },
    );
  }

  #note(line: string): void {
    this.trace.push(line);
  }

  #violation(problems: string[]): RaceViolation {
    const trace = this.trace.slice(-40).map((line) => `  ${line}`);
    return new RaceViolation(`${problems.join("\n")}\nnow: ${this.#describe()}\ntrace:\n${trace.join("\n")}`);
  }
}

function topState(value: unknown): string {
  return typeof value === "string" ? value : Object.keys(value as object)[0]!;
}

function isCode(error: unknown, code: string): boolean {
  return (error as { code?: unknown } | null)?.code === code;
}
