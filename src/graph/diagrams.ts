// Which machines hangar draws, and every diagram file generated from them, as contents in memory (no I/O).
import type { AnyStateMachine } from "xstate";
import { pluginMachine } from "../machines/plugin.machine.js";
import { shellMachine } from "../machines/shell.machine.js";
import { toDot } from "./dot.js";
import { toMermaid, toMermaidMarkdown } from "./mermaid.js";
import { describeMachine } from "./statechart-model.js";
import { createSvgRenderer } from "./svg.js";

/** What `hangar graph --format` accepts; `all` writes every format. */
export type DiagramFormat = "mermaid" | "dot" | "svg" | "all";

/** Every value of {@link DiagramFormat}, for argument validation. */
export const DIAGRAM_FORMATS: readonly DiagramFormat[] = ["mermaid", "dot", "svg", "all"];

/** The command that regenerates the committed diagrams; stale-check messages name it. */
export const REGENERATE_COMMAND = "npm run graph";

/** A machine to draw, and where its definition lives (named in each generated file's header). */
export interface MachineDiagramSource {
  /** Base of the file names: `<name>.machine.mmd`, `.md`, `.dot`, `.svg`. */
  name: string;
  title: string;
  /** Repository path of the definition, relative to the project root. */
  sourceFile: string;
  machine: AnyStateMachine;
}

/** The machines hangar ships, in the order their diagrams are listed. */
export const machineDiagramSources: readonly MachineDiagramSource[] = [
  {
    name: "plugin",
    title: "Plugin lifecycle",
    sourceFile: "src/machines/plugin.machine.ts",
    machine: pluginMachine,
  },
  {
    name: "shell",
    title: "Shell lifecycle",
    sourceFile: "src/machines/shell.machine.ts",
    machine: shellMachine,
  },
];

/**
 * Every file `format` produces for `sources`, as file name → contents, sorted by file name.
 * Output is deterministic (definition order, no timestamps, no tool versions), so a check can compare it.
 */
export async function renderDiagrams(
  format: DiagramFormat,
  sources: readonly MachineDiagramSource[] = machineDiagramSources,
): Promise<Map<string, string>> {
  if (!DIAGRAM_FORMATS.includes(format)) {
    throw new TypeError(
      `hangar graph: unknown format '${String(format)}'. Use one of: ${DIAGRAM_FORMATS.join(", ")}.`,
    );
  }
  const wants = (wanted: DiagramFormat): boolean => format === "all" || format === wanted;
  const svg = wants("svg") ? await createSvgRenderer() : null;
  const files: Array<[string, string]> = [];
  for (const source of sources) {
    const model = describeMachine(source.machine);
    const header = [
      `Generated from ${source.sourceFile} by \`${REGENERATE_COMMAND}\` (or \`npx hangar graph\`).`,
      "Do not edit by hand: `npm run graph:check` fails when this file is stale.",
    ];
    const base = `${source.name}.machine`;
    if (wants("mermaid")) {
      files.push([`${base}.mmd`, toMermaid(model, header)]);
      files.push([
        `${base}.md`,
        toMermaidMarkdown(model, {
          title: source.title,
          intro: [
            `The \`${model.id}\` statechart, drawn from [\`${source.sourceFile}\`](../${source.sourceFile}).`,
            "Transitions read `EVENT [guard] / actions`; `done: x` and `error: x` are the invoked actor `x`",
            "settling, `after x` is the delay `x` running out. Lines inside a state are what it does while",
            "active: entry actions, invoked actors, and events it handles without leaving.",
            `See also [${base}.svg](${base}.svg) (Graphviz) and [docs/diagrams.md](../docs/diagrams.md).`,
            "",
            `<!-- ${header.join(" ")} -->`,
          ],
        }),
      ]);
    }
    const dot = wants("dot") || svg !== null ? toDot(model, header) : "";
    if (wants("dot")) files.push([`${base}.dot`, dot]);
    if (svg !== null) files.push([`${base}.svg`, svg.render(toDot(model))]);
  }
  files.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return new Map(files);
}
