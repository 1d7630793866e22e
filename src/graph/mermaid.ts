// Renders a machine model as a Mermaid `stateDiagram-v2`, and as Markdown that GitHub renders.
import {
  activityLines,
  descendants,
  type MachineModel,
  rootTransitionLines,
  type StateModel,
  type TransitionModel,
  transitionLabel,
} from "./statechart-model.js";

/** Words Mermaid's state-diagram grammar reserves; a state named so gets a suffixed id. */
const RESERVED = new Set(["state", "note", "end", "as", "direction", "class", "classDef", "style", "click"]);

/**
 * The Mermaid `stateDiagram-v2` source for `model`: compound states as composite states, parallel
 * regions separated by `--`, transitions labelled `EVENT [guard] / actions`, final states to `[*]`.
 * What a state does while active (entry, invoke, transitions that stay) is its description, or a note
 * for composite states.
 */
export function toMermaid(model: MachineModel, header: string[] = []): string {
  const ids = mermaidIds(model.root);
  const idOf = (path: string[]): string => ids.get(pathKey(path)) ?? "[*]";
  const lines: string[] = [...header.map((line) => `%% ${line}`), "stateDiagram-v2"];

  // A transition is written inside the block of its states' common parent; one that crosses
  // levels goes at the top level after every state is declared, so Mermaid never invents a
  // state by meeting its id early inside the wrong block.
  // Regions of a parallel state are separate sections in Mermaid, so a transition between two
  // regions also goes at the top level.
  const parallel = new Set(
    [model.root, ...descendants(model.root)].filter((s) => s.kind === "parallel").map((s) => pathKey(s.path)),
  );
  const local = new Map<string, TransitionModel[]>();
  const crossing: Array<{ transition: TransitionModel; target: string[] }> = [];
  for (const transition of model.transitions) {
    if (transition.source.length === 0) continue; // drawn in the "in every state" note
    for (const target of transition.targets) {
      const sourceParent = pathKey(transition.source.slice(0, -1));
      if (sourceParent === pathKey(target.slice(0, -1)) && !parallel.has(sourceParent)) {
        const list = local.get(sourceParent) ?? [];
        list.push({ ...transition, targets: [target] });
        local.set(sourceParent, list);
      } else crossing.push({ transition, target });
    }
  }

  const writeBlock = (state: StateModel, depth: number): void => {
    const indent = "  ".repeat(depth);
    if (state.kind === "parallel") {
      state.children.forEach((region, index) => {
        if (index > 0) lines.push(`${indent}--`);
        writeState(region, depth);
      });
    } else {
      for (const child of state.children) writeState(child, depth);
    }
    for (const child of state.children) {
      const activity = activityLines(child);
      if (activity.length === 0) continue;
      if (child.children.length === 0) {
        for (const line of activity) lines.push(`${indent}${idOf(child.path)} : ${escapeLabel(line)}`);
      } else {
        lines.push(`${indent}note right of ${idOf(child.path)}`);
        for (const line of activity) lines.push(`${indent}  ${escapeLabel(line)}`);
        lines.push(`${indent}end note`);
      }
    }
    if (state.initial !== null) lines.push(`${indent}[*] --> ${idOf(state.initial)}`);
    for (const transition of local.get(pathKey(state.path)) ?? []) {
      const [target] = transition.targets;
      if (target === undefined) continue;
      lines.push(
        `${indent}${idOf(transition.source)} --> ${idOf(target)}: ${escapeLabel(transitionLabel(transition))}`,
      );
    }
    for (const child of state.children) {
      if (child.kind === "final") lines.push(`${indent}${idOf(child.path)} --> [*]`);
    }
  };

  const writeState = (state: StateModel, depth: number): void => {
    const indent = "  ".repeat(depth);
    const id = idOf(state.path);
    const labelled = `state "${escapeLabel(state.key)}" as ${id}`;
    if (state.children.length === 0) {
      // Mermaid shows a lone description instead of the state's name; declaring the name as the
      // label keeps it as the title above the descriptions.
      const bare = id === state.key && activityLines(state).length === 0;
      lines.push(`${indent}${bare ? id : labelled}`);
      return;
    }
    lines.push(`${indent}${id === state.key ? `state ${id}` : labelled} {`);
    writeBlock(state, depth + 1);
    lines.push(`${indent}}`);
  };

  writeBlock(model.root, 1);
  for (const { transition, target } of crossing) {
    lines.push(
      `  ${idOf(transition.source)} --> ${idOf(target)}: ${escapeLabel(transitionLabel(transition))}`,
    );
  }
  const everywhere = [...activityLines(model.root), ...rootTransitionLines(model)];
  if (everywhere.length > 0 && model.root.initial !== null) {
    lines.push(`  note left of ${idOf(model.root.initial)}`);
    lines.push("    in every state:");
    for (const line of everywhere) lines.push(`    ${escapeLabel(line)}`);
    lines.push("  end note");
  }
  return `${lines.join("\n")}\n`;
}

/** A Markdown page embedding the diagram in a ```mermaid block, which GitHub renders. */
export function toMermaidMarkdown(model: MachineModel, options: { title: string; intro: string[] }): string {
  return [
    `# ${options.title}`,
    "",
    ...options.intro,
    "",
    "```mermaid",
    toMermaid(model).trimEnd(),
    "```",
    "",
  ].join("\n");
}

/**
 * Mermaid ids are global across composite states, so nested states get their path as id. Ids are
 * handed out level by level, so top-level states keep their own names when a nested path clashes.
 */
function mermaidIds(root: StateModel): Map<string, string> {
  const ids = new Map<string, string>();
  const used = new Set<string>();
  const byLevel = descendants(root).sort((a, b) => a.path.length - b.path.length);
  for (const state of byLevel) {
    let base = state.path.join("_").replace(/[^A-Za-z0-9_]/g, "_");
    if (RESERVED.has(base)) base = `${base}_state`;
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
    used.add(id);
    ids.set(pathKey(state.path), id);
  }
  return ids;
}

function pathKey(path: string[]): string {
  return JSON.stringify(path);
}

/** Mermaid ends a statement at `;` and reads `#…;` as an entity, so both are written as entities. */
function escapeLabel(text: string): string {
  const entities: Record<string, string> = { "#": "#35;", ";": "#59;", '"': "#quot;", "\n": " " };
  return text.replace(/[#;"\n]/g, (char) => entities[char] ?? char);
}
