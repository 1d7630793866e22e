// Replays model paths on a real actor: invoked actors become promises the path resolves or rejects, and
// delays fire by advancing a simulated clock, so XState's own mechanics deliver every done/error/after event.
import {
  type Actor,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  createActor,
  type EventObject,
  fromPromise,
  type InputFrom,
  SimulatedClock,
} from "xstate";
import { invokedActorOf, isDelayedEvent, type ModelStep } from "./graph.js";
import { transitionId } from "./transitions.js";

/** An actor the machine started, as the replay sees it. */
export interface InvokeCall {
  /** The actor source name (`src` of the invoke). */
  src: string;
  /** The invoke id; its done/error events are `xstate.done.actor.<id>` / `xstate.error.actor.<id>`. */
  id: string;
  input: unknown;
}

/** How to build a replay. */
export interface ReplayOptions<TMachine extends AnyStateMachine> {
  /** The machine with its test actions provided; the replay provides the `actors` itself. */
  machine: TMachine;
  input: InputFrom<TMachine>;
  /** Names of the promise actors to replace with promises the replay controls. */
  actors: readonly string[];
  /** Same naming of abstract states as the model's. */
  serializeState(snapshot: AnyMachineSnapshot): string;
  /** Told of every actor the machine starts, with the machine's snapshot at that moment. */
  onInvoke?(call: InvokeCall, snapshot: AnyMachineSnapshot): void;
  /** Told when the replay settles an actor successfully (its output will reach the machine). */
  onResolve?(call: InvokeCall): void;
}

/** What to do with the actors still running while a replay drains. */
export interface DrainPolicy {
  /** The output to resolve `src` with, or `"hang"` to leave it running (its state's timeout decides). */
  settle(src: string): { output: unknown } | "hang";
  /** Upper bound on steps, so a machine that never settles fails instead of spinning. */
  maxSteps?: number;
}

interface Pending {
  call: InvokeCall;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Timers of a SimulatedClock with their due times, so a replay can fire exactly the next one. */
class ModelClock {
  readonly #clock = new SimulatedClock();
  readonly #due = new Map<number, number>();

  setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    const due = this.#clock.now() + timeout;
    const id = this.#clock.setTimeout(() => {
      this.#due.delete(id);
      fn();
    }, timeout) as number;
    this.#due.set(id, due);
    return id;
  }

  clearTimeout(id: number): void {
    this.#due.delete(id);
    this.#clock.clearTimeout(id);
  }

  get pending(): number {
    return this.#due.size;
  }

  /** Advances time to the earliest due timer; false when none is pending. */
  fireNext(): boolean {
    if (this.#due.size === 0) return false;
    this.#clock.set(Math.max(this.#clock.now(), Math.min(...this.#due.values())));
    return true;
  }
}

/**
 * One real actor of the machine driven by model steps. Every discrepancy is collected in `violations`
 * (with the step that revealed it) rather than thrown, so a suite can report all of them.
 */
export class Replay<TMachine extends AnyStateMachine> {
  readonly actor: Actor<TMachine>;
  /** Declared transitions the actor took, in order (from XState's own microstep inspection). */
  readonly taken: string[] = [];
  readonly violations: string[] = [];
  readonly #options: ReplayOptions<TMachine>;
  readonly #clock = new ModelClock();
  readonly #pending = new Map<string, Pending>();
  #where = "start";

