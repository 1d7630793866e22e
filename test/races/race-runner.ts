// The race properties: fast-check generates command sequences and scheduler orderings, runs each on a fresh
// RaceSystem, shrinks a failure to a minimal sequence and writes a replay file that reproduces it exactly.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import fc from "fast-check";
import type { ProvidedPluginMachine } from "../../src/testing/shell-hooks.js";
import { withoutDisposalOnExit } from "../model/plugin-mutants.js";
import { MAX_TICK, RACE_VARIANTS, RaceSystem, type RaceVariant } from "./race-system.js";

/** One command of a race, as data: what replay files store. */
export type CommandData =
  | { type: "start" }
  | { type: "stop" }
  | { type: "update"; changed: string[] }
  | { type: "auth"; token: string | null }
  | { type: "settle"; plugin: string; outcome: "resolve" | "reject" }
  | { type: "tick"; ms: number }
  | { type: "crash"; plugin: string }
  | { type: "restart"; plugin: string };

/** Which machine a property concentrates on: one plugin's lifecycle, or the shell over two dependent plugins. */
export type RaceMachine = "plugin" | "shell";

/** Planted bugs the race runs must catch; enabled only by name, in tests. */
export const MUTANTS = {
  /**
   * Leaving `active` never disposes the context, so after a STOP (during start-up or not) its handlers
   * survive. The name is kept from when disposal sat on that one transition: stored replays use it.
   */
  "skip-dispose-on-requested-stop": (machine: ProvidedPluginMachine) =>
    withoutDisposalOnExit(machine) as ProvidedPluginMachine,
} as const;
export type MutantName = keyof typeof MUTANTS;

/** What a replay file holds: enough to rerun the failing run exactly, or through fast-check again. */
export interface ReplayFile {
  machine: RaceMachine;
  mutant: MutantName | null;
  variant: RaceVariant;
  /** fast-check's seed and shrink path: `fc.assert(property, { seed, path })` reaches the same counterexample. */
  seed: number;
  path: string;
  /** The commands that ran, in order. */
  commands: CommandData[];
  /** Scheduler task ids in the order they were released (commands and hook outcomes alike). */
  schedule: number[];
  failure: string;
}

type Model = Record<string, never>;
type RaceStep = fc.AsyncCommand<Model, RaceSystem>;

class RaceCommand implements fc.AsyncCommand<Model, RaceSystem> {
  constructor(readonly data: CommandData) {}

  check(): boolean {
    return true;
  }

  async run(_model: Model, system: RaceSystem): Promise<void> {
    system.ran.push(this.data);
    const data = this.data;
    switch (data.type) {
      case "start":
        return system.start();
      case "stop":
        return system.stop();
      case "update":
        return system.update(data.changed);
      case "auth":
        return system.setAuth(data.token);
      case "settle":
        return system.settle(data.plugin, data.outcome);
      case "tick":
        return system.tick(data.ms);
      case "crash":
        return system.crash(data.plugin);
      case "restart":
        return system.restart(data.plugin);
    }
  }

  toString(): string {
    const data = this.data;
    switch (data.type) {
      case "update":
        return `update(${JSON.stringify(data.changed)})`;
      case "auth":
        return `setAuth(${JSON.stringify(data.token)})`;
      case "settle":
        return `settle(${data.plugin}, ${data.outcome})`;
      case "tick":
        return `tick(${data.ms})`;
      case "crash":
        return `crash(${data.plugin})`;
      case "restart":
        return `restartPlugin(${data.plugin})`;
      default:
        return `${data.type}()`;
    }
  }
}

const command = (data: CommandData) => new RaceCommand(data);

/** `commands` after a start(); lazily, so fast-check still sees which of its commands ran (for shrinking). */
function* startThen(commands: Iterable<RaceStep>): Iterable<RaceStep> {
  yield command({ type: "start" });
  yield* commands;
}

