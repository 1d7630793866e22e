// Renders a machine model as Graphviz DOT: compound and parallel states become clusters, regions dashed.
import {
  activityLines,
  descendants,
  type MachineModel,
  rootTransitionLines,
  type StateModel,
  transitionLabel,
} from "./statechart-model.js";

const FONT = "Helvetica";

/**
 * The DOT source for `model`. Each compound state is a cluster holding its initial pseudo-state (a
 * dot); an edge to or from a compound state ends at the cluster's border (`compound=true`, `lhead`,
 * `ltail`). Final states have a double border.
 */
export function toDot(model: MachineModel, header: string[] = []): string {
  const byPath = new Map<string, StateModel>();
  for (const state of descendants(model.root)) byPath.set(pathKey(state.path), state);
  const stateAt = (path: string[]): StateModel | undefined => byPath.get(pathKey(path));

  const lines: string[] = [
    ...header.map((line) => `// ${line}`),
    `digraph ${quote(model.id)} {`,
    `  graph [compound=true, rankdir=LR, fontname=${quote(FONT)}, fontsize=12, nodesep=0.4, ranksep=0.5];`,
    `  node [shape=box, style=rounded, fontname=${quote(FONT)}, fontsize=11];`,
    `  edge [fontname=${quote(FONT)}, fontsize=9];`,
  ];

  const writeChildren = (state: StateModel, depth: number): void => {
    const indent = "  ".repeat(depth);
    if (state.initial !== null) {
      lines.push(`${indent}${quote(initialNode(state.path))} [shape=point, width=0.12, label=""];`);
      lines.push(`${indent}${quote(initialNode(state.path))} -> ${quote(nodeName(state.initial))};`);
    }
    for (const child of state.children) writeState(child, state.kind === "parallel", depth);
  };

  const writeState = (state: StateModel, isRegion: boolean, depth: number): void => {
    const indent = "  ".repeat(depth);
    const label = htmlLabel(state.key, activityLines(state));
    if (state.children.length === 0) {
      const final = state.kind === "final" ? ", peripheries=2" : "";
      lines.push(`${indent}${quote(nodeName(state.path))} [label=${label}${final}];`);
      return;
    }
    lines.push(`${indent}subgraph ${quote(clusterName(state.path))} {`);
    const style = isRegion ? "rounded,dashed" : "rounded";
    lines.push(`${indent}  graph [label=${label}, style=${quote(style)}, labeljust=l];`);
    writeChildren(state, depth + 1);
    lines.push(`${indent}}`);
  };

  writeChildren(model.root, 1);

  // Transitions between the same two states share one edge, one label line each: Graphviz lays
  // out parallel edges poorly, and a state's ways out read better as a list.
  const edges = new Map<string, { from: string; to: string; attributes: string[]; labels: string[] }>();
  for (const transition of model.transitions) {
    if (transition.source.length === 0) continue; // drawn in the "in every state" note
    for (const target of transition.targets) {
      const from = stateAt(transition.source);
      const to = stateAt(target);
      if (from === undefined || to === undefined) continue;
      const attributes: string[] = [];
      // An edge between a compound state and its own descendant stays inside the cluster.
      if (from.children.length > 0 && !isWithin(target, from.path)) {
        attributes.push(`ltail=${quote(clusterName(from.path))}`);
      }
      if (to.children.length > 0 && !isWithin(transition.source, to.path)) {
        attributes.push(`lhead=${quote(clusterName(to.path))}`);
      }
      const key = JSON.stringify([anchor(from), anchor(to), attributes]);
      const edge = edges.get(key) ?? { from: anchor(from), to: anchor(to), attributes, labels: [] };
      edge.labels.push(transitionLabel(transition));
      edges.set(key, edge);
    }
  }
  for (const edge of edges.values()) {
    const label = edge.labels.length === 1 ? quote(edge.labels[0] ?? "") : leftAligned(edge.labels);
    const attributes = [`label=${label}`, ...edge.attributes].join(", ");
    lines.push(`  ${quote(edge.from)} -> ${quote(edge.to)} [${attributes}];`);
  }

  const everywhere = [...activityLines(model.root), ...rootTransitionLines(model)];
  if (everywhere.length > 0) {
    lines.push(`  "[every state]" [shape=note, style="", label=${htmlLabel("in every state", everywhere)}];`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/** The node an edge to or from `state` attaches to: the state itself, or a node inside its cluster. */
function anchor(state: StateModel): string {
  if (state.children.length === 0) return nodeName(state.path);
  if (state.initial !== null) return initialNode(state.path);
  const [first] = state.children;
  return first === undefined ? nodeName(state.path) : anchor(first);
}

function isWithin(path: string[], ancestor: string[]): boolean {
  return path.length > ancestor.length && ancestor.every((key, index) => path[index] === key);
}

function nodeName(path: string[]): string {
  return path.join(".");
}

function initialNode(path: string[]): string {
  return `[*] ${path.join(".")}`.trimEnd();
}

function clusterName(path: string[]): string {
  return `cluster_${path.join(".")}`;
}

function pathKey(path: string[]): string {
  return JSON.stringify(path);
}

/** A DOT quoted string. */
function quote(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** A DOT string of several left-aligned lines. */
function leftAligned(lines: string[]): string {
  return `"${lines.map((line) => `${quote(line).slice(1, -1)}\\l`).join("")}"`;
}

/** The state's name in bold, then what it does while active in smaller type. */
function htmlLabel(title: string, lines: string[]): string {
  const rows = [`<b>${escapeHtml(title)}</b>`];
  for (const line of lines) rows.push(`<font point-size="9">${escapeHtml(line)}</font>`);
  return `<${rows.join('<br align="left"/>')}${lines.length > 0 ? '<br align="left"/>' : ""}>`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
