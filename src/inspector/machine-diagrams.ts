// The statecharts the page draws: rendered once, on first request, from the running machine definitions.
import { machineDiagramSources } from "../graph/diagrams.js";
import { toDot } from "../graph/dot.js";
import { describeMachine } from "../graph/statechart-model.js";
import { createSvgRenderer } from "../graph/svg.js";

/** One machine's diagram as the page receives it. */
export interface MachineDiagram {
  /** The machine's id (`plugin`, `shell`): actors name it in their `machine` field. */
  id: string;
  title: string;
  /**
   * Graphviz SVG, the same drawing as visualizations/<name>.machine.svg. Each state is a `g.node` (or a
   * `g.cluster` for a compound state) whose `<title>` is its path: `running`, `booting.auth.done`,
   * `cluster_booting`; the page highlights active states by that title.
   */
  svg: string;
}

/**
 * Returns a function that renders every machine hangar ships to SVG the first time it is called (Graphviz
 * as WebAssembly from an installed package: no browser, no network) and returns the same result after.
 */
export function createMachineDiagrams(): () => Promise<MachineDiagram[]> {
  let rendered: Promise<MachineDiagram[]> | null = null;
  return () => {
    rendered ??= (async () => {
      const renderer = await createSvgRenderer();
      return machineDiagramSources.map((source) => ({
        id: source.machine.id,
        title: source.title,
        svg: renderer.render(toDot(describeMachine(source.machine))),
      }));
    })();
    // A failed render may succeed later (say, memory pressure): do not cache the failure.
    rendered.catch(() => {
      rendered = null;
    });
    return rendered;
  };
}

/** Ids of the machines {@link createMachineDiagrams} draws. */
export const diagramMachineIds: readonly string[] = machineDiagramSources.map((source) => source.machine.id);
