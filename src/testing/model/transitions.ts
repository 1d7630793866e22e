// Names every transition of a machine definition, so coverage can be counted against the definition itself.
// Pure: reads state nodes only; nothing here starts an actor or touches I/O.
import type { AnyStateMachine, AnyTransitionDefinition } from "xstate";
import { getStateNodes } from "xstate/graph";

/** One transition of a machine definition: a source state, an event type and a guard branch. */
export interface TransitionInfo {
  /** Stable name, e.g. `plugin.running —UPDATE[1]→ plugin.resuming`; self-loops end in `→ (self)`. */
  id: string;
  /** Id of the state node that declares the transition. */
  source: string;
  eventType: string;
  /** Index among the transitions of `source` for `eventType` (each guard branch is its own transition). */
  branch: number;
  /** Ids of the target state nodes; empty for a targetless transition (actions only). */
  targets: string[];
}

/** The stable name of a transition definition taken by a running actor or a pure `transition()` call. */
export function transitionId(transition: AnyTransitionDefinition): string {
  const source = transition.source;
  const branches = source.transitions.get(transition.eventType) ?? [];
  const branch = branches.indexOf(transition);
  if (branch < 0) {
    throw new Error(
      `model: transition '${transition.eventType}' of '${source.id}' is not declared by its source state node`,
    );
  }
  return formatId(source.id, transition.eventType, branch, targetsOf(transition));
}

/**
 * Every transition the definition declares, including invoke done/error and delayed (`after`)
 * transitions, root-level transitions and each guard branch separately.
 */
export function listTransitions(machine: AnyStateMachine): TransitionInfo[] {
  const list: TransitionInfo[] = [];
  for (const node of [machine.root, ...getStateNodes(machine.root)]) {
    for (const [eventType, branches] of node.transitions) {
      branches.forEach((transition, branch) => {
        const targets = targetsOf(transition);
        list.push({
          id: formatId(node.id, eventType, branch, targets),
          source: node.id,
          eventType,
          branch,
          targets,
        });
      });
    }
  }
  return list;
}

/** The transition pair `first` then `second`, as one name. */
export function pairId(first: string, second: string): string {
  return `${first}  ⇒  ${second}`;
}

function targetsOf(transition: AnyTransitionDefinition): string[] {
  return (transition.target ?? []).map((node) => node.id);
}

function formatId(source: string, eventType: string, branch: number, targets: string[]): string {
  const to = targets.length > 0 ? targets.join(",") : "(self)";
  return `${source} —${eventType}[${branch}]→ ${to}`;
}
