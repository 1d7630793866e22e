// The statechart of the selected actor: the Graphviz drawing of its machine (served by the shell, rendered
// from the machine definition) with the states it is in highlighted, and its last transition spelled out.
import { clock, h, replaceChildren } from "../dom.js";
import { type ActorView, activePaths, type SessionModel, stateText } from "../session.js";

/** A machine's drawing, as /_hangar/inspect/api/machines serves it. */
export interface MachineDiagram {
  id: string;
  title: string;
  svg: string;
}

/** Keeps one parsed drawing per machine, so following an actor only toggles classes. */
export class StatechartView {
  readonly #container: HTMLElement;
  readonly #caption: HTMLElement;
  readonly #drawings = new Map<string, SVGSVGElement>();
  #diagrams = new Map<string, MachineDiagram>();
  /** What was last brought into view, so the view scrolls when the state changes, not on every render. */
  #focused = "";

  constructor(container: HTMLElement, caption: HTMLElement) {
    this.#container = container;
    this.#caption = caption;
  }

  /** Sets the drawings (once they have loaded). */
  setDiagrams(diagrams: readonly MachineDiagram[]): void {
    this.#diagrams = new Map(diagrams.map((diagram) => [diagram.id, diagram]));
    this.#drawings.clear();
  }

  /** Shows `actor`'s machine with its active states highlighted; `null` clears the view. */
  render(actor: ActorView | null, model: SessionModel): void {
    if (!actor) {
      this.#show(null, "Select an actor in the tree to see its statechart.");
      replaceChildren(this.#caption);
      return;
    }
    const machine = actor.info.machine;
    if (machine === null) {
      this.#show(null, `${actor.info.id} runs ${actor.info.src ?? "a promise"}, which has no statechart.`);
      replaceChildren(this.#caption);
      return;
    }
    const drawing = this.#drawing(machine);
    if (!drawing) {
      this.#show(
        null,
        this.#diagrams.size === 0 ? "Loading the statecharts…" : `No drawing of machine '${machine}'.`,
      );
    } else {
      const paths = activePaths(actor.snapshot?.value);
      const active = new Set(paths);
      drawing.querySelectorAll<SVGGElement>("g[data-path]").forEach((group) => {
        group.classList.toggle("active", active.has(group.dataset.path ?? ""));
      });
      drawing.dataset.actor = actor.info.id;
      this.#show(drawing, null);
      const focus = `${actor.info.key} ${paths.join(" ")}`;
      if (focus !== this.#focused) {
        this.#focused = focus;
        this.#bringIntoView(drawing, paths[paths.length - 1]);
      }
    }
    const last = actor.lastTransition;
    replaceChildren(
      this.#caption,
      h(
        "span",
        { class: "state-text", "data-value": stateText(actor.snapshot?.value) },
        stateText(actor.snapshot?.value) || "—",
      ),
      last &&
        h(
          "span",
          { class: "last-transition" },
          ` · last transition ${last.source || "(root)"} → ${last.targets.join(", ") || "(stays)"} on ${model.labelOf(last.event, actor.info.key)} at ${clock(last.at)}`,
        ),
    );
  }

  /** Scrolls the panel (not the page) so the innermost active state is in the middle. */
  #bringIntoView(drawing: SVGSVGElement, path: string | undefined): void {
    const group =
      path === undefined ? null : drawing.querySelector<SVGGElement>(`g[data-path="${CSS.escape(path)}"]`);
    if (!group) return;
    const box = group.getBoundingClientRect();
    const panel = this.#container.getBoundingClientRect();
    this.#container.scrollLeft += box.left + box.width / 2 - (panel.left + panel.width / 2);
    this.#container.scrollTop += box.top + box.height / 2 - (panel.top + panel.height / 2);
  }

  #show(drawing: SVGSVGElement | null, message: string | null): void {
    const current = this.#container.firstElementChild;
    if (drawing && current === drawing) return;
    if (drawing) replaceChildren(this.#container, drawing);
    else replaceChildren(this.#container, h("p", { class: "empty" }, message ?? ""));
  }

  #drawing(machine: string): SVGSVGElement | null {
    const cached = this.#drawings.get(machine);
    if (cached) return cached;
    const diagram = this.#diagrams.get(machine);
    if (!diagram) return null;
    const parsed = new DOMParser().parseFromString(diagram.svg, "image/svg+xml");
    const root = parsed.documentElement;
    if (!(root instanceof SVGSVGElement)) return null;
    const drawing = document.importNode(root, true);
    // Three quarters of Graphviz's size reads well; "fit" (CSS) scales it to the panel instead.
    const box = drawing.viewBox.baseVal;
    if (box && box.width > 0) {
      drawing.setAttribute("width", String(Math.round(box.width * 0.75)));
      drawing.setAttribute("height", String(Math.round(box.height * 0.75)));
    }
    drawing.classList.add("statechart");
    drawing.dataset.machine = machine;
    drawing.setAttribute("role", "img");
    drawing.setAttribute("aria-label", `${diagram.title} statechart`);
    // Graphviz titles each state's group with its path (`cluster_` for compound states): tag them once.
    drawing.querySelectorAll<SVGGElement>("g.node, g.cluster").forEach((group) => {
      const title = group.querySelector("title")?.textContent ?? "";
      if (title.startsWith("[*]") || title.startsWith("[every state]")) return;
      group.dataset.path = title.startsWith("cluster_") ? title.slice("cluster_".length) : title;
    });
    this.#drawings.set(machine, drawing);
    return drawing;
  }
}
