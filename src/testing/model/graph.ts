// Builds a finite model of a machine with xstate/graph: its reachable abstract states, the events between
// them, and which declared transitions (and transition pairs) each event takes. Pure: no actor is started.
import {
  type AnyActorScope,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  createActor,
  type EventObject,
  type InputFrom,
} from "xstate";
import { type AdjacencyValue, getAdjacencyMap, getShortestPaths, type SerializedEvent } from "xstate/graph";
import { listTransitions, pairId, type TransitionInfo, transitionId } from "./transitions.js";

/** What an invoked actor may do in the model: resolve with one of `outputs` or reject with one of `errors`. */
export interface ActorOutcomes {
  outputs: readonly unknown[];
  errors: readonly unknown[];
}

/** How to explore a machine. */
export interface ModelSpec<TMachine extends AnyStateMachine> {
  machine: TMachine;
  input: InputFrom<TMachine>;
  /**
   * Names an abstract state: the state value plus every context field a guard reads. Two snapshots with
   * the same name must accept the same events the same way, or pair feasibility is not exact.
   */
  serializeState(snapshot: AnyMachineSnapshot): string;
  /** Events from outside the machine that may arrive in `snapshot` (handled or not). */
  userEvents(snapshot: AnyMachineSnapshot): readonly EventObject[];
  /** Outcomes per actor source name (the `src` of an invoke). */
  outcomes: Readonly<Record<string, ActorOutcomes>>;
}

/** One event between two abstract states, with the declared transitions it takes, in order. */
export interface ModelEdge {
  from: string;
  to: string;
  event: EventObject;
  transitions: string[];
}

/** One step of a path: the event to cause and the abstract state expected afterwards. */
export interface ModelStep {
  event: EventObject;
  expect: string;
  transitions: string[];
}

/** A replayable path from the initial state. */
export interface ModelPath {
  /** Why the path exists (the transition or pair it was planned for). */
  goal: string;
  steps: ModelStep[];
}

/** The explored model of one machine. */
export interface MachineModel {
  initial: string;
  /** Reachable abstract states by name. */
  states: Map<string, AnyMachineSnapshot>;
  edges: ModelEdge[];
  /** Every declared transition, reachable or not. */
  transitions: TransitionInfo[];
  /** Every pair of transitions that can occur one right after the other. */
  pairs: string[];
  /** The shortest path from the initial state to each reachable abstract state. */
  shortest: Map<string, ModelStep[]>;
  outgoing(state: string): ModelEdge[];
}

type Adjacent = AdjacencyValue<AnyMachineSnapshot, EventObject>["transitions"][SerializedEvent];

/** Prefix of the events an invoked actor sends its parent (XState v5). */
const DONE_ACTOR = "xstate.done.actor.";
const ERROR_ACTOR = "xstate.error.actor.";

/** What the model can make happen in `snapshot`: user events, each invoked actor's outcomes, each delay. */
export function modelEvents<TMachine extends AnyStateMachine>(
  spec: ModelSpec<TMachine>,
  snapshot: AnyMachineSnapshot,
): EventObject[] {
  if (snapshot.status !== "active") return [];
  const events: EventObject[] = [...spec.userEvents(snapshot)];
  for (const node of snapshot._nodes) {
    for (const invoke of node.invoke) {
      if (!(invoke.id in snapshot.children)) continue;
      const src = typeof invoke.src === "string" ? invoke.src : invoke.id;
      const outcomes = spec.outcomes[src];
      if (!outcomes) {
        throw new Error(`model: no outcomes for actor '${src}' invoked by '${node.id}'; add it to the spec`);
      }
      for (const output of outcomes.outputs)
        events.push({ type: `${DONE_ACTOR}${invoke.id}`, output } as EventObject);
      for (const error of outcomes.errors)
        events.push({ type: `${ERROR_ACTOR}${invoke.id}`, error } as EventObject);
    }
    for (const delayed of node.after) events.push({ type: delayed.eventType });
  }
  return events;
}

/** The invoke id a done/error event names, or null for any other event. */
export function invokedActorOf(event: EventObject): { id: string; outcome: "done" | "error" } | null {
  if (event.type.startsWith(DONE_ACTOR)) return { id: event.type.slice(DONE_ACTOR.length), outcome: "done" };
  if (event.type.startsWith(ERROR_ACTOR))
    return { id: event.type.slice(ERROR_ACTOR.length), outcome: "error" };
  return null;
}

/** Whether `event` is a delayed (`after`) event. */
export function isDelayedEvent(event: EventObject): boolean {
  return event.type.startsWith("xstate.after.");
}

