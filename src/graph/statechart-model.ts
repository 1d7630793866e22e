// Walks an XState v5 machine definition (`machine.root`) into a plain, ordered model that every diagram format draws from.
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from "xstate";

/** The kind of a state node, as XState names it. */
export type StateKind = "atomic" | "compound" | "parallel" | "final" | "history";

/** One transition with readable parts: `EVENT [guard] / actions`. */
export interface TransitionModel {
  /** Path of the state that declares the transition (`[]` is the machine's root). */
  source: string[];
  /** Paths of the target states; empty for a transition that stays in its state. */
  targets: string[][];
  /** The event, readable: `START`, `done: loadPlugin`, `error: runOnStart`, `after startTimeout`, `always`, `onDone`. */
  event: string;
  /** The guard's name, `not(x)` etc. for combinators, `inline` for an anonymous function; null when unguarded. */
  guard: string | null;
  /** Names of the actions run by the transition, in order. */
  actions: string[];
  /** True when the transition exits and re-enters its target (`reenter: true`). */
  reenter: boolean;
}

/** One state node and everything drawn inside or beside it. */
export interface StateModel {
  key: string;
  /** Keys from the root down; `[]` is the root. */
  path: string[];
  kind: StateKind;
  /** Path of the initial child of a compound state; null otherwise. */
  initial: string[] | null;
  children: StateModel[];
  entry: string[];
  exit: string[];
  /** Sources of the actors the state invokes. */
  invokes: string[];
  /** Transitions without a target: they run actions (or nothing) and stay in this state. */
  stays: TransitionModel[];
}

/** A machine as plain data, in definition order, so every rendering of it is deterministic. */
export interface MachineModel {
  id: string;
  root: StateModel;
  /** Every transition with a target, in document order of their source states. */
  transitions: TransitionModel[];
}

/** Builds the model of `machine` by walking its state-node tree. */
export function describeMachine(machine: AnyStateMachine): MachineModel {
  const transitions: TransitionModel[] = [];
  const root = describeState(machine.root, transitions);
  return { id: machine.root.id, root, transitions };
}

function describeState(node: AnyStateNode, transitions: TransitionModel[]): StateModel {
  const stays: TransitionModel[] = [];
  for (const transition of ownTransitions(node)) {
    if (transition.targets.length === 0) stays.push(transition);
    else transitions.push(transition);
  }
  const children = Object.values(node.states as Record<string, AnyStateNode>).map((child) =>
    describeState(child, transitions),
  );
  const kind = node.type as StateKind;
  return {
    key: node.key,
    path: [...node.path],
    kind,
    initial: kind === "compound" ? [...(node.initial.target[0]?.path ?? [])] : null,
    children,
    entry: node.entry.map(actionLabel).filter(isShown),
    exit: node.exit.map(actionLabel).filter(isShown),
    invokes: node.invoke.map((definition) => labelOfSource(definition.src)),
    stays,
  };
}

/** The node's transitions in definition order: `on`, `after`, invoke `onDone`/`onError`, `onDone`, then `always`. */
function ownTransitions(node: AnyStateNode): TransitionModel[] {
  const invokeSources = new Map<string, string>();
  for (const definition of node.invoke) invokeSources.set(definition.id, labelOfSource(definition.src));
  const all: AnyTransitionDefinition[] = [...node.transitions.values()].flat();
  if (node.always) all.push(...node.always);
  return all.map((transition) => ({
    source: [...node.path],
    targets: (transition.target ?? []).map((target: AnyStateNode) => [...target.path]),
    event: eventLabel(node, transition, invokeSources),
    guard: transition.guard === undefined ? null : guardLabel(transition.guard),
    actions: transition.actions.map(actionLabel).filter(isShown),
    reenter: transition.reenter,
  }));
}