  constructor(options: ReplayOptions<TMachine>) {
    this.#options = options;
    const actors = Object.fromEntries(options.actors.map((src) => [src, this.#controlled(src)]));
    const machine = options.machine.provide({ actors }) as TMachine;
    this.actor = createActor(machine, {
      input: options.input,
      clock: this.#clock,
      inspect: (inspection) => {
        if (inspection.type !== "@xstate.microstep") return;
        if (inspection.actorRef.sessionId !== inspection.rootId) return;
        this.taken.push(...inspection._transitions.map(transitionId));
      },
    });
    this.actor.start();
    this.checkStructure();
  }

  get snapshot(): AnyMachineSnapshot {
    return this.actor.getSnapshot() as AnyMachineSnapshot;
  }

  /** The abstract state the actor is in. */
  get state(): string {
    return this.#options.serializeState(this.snapshot);
  }

  /** Records a violation, naming where in the replay it happened. */
  violation(message: string): void {
    this.violations.push(this.locate(message));
  }

  /** `message` with where in the replay it applies (step, path goal, current state value). */
  locate(message: string): string {
    return `${message} (at ${this.#where}; now in ${JSON.stringify(this.snapshot.value)})`;
  }

  /** Takes one model step and checks the actor ended where, and by the transitions, the model says. */
  async step(step: ModelStep, where: string): Promise<void> {
    this.#where = where;
    const before = this.taken.length;
    await this.cause(step.event);
    const taken = this.taken.slice(before);
    if (this.state !== step.expect) {
      this.violation(`expected state ${step.expect} after ${step.event.type}, got ${this.state}`);
    }
    if (taken.join("\n") !== step.transitions.join("\n")) {
      this.violation(
        `expected transitions [${step.transitions.join("; ")}] for ${step.event.type}, took [${taken.join("; ")}]`,
      );
    }
    this.checkStructure();
  }

  /** Makes `event` happen the way it would in production: settle an actor, let a timer fire, or send it. */
  async cause(event: EventObject): Promise<void> {
    const invoked = invokedActorOf(event);
    if (invoked) {
      const pending = this.#pending.get(invoked.id);
      if (!pending) {
        this.violation(`${event.type}: the model expects actor '${invoked.id}' to be running; it is not`);
        return;
      }
      if (invoked.outcome === "done") {
        const output = (event as EventObject & { output?: unknown }).output;
        this.#options.onResolve?.(pending.call);
        pending.resolve(output);
      } else {
        pending.reject((event as EventObject & { error?: unknown }).error);
      }
    } else if (isDelayedEvent(event)) {
      await this.#fire(event.type);
    } else {
      this.actor.send(event as Parameters<Actor<TMachine>["send"]>[0]);
    }
    await settle();
  }

  /** Settles the running actor of source `src` (for hand-written scenarios); false when none runs. */
  async settleActor(src: string, outcome: { output: unknown } | { error: unknown }): Promise<boolean> {
    const pending = [...this.#pending.values()].find((candidate) => candidate.call.src === src);
    if (!pending) return false;
    const event =
      "output" in outcome
        ? { type: `xstate.done.actor.${pending.call.id}`, output: outcome.output }
        : { type: `xstate.error.actor.${pending.call.id}`, error: outcome.error };
    await this.cause(event);
    return true;
  }

  /** Actors the machine started that have not settled, by invoke id. */
  pendingActors(): InvokeCall[] {
    return [...this.#pending.values()].map((pending) => pending.call);
  }

  /** Settles running actors (per `policy`) and fires timers until the actor is done or nothing moves. */
  async drain(policy: DrainPolicy, where: string): Promise<void> {
    this.#where = where;
    const maxSteps = policy.maxSteps ?? 50;
    for (let i = 0; i < maxSteps && this.snapshot.status === "active"; i += 1) {
      const next = [...this.#pending.values()].find((pending) => policy.settle(pending.call.src) !== "hang");
      if (next) {
        const how = policy.settle(next.call.src);
        if (how === "hang") break;
        this.#options.onResolve?.(next.call);
        next.resolve(how.output);
      } else if (!this.#clock.fireNext()) {
        break;
      }
      await settle();
      this.checkStructure();
    }
  }

  /**
   * Checks what XState owns on the actor's behalf: every running child and pending timer belongs to a
   * state that is active now, and a finished actor holds neither.
   */
  checkStructure(): void {
    const snapshot = this.snapshot;
    const active = new Set(snapshot._nodes.map((node) => node.id));
    const invokedHere = new Set(snapshot._nodes.flatMap((node) => node.invoke.map((invoke) => invoke.id)));
    for (const id of this.#pending.keys()) {
      if (!invokedHere.has(id)) this.violation(`actor '${id}' still runs although its state was left`);
    }
    for (const id of Object.keys(snapshot.children)) {
      if (!this.#pending.has(id)) this.violation(`child '${id}' is not an actor this replay started`);
    }
    const timers = Object.values(this.actor.system.getSnapshot()._scheduledEvents);
    for (const timer of timers) {
      const match = /^xstate\.after\.[^.]+\.(.+)$/.exec(timer.event.type);
      if (match && !active.has(match[1]!)) {
        this.violation(`timer ${timer.event.type} is pending although its state was left`);
      }
    }
    if (this.#clock.pending !== timers.length) {
      this.violation(`the clock holds ${this.#clock.pending} timers but XState scheduled ${timers.length}`);
    }
    if (snapshot.status !== "active" && (this.#pending.size > 0 || timers.length > 0)) {
      this.violation(
        `the actor is ${snapshot.status} but still holds ${this.#pending.size} actors and ${timers.length} timers`,
      );
    }
  }

  /**
   * Stops the actor (end of a replay) and checks it left nothing behind: no actor still running, no timer
   * still pending on the clock. Returns every violation of the replay.
   */
  finish(): string[] {
    this.actor.stop();
    if (this.#pending.size > 0) {
      this.violation(`stopping the actor left ${[...this.#pending.keys()].join(", ")} running`);
    }
    if (this.#clock.pending > 0)
      this.violation(`stopping the actor left ${this.#clock.pending} timers pending`);
    return this.violations;
  }

  /** A promise actor that waits for the replay; it leaves the pending set when settled or aborted. */
  #controlled(src: string) {
    return fromPromise<unknown, unknown>(({ input, self, signal }) => {
      const call: InvokeCall = { src, id: self.id, input };
      this.#options.onInvoke?.(call, this.snapshot);
      const invokedBy = this.snapshot._nodes.find((node) =>
        node.invoke.some((invoke) => invoke.id === self.id),
      );
      if (!invokedBy) this.violation(`actor '${src}' (${self.id}) started outside the state that invokes it`);
      return new Promise((resolve, reject) => {
        const pending: Pending = {
          call,
          resolve: (value) => {
            this.#forget(self.id, pending);
            resolve(value);
          },
          reject: (error) => {
            this.#forget(self.id, pending);
            reject(error);
          },
        };
        this.#pending.set(self.id, pending);
        signal.addEventListener("abort", () => this.#forget(self.id, pending), { once: true });
      });
    });
  }

  #forget(id: string, pending: Pending): void {
    if (this.#pending.get(id) === pending) this.#pending.delete(id);
  }

  async #fire(type: string): Promise<void> {
    const scheduled = () =>
      Object.values(this.actor.system.getSnapshot()._scheduledEvents).some(
        (timer) => timer.event.type === type,
      );
    if (!scheduled()) {
      this.violation(`${type}: the model expects this timer to be pending; it is not`);
      return;
    }
    // Timers fire in due order; the model expects this one to be the next (any other firing first shows
    // up as a state or transition mismatch).
    while (scheduled() && this.#clock.fireNext()) await settle();
  }
}

/** Lets promise callbacks and the actor's reactions to them run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
