// The sequence diagram: one lane per root actor (and one for calls from outside), one arrow per event,
// newest at the bottom, filterable by actor and by event type.
import { clock, h, replaceChildren, s } from "../dom.js";
import { type Message, OUTSIDE, type SessionModel } from "../session.js";

/** The diagram's filters; the page keeps them across renders. */
export interface SequenceFilters {
  /** Lanes (actor ids, or `outside`) the user switched off. */
  hidden: Set<string>;
  /** Comma-separated prefixes, any case: a message shows when its type or label starts with one. */
  types: string;
  /** Show XState's bookkeeping (init, promise settlement, stop). */
  internal: boolean;
}

/** Arrows drawn at most; older ones are summarised. */
const MAX_ARROWS = 200;
const LANE_WIDTH = 150;
const ROW_HEIGHT = 22;
const TOP = 34;
const LEFT = 20;

/** Draws the filters into `controls` and the diagram into `container`. */
export function renderSequence(
  controls: HTMLElement,
  container: HTMLElement,
  model: SessionModel,
  filters: SequenceFilters,
  onChange: () => void,
  onOpen: (seq: number) => void,
): void {
  const lanes = laneList(model);
  renderControls(controls, lanes, filters, onChange);

  const visibleLanes = lanes.filter((lane) => !filters.hidden.has(lane.id));
  const laneIndex = new Map(visibleLanes.map((lane, index) => [lane.key, index]));
  const wanted = filters.types
    .split(",")
    .map((part) => part.trim().toLowerCase())
    .filter((part) => part !== "");
  const matching = model.messages.filter(
    (message) =>
      (filters.internal || !message.internal) &&
      laneIndex.has(message.from) &&
      laneIndex.has(message.to) &&
      (wanted.length === 0 || wanted.some((part) => matchesType(message, part))),
  );
  const shown = matching.slice(-MAX_ARROWS);
  const width = LEFT * 2 + Math.max(1, visibleLanes.length) * LANE_WIDTH;
  const height = TOP + (shown.length + 1) * ROW_HEIGHT;
  const x = (key: string) => LEFT + (laneIndex.get(key) ?? 0) * LANE_WIDTH + LANE_WIDTH / 2;

  const svg = s(
    "svg",
    {
      class: "sequence",
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": `Sequence diagram of ${shown.length} events`,
    },
    s(
      "defs",
      {},
      s(
        "marker",
        {
          id: "arrow",
          viewBox: "0 0 10 10",
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: "auto-start-reverse",
        },
        s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow-head" }),
      ),
    ),
  );
  for (const lane of visibleLanes) {
    svg.append(
      s("line", { class: "lane", x1: x(lane.key), y1: TOP - 10, x2: x(lane.key), y2: height }),
      s("text", { class: "lane-label", x: x(lane.key), y: 16, "text-anchor": "middle" }, lane.label),
    );
  }
  shown.forEach((message, row) => {
    svg.append(arrow(message, TOP + row * ROW_HEIGHT + ROW_HEIGHT / 2, x, onOpen));
  });

  const hiddenCount = matching.length - shown.length;
  replaceChildren(
    container,
    hiddenCount > 0 ? h("p", { class: "note" }, `${hiddenCount} earlier matching events not drawn.`) : null,
    shown.length === 0 ? h("p", { class: "empty" }, "No events match the filters.") : svg,
  );
  // Keep the newest arrows in view.
  container.scrollTop = container.scrollHeight;
}

/**
 * A filter term matches an event whose type or label starts with it, in any case: `START` matches START
 * only, `done` every done event, `error: runOnStart` that step's failures, `xstate.` every XState event.
 */
function matchesType(message: Message, term: string): boolean {
  return message.type.toLowerCase().startsWith(term) || message.label.toLowerCase().startsWith(term);
}

interface Lane {
  key: string;
  id: string;
  label: string;
}

function laneList(model: SessionModel): Lane[] {
  const lanes: Lane[] = model.roots().map((view) => ({
    key: view.info.key,
    id: view.info.id,
    label: view.info.id.startsWith("plugin:") ? view.info.id.slice("plugin:".length) : view.info.id,
  }));
  if (model.messages.some((message) => message.from === OUTSIDE)) {
    lanes.unshift({ key: OUTSIDE, id: OUTSIDE, label: "outside (API)" });
  }
  return lanes;
}

function arrow(
  message: Message,
  y: number,
  x: (key: string) => number,
  onOpen: (seq: number) => void,
): SVGGElement {
  const from = x(message.from);
  const to = x(message.to);
  const classes = `message${message.inferred ? " inferred" : ""}${message.internal ? " internal" : ""}`;
  const group = s(
    "g",
    { class: classes, "data-seq": message.seq, "data-type": message.type, tabindex: 0 },
    s(
      "title",
      {},
      `#${message.seq} ${clock(message.at)} ${message.type}${message.inferred ? " (sent by the shell's fleet)" : ""}`,
    ),
  );
  if (from === to) {
    group.append(
      s("path", { d: `M ${from} ${y - 6} h 24 v 12 h -22`, class: "line", "marker-end": "url(#arrow)" }),
      s("text", { x: from + 30, y: y + 4 }, message.label),
    );
  } else {
    group.append(
      s("line", { x1: from, y1: y, x2: to, y2: y, class: "line", "marker-end": "url(#arrow)" }),
      s("text", { x: (from + to) / 2, y: y - 4, "text-anchor": "middle" }, message.label),
    );
  }
  group.addEventListener("click", () => onOpen(message.seq));
  group.addEventListener("keydown", (event) => {
    if (event.key === "Enter") onOpen(message.seq);
  });
  return group;
}

function renderControls(
  controls: HTMLElement,
  lanes: Lane[],
  filters: SequenceFilters,
  onChange: () => void,
): void {
  // Rebuilding the text box while someone types would lose the caret: keep it, refresh only the lanes.
  let types = controls.querySelector<HTMLInputElement>("input[name=types]");
  let internal = controls.querySelector<HTMLInputElement>("input[name=internal]");
  let laneBox = controls.querySelector<HTMLElement>(".lanes");
  if (!types || !internal || !laneBox) {
    types = h("input", {
      name: "types",
      type: "search",
      placeholder: "Event types, e.g. START, UPDATE",
      "aria-label": "Filter by event type",
    });
    internal = h("input", { name: "internal", type: "checkbox" });
    laneBox = h("span", { class: "lanes" });
    types.addEventListener("input", () => {
      filters.types = (types as HTMLInputElement).value;
      onChange();
    });
    internal.addEventListener("change", () => {
      filters.internal = (internal as HTMLInputElement).checked;
      onChange();
    });
    replaceChildren(controls, types, h("label", {}, internal, " XState internals"), laneBox);
  }
  if (types.value !== filters.types) types.value = filters.types;
  internal.checked = filters.internal;
  const signature = lanes.map((lane) => `${lane.id}:${filters.hidden.has(lane.id)}`).join("|");
  if (laneBox.dataset.signature === signature) return;
  laneBox.dataset.signature = signature;
  replaceChildren(
    laneBox,
    ...lanes.map((lane) => {
      const box = h("input", {
        type: "checkbox",
        name: "lane",
        value: lane.id,
        checked: !filters.hidden.has(lane.id),
      });
      box.addEventListener("change", () => {
        if (box.checked) filters.hidden.delete(lane.id);
        else filters.hidden.add(lane.id);
        onChange();
      });
      return h("label", {}, box, ` ${lane.label}`);
    }),
  );
}
