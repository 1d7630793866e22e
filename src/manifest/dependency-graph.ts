// Static checks of the dependsOn graph: missing dependencies and cycles. Pure, so the shell and `hangar validate` share it.
import { errorMessage } from "../errors.js";

/** One plugin as the dependency analysis sees it. */
export interface DependencyNode {
  id: string;
  dependsOn?: readonly string[] | undefined;
}

/** Why a plugin cannot be started because of its dependsOn. */
export interface DependencyProblem {
  code: "HANGAR_DEPENDENCY_MISSING" | "HANGAR_DEPENDENCY_CYCLE";
  /** Names the plugin, the dependency (or the cycle, as `a → b → a`) and the fix. */
  message: string;
}

/**
 * Finds the plugins that can never start because of dependsOn: those naming an id that is not among
 * `nodes` (`HANGAR_DEPENDENCY_MISSING`), those on a cycle, and those depending, directly or through others,
 * on a plugin on a cycle (both `HANGAR_DEPENDENCY_CYCLE`: waiting for a cycle would never end). A plugin
 * depending on one with a missing dependency is not reported here: that one errors at runtime, and its
 * dependents then fail with `HANGAR_DEPENDENCY_FAILED`.
 *
 * Pass only plugins that can run (with a background module). Plugins without problems are absent from the
 * result. Runs in linear time; long routes are shortened with `…` in messages.
 */
export function analyseDependencies(nodes: readonly DependencyNode[]): Map<string, DependencyProblem> {
  const edges = new Map<string, readonly string[]>();
  for (const node of nodes) if (!edges.has(node.id)) edges.set(node.id, node.dependsOn ?? []);
  const problems = new Map<string, DependencyProblem>();

  const cycles = findCycles(edges);
  for (const [id, { cycle, groupSize }] of cycles) {
    const route = formatRoute(cycle);
    const message =
      cycle[0] === id
        ? errorMessage("HANGAR_DEPENDENCY_CYCLE", "own", { pluginId: id, route })
        : errorMessage("HANGAR_DEPENDENCY_CYCLE", "tangle", { pluginId: id, count: groupSize, route });
    problems.set(id, { code: "HANGAR_DEPENDENCY_CYCLE", message });
  }

  for (const [id, dependsOn] of edges) {
    if (problems.has(id)) continue;
    const missing = dependsOn.filter((dependency) => !edges.has(dependency));
    if (missing.length === 0) continue;
    const names = missing.map((dependency) => `'${dependency}'`).join(", ");
    problems.set(id, {
      code: "HANGAR_DEPENDENCY_MISSING",
      message: errorMessage("HANGAR_DEPENDENCY_MISSING", missing.length === 1 ? "one" : "many", {
        pluginId: id,
        names,
      }),
    });
  }

  const towardCycle = stepsTowardCycles(edges, cycles);
  for (const [id, step] of towardCycle) {
    if (problems.has(id)) continue;
    // Only the first hops are spelled out, so a long chain of dependents does not make messages quadratic.
    const route = [id];
    let hop: StepTowardCycle | undefined = step;
    while (hop !== undefined && route.length < 4) {
      route.push(hop.next);
      hop = towardCycle.get(hop.next);
    }
    const shown = route[route.length - 1] === step.reached ? route : [...route, "…", step.reached];
    problems.set(id, {
      code: "HANGAR_DEPENDENCY_CYCLE",
      message: errorMessage("HANGAR_DEPENDENCY_CYCLE", "towardCycle", {
        pluginId: id,
        reached: step.reached,
        path: shown.join(" → "),
        route: formatRoute(cycles.get(step.reached)!.cycle),
      }),
    });
  }
  // In the order the plugins were given, so that reports read in a stable, familiar order.
  return new Map(
    [...edges.keys()].flatMap((id) => (problems.has(id) ? [[id, problems.get(id)!] as const] : [])),
  );
}

/** A cycle through (or, in a large tangle, near) one plugin. */
interface CycleInfo {
  /** `[a, b, a]`; starts with the plugin itself unless its group is large. */
  cycle: readonly string[];
  /** How many plugins are tangled together in this strongly connected component. */
  groupSize: number;
}

// Above this many plugins in one tangle, every member is shown the same cycle rather than its own, which
// would take one search per member: quadratic, and unreadable anyway.
const OWN_CYCLE_LIMIT = 64;

