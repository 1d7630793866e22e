// Plans replayable paths that take every transition, or every feasible transition pair, of a model.
// Each path is a shortest route to where its goal starts, plus the edge(s) that realise the goal.
import { type MachineModel, type ModelEdge, type ModelPath, type ModelStep, pairsOf } from "./graph.js";
import { pairId } from "./transitions.js";

/** How many of `goals` a set of taken items covers, and which are missing. */
export interface Coverage {
  covered: number;
  total: number;
  missing: string[];
}

/** Counts the goals present in `taken`. */
export function coverageOf(goals: readonly string[], taken: ReadonlySet<string>): Coverage {
  const missing = goals.filter((goal) => !taken.has(goal));
  return { covered: goals.length - missing.length, total: goals.length, missing };
}

/** The transitions a path takes, in order. */
export function transitionsOf(path: ModelPath): string[] {
  return path.steps.flatMap((step) => step.transitions);
}

/**
 * Paths that, together, take every reachable declared transition. A transition no edge takes is
 * unreachable in the model; it is left out here and shows up as missing coverage.
 */
export function planTransitionPaths(model: MachineModel): ModelPath[] {
  const best = new Map<string, { edge: ModelEdge; cost: number }>();
  for (const edge of model.edges) {
    const cost = prefixLength(model, edge.from) + 1;
    for (const transition of edge.transitions) {
      const known = best.get(transition);
      if (!known || cost < known.cost) best.set(transition, { edge, cost });
    }
  }
  const covered = new Set<string>();
  const paths: ModelPath[] = [];
  for (const { id } of model.transitions) {
    const plan = best.get(id);
    if (!plan || covered.has(id)) continue;
    const path = { goal: id, steps: [...prefix(model, plan.edge.from), stepOf(plan.edge)] };
    for (const taken of transitionsOf(path)) covered.add(taken);
    paths.push(path);
  }
  return paths;
}

/** Paths that, together, take every feasible pair of consecutive transitions. */
export function planPairPaths(model: MachineModel): ModelPath[] {
  const incoming = new Map<string, ModelEdge[]>();
  for (const edge of model.edges) {
    if (edge.transitions.length > 0) incoming.set(edge.to, [...(incoming.get(edge.to) ?? []), edge]);
  }
  const best = new Map<string, { edges: ModelEdge[]; cost: number }>();
  const consider = (pair: string, edges: ModelEdge[]) => {
    const cost = prefixLength(model, edges[0]!.from) + edges.length;
    const known = best.get(pair);
    if (!known || cost < known.cost) best.set(pair, { edges, cost });
  };
  for (const edge of model.edges) {
    for (const pair of pairsOf(edge.transitions)) consider(pair, [edge]);
    const first = edge.transitions[0];
    if (first === undefined) continue;
    for (const before of incoming.get(edge.from) ?? [])
      consider(pairId(before.transitions.at(-1)!, first), [before, edge]);
  }
  const covered = new Set<string>();
  const paths: ModelPath[] = [];
  for (const pair of model.pairs) {
    const plan = best.get(pair);
    if (!plan || covered.has(pair)) continue;
    const path = { goal: pair, steps: [...prefix(model, plan.edges[0]!.from), ...plan.edges.map(stepOf)] };
    for (const taken of pairsOf(transitionsOf(path))) covered.add(taken);
    paths.push(path);
  }
  return paths;
}

/** The shortest path to every reachable abstract state, one per state. */
export function planStatePaths(model: MachineModel): ModelPath[] {
  return [...model.states.keys()].map((state) => ({ goal: state, steps: prefix(model, state) }));
}

function prefix(model: MachineModel, state: string): ModelStep[] {
  const steps = model.shortest.get(state);
  if (!steps) throw new Error(`model: no shortest path to ${state}`);
  return steps;
}

function prefixLength(model: MachineModel, state: string): number {
  return prefix(model, state).length;
}

function stepOf(edge: ModelEdge): ModelStep {
  return { event: edge.event, expect: edge.to, transitions: edge.transitions };
}