function eventLabel(
  node: AnyStateNode,
  transition: AnyTransitionDefinition,
  invokeSources: Map<string, string>,
): string {
  const type = String(transition.eventType);
  const delay = (transition as { delay?: unknown }).delay;
  if (delay !== undefined) return typeof delay === "number" ? `after ${delay} ms` : `after ${String(delay)}`;
  if (type === "") return "always";
  const doneActor = "xstate.done.actor.";
  const errorActor = "xstate.error.actor.";
  if (type.startsWith(doneActor))
    return `done: ${invokeSources.get(type.slice(doneActor.length)) ?? "actor"}`;
  if (type.startsWith(errorActor))
    return `error: ${invokeSources.get(type.slice(errorActor.length)) ?? "actor"}`;
  if (type === `xstate.done.state.${node.id}`) return "onDone";
  return type;
}

function labelOfSource(src: unknown): string {
  if (typeof src === "string") return src;
  const id = (src as { id?: unknown } | null)?.id;
  return typeof id === "string" ? id : "inline";
}

/** Names a guard: a string, `{ type }`, a combinator (`and`/`or`/`not`), or `inline` for an anonymous function. */
function guardLabel(guard: unknown): string {
  if (typeof guard === "string") return guard;
  if (typeof guard === "function") {
    const inner = (guard as { guards?: unknown }).guards;
    if (Array.isArray(inner) && ["and", "or", "not"].includes(guard.name)) {
      return `${guard.name}(${inner.map(guardLabel).join(", ")})`;
    }
    if (guard.name === "stateIn") {
      // `stateIn("#plugin.active.stopping.toRestart")` reads as `in toRestart`.
      const value = (guard as { stateValue?: unknown }).stateValue;
      return typeof value === "string" ? `in ${value.split(".").at(-1)}` : "stateIn";
    }
    return "inline";
  }
  const type = (guard as { type?: unknown } | null)?.type;
  return typeof type === "string" ? type : "inline";
}

/** Actions XState adds for itself (scheduling and cancelling `after` events) are not drawn. */
const HIDDEN = "";

function actionLabel(action: unknown): string {
  if (typeof action === "string") return action;
  if (typeof action === "function") {
    const builtIn = action as { type?: unknown; id?: unknown; sendId?: unknown; assignment?: unknown };
    if (typeof builtIn.type === "string" && builtIn.type.startsWith("xstate.")) {
      const scheduled = typeof builtIn.id === "string" ? builtIn.id : builtIn.sendId;
      if (typeof scheduled === "string" && scheduled.startsWith("xstate.after.")) return HIDDEN;
      const name = builtIn.type.slice("xstate.".length);
      // `assign({ afterStop: "reload" })` reads better as `assign(afterStop)` than as a bare `assign`.
      if (name === "assign" && typeof builtIn.assignment === "object" && builtIn.assignment !== null) {
        return `assign(${Object.keys(builtIn.assignment).join(", ")})`;
      }
      return name;
    }
    return "inline";
  }
  const type = (action as { type?: unknown } | null)?.type;
  return typeof type === "string" ? type : "inline";
}

function isShown(label: string): boolean {
  return label !== HIDDEN;
}

/** `EVENT [guard] / action, action`: the label every format puts on a transition. */
export function transitionLabel(transition: TransitionModel): string {
  const guard = transition.guard === null ? "" : ` [${transition.guard}]`;
  const actions = transition.actions.length === 0 ? "" : ` / ${transition.actions.join(", ")}`;
  return `${transition.event}${guard}${actions}`;
}

/** What a state does while active, one line each: `entry / x`, `invoke x`, `exit / x`, then its staying transitions. */
export function activityLines(state: StateModel): string[] {
  return [
    ...state.entry.map((action) => `entry / ${action}`),
    ...state.invokes.map((src) => `invoke ${src}`),
    ...state.exit.map((action) => `exit / ${action}`),
    ...state.stays.map(transitionLabel),
  ];
}

/** Transitions declared on the root leave every state: one line each, `EVENT -> target`. */
export function rootTransitionLines(model: MachineModel): string[] {
  return model.transitions
    .filter((transition) => transition.source.length === 0)
    .map(
      (transition) =>
        `${transitionLabel(transition)} -> ${transition.targets.map((t) => t.join(".")).join(", ")}`,
    );
}

/** Every state below `state`, depth first, in definition order. */
export function descendants(state: StateModel): StateModel[] {
  return state.children.flatMap((child) => [child, ...descendants(child)]);
}