/**
 * Every id that lies on a cycle. Uses Tarjan's strongly connected components: an id is on a cycle when its
 * component has more than one member or it depends on itself. Iterative, so that a long dependsOn chain
 * (benchmarks run thousands of plugins) cannot overflow the stack.
 */
function findCycles(edges: ReadonlyMap<string, readonly string[]>): Map<string, CycleInfo> {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles = new Map<string, CycleInfo>();
  let counter = 0;

  const closeComponent = (root: string): void => {
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== root);
    if (component.length === 1 && !(edges.get(root) ?? []).includes(root)) return;
    const members = new Set(component);
    const groupSize = component.length;
    if (groupSize > OWN_CYCLE_LIMIT) {
      const cycle = shortestCycle(root, edges, members);
      for (const id of component) cycles.set(id, { cycle, groupSize });
      return;
    }
    for (const id of component) cycles.set(id, { cycle: shortestCycle(id, edges, members), groupSize });
  };

  const visit = (start: string): void => {
    const frames: { id: string; next: number }[] = [];
    const enter = (id: string): void => {
      index.set(id, counter);
      lowLink.set(id, counter);
      counter++;
      stack.push(id);
      onStack.add(id);
      frames.push({ id, next: 0 });
    };
    enter(start);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const dependsOn = edges.get(frame.id) ?? [];
      if (frame.next < dependsOn.length) {
        const next = dependsOn[frame.next++]!;
        if (!edges.has(next)) continue;
        if (!index.has(next)) enter(next);
        else if (onStack.has(next)) lowLink.set(frame.id, Math.min(lowLink.get(frame.id)!, index.get(next)!));
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent !== undefined) {
        lowLink.set(parent.id, Math.min(lowLink.get(parent.id)!, lowLink.get(frame.id)!));
      }
      if (lowLink.get(frame.id) === index.get(frame.id)) closeComponent(frame.id);
    }
  };

  for (const id of edges.keys()) if (!index.has(id)) visit(id);
  return cycles;
}

/** The shortest walk `start → … → start` inside one strongly connected component (breadth-first). */
function shortestCycle(
  start: string,
  edges: ReadonlyMap<string, readonly string[]>,
  members: ReadonlySet<string>,
): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head]!;
    for (const next of edges.get(id) ?? []) {
      if (!members.has(next)) continue;
      if (next === start) {
        const route = [id];
        while (route[0] !== start) route.unshift(previous.get(route[0]!)!);
        return [...route, start];
      }
      if (previous.has(next)) continue;
      previous.set(next, id);
      queue.push(next);
    }
  }
  return [start, start]; // unreachable: every member of a component lies on a cycle
}

/** A plugin's first step on a shortest route to a plugin on a cycle, and where that route ends. */
interface StepTowardCycle {
  next: string;
  reached: string;
}

/**
 * For every plugin not on a cycle that depends, directly or not, on one that is: its next step on a
 * shortest route there. One breadth-first search from all cycle members along reversed edges.
 */
function stepsTowardCycles(
  edges: ReadonlyMap<string, readonly string[]>,
  cycles: ReadonlyMap<string, CycleInfo>,
): Map<string, StepTowardCycle> {
  const dependents = new Map<string, string[]>();
  for (const [id, dependsOn] of edges) {
    for (const dependency of dependsOn) {
      const list = dependents.get(dependency);
      if (list === undefined) dependents.set(dependency, [id]);
      else list.push(id);
    }
  }
  const steps = new Map<string, StepTowardCycle>();
  const queue = [...cycles.keys()];
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head]!;
    const reached = steps.get(id)?.reached ?? id;
    for (const dependent of dependents.get(id) ?? []) {
      if (cycles.has(dependent) || steps.has(dependent)) continue;
      steps.set(dependent, { next: id, reached });
      queue.push(dependent);
    }
  }
  return steps;
}

/** `a → b → c`, with the middle of a long route elided so messages stay readable. */
function formatRoute(route: readonly string[]): string {
  if (route.length <= 8) return route.join(" → ");
  const hidden = route.length - 6;
  return [...route.slice(0, 4), `… ${hidden} more …`, ...route.slice(-2)].join(" → ");
}
