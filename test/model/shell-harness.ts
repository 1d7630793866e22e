// The shell machine's model (events, step outcomes, abstract states) and a replay that checks the shell's
// promises after every step: stop wins over start and update, queued updates run, shutdown steps run once.
import type { AnyMachineSnapshot } from "xstate";
import type { ShellMachineContext, shellMachine } from "../../src/machines/shell.machine.js";
import {
  buildModel,
  type MachineModel,
  type ModelPath,
  type ModelSpec,
} from "../../src/testing/model/graph.js";
import { type DrainPolicy, Replay } from "../../src/testing/model/replay.js";

export type ShellMachine = typeof shellMachine;

export const SHELL_INPUT = { timeouts: { auth: 100, shutdown: 1000 } };

const USER_EVENTS = [
  { type: "START" },
  { type: "STOP" },
  { type: "UPDATE", changed: ["fleet-board"] },
  { type: "AUTH.CHANGED", authenticated: true },
  { type: "AUTH.CHANGED", authenticated: false },
] as const;

const SHUTDOWN_STEPS = ["stopPlugins", "closeServer", "flushConfig"] as const;
const STEPS = ["initAuth", "listen", "discoverPlugins", "startPlugins", "updatePlugins", ...SHUTDOWN_STEPS];

const success: Record<string, unknown> = {
  initAuth: { authenticated: true },
  listen: { url: "http://127.0.0.1:2066" },
};
const failure = (step: string) => new Error(`${step} failed`);

/** The abstract state: the value plus every context field a guard reads. */
export function serializeShell(snapshot: AnyMachineSnapshot): string {
  const context = snapshot.context as ShellMachineContext;
  return JSON.stringify({
    state: snapshot.value,
    stopRequested: context.stopRequested,
    updateQueued: context.pendingUpdate !== null,
  });
}

export function shellSpec(machine: ShellMachine): ModelSpec<ShellMachine> {
  return {
    machine,
    input: SHELL_INPUT,
    serializeState: serializeShell,
    userEvents: () => USER_EVENTS,
    outcomes: Object.fromEntries(
      STEPS.map((step) => [step, { outputs: [success[step]], errors: [failure(step)] }]),
    ),
  };
}

export function shellModel(machine: ShellMachine): MachineModel {
  return buildModel(shellSpec(machine));
}

const topState = (snapshot: AnyMachineSnapshot) =>
  typeof snapshot.value === "string" ? snapshot.value : Object.keys(snapshot.value)[0]!;

/** A real shell actor plus what its owner would observe: which steps ran, which actions fired. */
export class ShellReplay {
  readonly replay: Replay<ShellMachine>;
  readonly invoked: string[] = [];
  readonly actions: string[] = [];
  /**
   * SPEC §4: an update that arrives during another runs once that one settles. Kept apart from
   * `replay.violations` so the coverage and shutdown checks report their own findings.
   */
  readonly lostUpdates: string[] = [];
  #stopSent = false;
  #generations: number[] = [];
  #problems: string[] = [];

  constructor(machine: ShellMachine) {
    const provided = machine.provide({
      actions: {
        reportAuthProblem: (_, params) => this.actions.push(`reportAuthProblem:${params.code}`),
        reportStepFailure: (_, params) => this.actions.push(`reportStepFailure:${params.step}`),
        forceRelease: () => this.actions.push("forceRelease"),
        releasePlugins: () => this.actions.push("releasePlugins"),
      },
    });
    this.replay = new Replay({
      machine: provided,
      input: SHELL_INPUT,
      actors: STEPS,
      serializeState: serializeShell,
      onInvoke: (call) => this.#onInvoke(call.src, call.input),
    });
    this.check();
  }

  get top(): string {
    return topState(this.replay.snapshot);
  }

  count(name: string): number {
    return [...this.invoked, ...this.actions].filter((entry) => entry === name).length;
  }

  async run(path: ModelPath): Promise<void> {
    for (const [index, step] of path.steps.entries()) {
      if (step.event.type === "STOP") this.#stopSent = true;
      await this.replay.step(step, `step ${index + 1} of path for ${path.goal}`);
      this.check();
    }
  }

  /**
   * Shutdown from wherever the shell is: STOP, then every step settles (`graceful`) or the shutdown steps
   * never settle (`hung`, so the shutdown budget must end it).
   */
  async shutDown(mode: "graceful" | "hung", where: string): Promise<void> {
    const before = this.top;
    const wasActive = this.replay.snapshot.status === "active";
    const policy: DrainPolicy = {
      settle: (src) =>
        mode === "hung" && (SHUTDOWN_STEPS as readonly string[]).includes(src)
          ? "hang"
          : { output: success[src] },
    };
    if (wasActive) {
      this.#stopSent = true;
      await this.replay.cause({ type: "STOP" });
    }
    await this.replay.drain(policy, `${mode} shutdown after ${where}`);
    this.check();
    const expected = before === "failed" ? "failed" : "stopped";
    if (this.top !== expected) this.replay.violation(`${mode} shutdown from ${before} ended ${this.top}`);
    if (!wasActive || before === "idle") return;
    if (mode === "graceful") {
      for (const step of SHUTDOWN_STEPS) {
        if (this.count(step) !== 1)
          this.replay.violation(`graceful shutdown ran ${step} ${this.count(step)} times`);
      }
      if (this.count("forceRelease") !== 0) this.replay.violation("graceful shutdown forced the release");
    } else if (this.count("forceRelease") !== 1) {
      this.replay.violation(
        `a hung shutdown forced the release ${this.count("forceRelease")} times, expected once`,
      );
    }
  }

  /** Checks the shell's promises in the current state and reports problems seen since the last check. */
  check(): void {
    for (const problem of this.#problems) this.replay.violation(problem);
    this.#problems = [];
    const snapshot = this.replay.snapshot;
    const context = snapshot.context as ShellMachineContext;
    if (this.top === "running" && context.pendingUpdate !== null) {
      this.lostUpdates.push(
        this.replay.locate(
          `running with update [${context.pendingUpdate.join(", ")}] still queued: it never runs until another UPDATE`,
        ),
      );
    }
    const released = this.count("releasePlugins");
    if (released !== (this.top === "failed" ? 1 : 0)) {
      this.replay.violation(`releasePlugins ran ${released} times in ${this.top}`);
    }
    if (this.count("forceRelease") > 0 && this.top !== "stopped") {
      this.replay.violation(`forceRelease ran while the shell is ${this.top}`);
    }
  }

  #onInvoke(src: string, input: unknown): void {
    this.invoked.push(src);
    if ((src === "startPlugins" || src === "updatePlugins") && this.#stopSent) {
      this.#problems.push(`${src} began after STOP`);
    }
    const index = (SHUTDOWN_STEPS as readonly string[]).indexOf(src);
    if (index >= 0 && this.count(src) > 1) this.#problems.push(`${src} ran twice`);
    if (index > 0 && this.count(SHUTDOWN_STEPS[index - 1]!) === 0) {
      this.#problems.push(`${src} ran before ${SHUTDOWN_STEPS[index - 1]}`);
    }
    if (src === "updatePlugins") {
      const { generation } = input as { generation: number };
      if (generation <= (this.#generations.at(-1) ?? 0)) {
        this.#problems.push(`update generation ${generation} does not follow ${this.#generations.at(-1)}`);
      }
      this.#generations.push(generation);
    }
  }
}