function commandArbitraries(ids: string[], changedSets: string[][]): Array<fc.Arbitrary<RaceCommand>> {
  const settle = ids.map((plugin) =>
    fc
      .constantFrom("resolve" as const, "reject" as const)
      .map((outcome) => command({ type: "settle", plugin, outcome })),
  );
  return [
    fc.constant(command({ type: "start" })),
    fc.constant(command({ type: "start" })),
    fc.constant(command({ type: "stop" })),
    fc.constantFrom(...changedSets).map((changed) => command({ type: "update", changed })),
    fc.constantFrom(...changedSets).map((changed) => command({ type: "update", changed })),
    fc.constantFrom(null, "token-1", "token-2").map((token) => command({ type: "auth", token })),
    // Hooks are where the races are: settle them more often than anything else.
    ...settle,
    ...settle,
    ...settle,
    fc.integer({ min: 1, max: MAX_TICK }).map((ms) => command({ type: "tick", ms })),
    fc.integer({ min: 1, max: MAX_TICK }).map((ms) => command({ type: "tick", ms })),
    // Supervision (SPEC §11): a crash in the plugin's own code, and the operator's restart.
    fc.constantFrom(...ids).map((plugin) => command({ type: "crash", plugin })),
    fc.constantFrom(...ids).map((plugin) => command({ type: "restart", plugin })),
  ];
}

const MACHINES: Record<
  RaceMachine,
  { variants: RaceVariant[]; changedSets: string[][]; maxCommands: number }
> = {
  plugin: { variants: ["solo-resume", "solo-plain"], changedSets: [[], ["solo"]], maxCommands: 18 },
  shell: {
    variants: ["alpha-beta"],
    changedSets: [[], ["alpha"], ["beta"], ["alpha", "beta"]],
    maxCommands: 24,
  },
};

/** The system the scheduler's `act` steps; one run at a time. */
let active: RaceSystem | null = null;
const act = (release: () => Promise<unknown>): Promise<unknown> => {
  if (!active) return release();
  return active.act(release);
};

/** What failed in the last failing run (fast-check ends on the shrunk counterexample). */
interface FailureRecord {
  variant: RaceVariant;
  commands: CommandData[];
  schedule: number[];
  message: string;
}

interface RunOneOptions {
  workspace: { root: string; dataDir: string };
  mutant: MutantName | null;
}

/** Runs one race on a fresh shell; throws the first invariant violation (with the run's trace). */
async function runOne(
  scheduler: fc.Scheduler,
  variant: RaceVariant,
  commands: Iterable<RaceStep>,
  options: RunOneOptions,
  onFailure?: (record: FailureRecord) => void,
  reached?: Set<string>,
): Promise<void> {
  const system = new RaceSystem({
    variant,
    workspace: options.workspace,
    ...(options.mutant ? { pluginMachine: MUTANTS[options.mutant] } : {}),
  });
  system.scheduler = scheduler;
  active = system;
  const onUncaught = (error: unknown) => system.escaped("uncaughtException", error);
  const onUnhandled = (error: unknown) => system.escaped("unhandledRejection", error);
  process.on("uncaughtException", onUncaught);
  process.on("unhandledRejection", onUnhandled);
  try {
    await fc.scheduledModelRun(scheduler, () => ({ model: {}, real: system }), commands);
    await system.check("when the scheduler is idle");
    await system.finish();
  } catch (error) {
    onFailure?.({
      variant,
      commands: [...(system.ran as CommandData[])],
      schedule: scheduler
        .report()
        .filter((task) => task.status !== "pending")
        .map((task) => task.taskId),
      message: error instanceof Error ? error.message : String(error),
    });
    throw error;
  } finally {
    for (const transition of system.transitions) reached?.add(transition);
    active = null;
    await system.dispose();
    process.off("uncaughtException", onUncaught);
    process.off("unhandledRejection", onUnhandled);
  }
}

/** Options of {@link runRaces}. */
export interface RaceOptions extends RunOneOptions {
  machine: RaceMachine;
  numRuns: number;
  /** Default: HANGAR_RACE_SEED when set, else fast-check's own (time-based) seed. */
  seed?: number;
  /** Where a failure's replay file goes. */
  replayDir: string;
}

