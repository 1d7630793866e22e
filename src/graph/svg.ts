// Renders DOT to SVG offline with Graphviz compiled to WebAssembly (@viz-js/viz): no browser, no binary.
// Imported on first use: Graphviz's WASM bundle is large, and only the diagrams command and inspector need it.
import type { Viz } from "@viz-js/viz";
import { createError } from "../errors.js";

/** Renders DOT sources to SVG; create one with {@link createSvgRenderer} and reuse it. */
export interface SvgRenderer {
  /** The SVG for `dot`, starting at `<svg` (no XML prolog or version comment, so output is stable). */
  render(dot: string): string;
}

/** Loads Graphviz (WASM, shipped inside the npm package) once and returns a renderer. */
export async function createSvgRenderer(): Promise<SvgRenderer> {
  const { instance } = await import("@viz-js/viz");
  const viz: Viz = await instance();
  return {
    render(dot: string): string {
      const result = viz.render(dot, { format: "svg", engine: "dot" });
      if (result.status !== "success") {
        const messages = result.errors.map((error) => error.message).join("; ");
        throw createError("HANGAR_INTERNAL", "graphviz", { messages });
      }
      const start = result.output.indexOf("<svg");
      return start === -1 ? result.output : result.output.slice(start);
    },
  };
}