/** Explores the machine with `getAdjacencyMap`, labels every edge with its transitions and derives the pairs. */
export function buildModel<TMachine extends AnyStateMachine>(spec: ModelSpec<TMachine>): MachineModel {
  const { input } = spec;
  // xstate/graph's option types are keyed on the concrete machine; the traversal here is generic.
  const machine: AnyStateMachine = spec.machine;
  const traversal = {
    input,
    serializeState: (snapshot: AnyMachineSnapshot) => spec.serializeState(snapshot),
    events: (snapshot: AnyMachineSnapshot) => modelEvents(spec, snapshot),
  };
  const adjacency = getAdjacencyMap(machine, traversal);
  const label = transitionLabeler(machine, input);

  const states = new Map<string, AnyMachineSnapshot>();
  const edges: ModelEdge[] = [];
  const byEvent = new Map<string, ModelEdge>();
  const outgoing = new Map<string, ModelEdge[]>();
  for (const [from, { state, transitions }] of Object.entries(adjacency)) {
    states.set(from, state);
    for (const { event, state: next } of Object.values(transitions) as Adjacent[]) {
      const taken = label(state, event);
      const to = spec.serializeState(next);
      if (spec.serializeState(taken.next) !== to) {
        throw new Error(`model: replaying ${event.type} from ${from} with a probe gave a different state`);
      }
      if (taken.transitions.length === 0 && to !== from) {
        throw new Error(`model: ${event.type} from ${from} changed state without a declared transition`);
      }
      const edge: ModelEdge = { from, to, event, transitions: taken.transitions };
      edges.push(edge);
      byEvent.set(edgeKey(from, event), edge);
      outgoing.set(from, [...(outgoing.get(from) ?? []), edge]);
    }
  }

  const initial = spec.serializeState(machine.getInitialSnapshot(label.scope, input));
  const shortest = new Map<string, ModelStep[]>();
  for (const path of getShortestPaths(machine, traversal)) {
    const steps: ModelStep[] = [];
    let at = initial;
    // getShortestPaths' first step is the initial snapshot under `xstate.init`; the rest are real events.
    for (const step of path.steps.slice(1)) {
      const edge = byEvent.get(edgeKey(at, step.event));
      if (!edge) throw new Error(`model: shortest path step ${step.event.type} from ${at} is not an edge`);
      steps.push({ event: edge.event, expect: edge.to, transitions: edge.transitions });
      at = edge.to;
    }
    shortest.set(spec.serializeState(path.state), steps);
  }

  return {
    initial,
    states,
    edges,
    transitions: listTransitions(machine),
    pairs: feasiblePairs(edges),
    shortest,
    outgoing: (state) => outgoing.get(state) ?? [],
  };
}

/** The consecutive pairs in a sequence of transitions. */
export function pairsOf(transitions: readonly string[]): string[] {
  const pairs: string[] = [];
  for (let i = 1; i < transitions.length; i += 1) pairs.push(pairId(transitions[i - 1]!, transitions[i]!));
  return pairs;
}

/**
 * A pair is feasible when one edge takes both, or an edge whose last transition is `a` enters a state
 * that has an edge whose first transition is `b`. Events that take no transition leave the state as it
 * is, so they never separate a pair.
 */
function feasiblePairs(edges: readonly ModelEdge[]): string[] {
  const pairs = new Set<string>();
  const firsts = new Map<string, Set<string>>();
  for (const edge of edges) {
    for (const pair of pairsOf(edge.transitions)) pairs.add(pair);
    const first = edge.transitions[0];
    if (first !== undefined) firsts.set(edge.from, (firsts.get(edge.from) ?? new Set()).add(first));
  }
  for (const edge of edges) {
    const last = edge.transitions.at(-1);
    if (last === undefined) continue;
    for (const next of firsts.get(edge.to) ?? []) pairs.add(pairId(last, next));
  }
  return [...pairs].sort();
}

function edgeKey(from: string, event: EventObject): string {
  return `${from}\u0000${JSON.stringify(event)}`;
}

/**
 * Runs `machine.transition` with a scope whose system reports microsteps, to learn which declared
 * transitions an event takes. Actions are not executed and no actor starts.
 */
function transitionLabeler(machine: AnyStateMachine, input: unknown) {
  let taken: string[] = [];
  const probe = createActor(machine, {
    input,
    inspect: (inspection) => {
      if (inspection.type === "@xstate.microstep") taken.push(...inspection._transitions.map(transitionId));
    },
  });
  const scope: AnyActorScope = {
    self: probe,
    id: probe.id,
    sessionId: probe.sessionId,
    logger: () => {},
    defer: () => {},
    system: probe.system,
    stopChild: () => {},
    emit: () => {},
    actionExecutor: () => {},
  };
  const label = (snapshot: AnyMachineSnapshot, event: EventObject) => {
    taken = [];
    const next = machine.transition(snapshot, event, scope) as AnyMachineSnapshot;
    return { next, transitions: taken };
  };
  return Object.assign(label, { scope });
}