/** The outcome of a batch of race runs. */
export interface RaceOutcome {
  failed: boolean;
  numRuns: number;
  seed: number;
  /** Set when a run failed: the replay file written for it. */
  replayFile: string | null;
  failure: string | null;
  /** fast-check's report, for test output. */
  report: string;
  /** Every state change the runs produced (`plugin: starting -> running`). */
  reached: Set<string>;
}

/** Runs `numRuns` seeded races on `machine`; a failure is shrunk and written to a replay file. */
export async function runRaces(options: RaceOptions): Promise<RaceOutcome> {
  const spec = MACHINES[options.machine];
  let lastFailure: FailureRecord | null = null;
  const reached = new Set<string>();
  const ids = [...new Set(spec.variants.flatMap((variant) => RACE_VARIANTS[variant].map((p) => p.id)))];
  const property = fc.asyncProperty(
    fc.scheduler({ act }),
    fc.constantFrom(...spec.variants),
    // Most runs begin with start(): the races worth finding are after it.
    fc.constantFrom(true, true, true, false),
    fc.commands(commandArbitraries(ids, spec.changedSets), { maxCommands: spec.maxCommands, size: "+1" }),
    (scheduler, variant, startFirst, commands) =>
      runOne(
        scheduler,
        variant,
        startFirst ? startThen(commands) : commands,
        options,
        (record) => {
          lastFailure = record;
        },
        reached,
      ),
  );
  const envSeed = process.env.HANGAR_RACE_SEED ? Number(process.env.HANGAR_RACE_SEED) : undefined;
  const seed = options.seed ?? envSeed;
  const details = await fc.check(property, {
    numRuns: options.numRuns,
    ...(seed === undefined ? {} : { seed }),
  });
  const report = fc.defaultReportMessage(details) ?? `${details.numRuns} runs passed (seed ${details.seed})`;
  if (!details.failed || !lastFailure) {
    return {
      failed: details.failed,
      numRuns: details.numRuns,
      seed: details.seed,
      replayFile: null,
      failure: null,
      report,
      reached,
    };
  }
  const failure: FailureRecord = lastFailure;
  const replay: ReplayFile = {
    machine: options.machine,
    mutant: options.mutant,
    variant: failure.variant,
    seed: details.seed,
    path: details.counterexamplePath ?? "",
    commands: failure.commands,
    schedule: failure.schedule,
    failure: failure.message,
  };
  await mkdir(options.replayDir, { recursive: true });
  const replayFile = path.join(
    options.replayDir,
    `${options.machine}${options.mutant ? `-${options.mutant}` : ""}-${details.seed}.json`,
  );
  await writeFile(replayFile, `${JSON.stringify(replay, null, 2)}\n`);
  return {
    failed: true,
    numRuns: details.numRuns,
    seed: details.seed,
    replayFile,
    failure: failure.message,
    report,
    reached,
  };
}

/** Reads a replay file. */
export async function readReplay(file: string): Promise<ReplayFile> {
  return JSON.parse(await readFile(file, "utf8")) as ReplayFile;
}

/**
 * Reruns a recorded race exactly: the same commands, and the scheduler releasing tasks in the recorded
 * order (then first-in first-out, for a run that goes further than the recording). Resolves with the
 * failure message, or null when the run passes.
 */
export async function replayRace(
  replay: ReplayFile,
  options: { workspace: { root: string; dataDir: string }; mutant?: MutantName | null },
): Promise<string | null> {
  const recorded = new Set(replay.schedule);
  const last = Math.max(0, ...replay.schedule);
  const tail: number[] = [];
  for (let id = 1; id <= last + 5_000; id += 1) if (!recorded.has(id)) tail.push(id);
  const scheduler = fc.schedulerFor([...replay.schedule, ...tail], { act });
  try {
    await runOne(
      scheduler,
      replay.variant,
      replay.commands.map((data) => command(data)),
      { workspace: options.workspace, mutant: options.mutant === undefined ? replay.mutant : options.mutant },
    );
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Runs per machine: HANGAR_RACE_RUNS when set, else 1,000. */
export function raceRuns(): number {
  const fromEnv = Number(process.env.HANGAR_RACE_RUNS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 1_000;
}
