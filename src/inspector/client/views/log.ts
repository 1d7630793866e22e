// The event log: every record, searchable; a row opens its snapshot, and two ticked rows are diffed.
import { clock, h, replaceChildren } from "../dom.js";
import type { InspectorRecord } from "../protocol.js";
import { type SessionModel, stateText } from "../session.js";

/** Rows drawn at most: the newest matches. Searching narrows them down. */
const MAX_ROWS = 500;

/** What the log needs besides the records. */
export interface LogOptions {
  search: string;
  /** Index (in `records`) of the scrubber's position; rows after it are dimmed. Null when live. */
  cursor: number | null;
  /** Index of the first history record; the ones before are the base and are not listed. */
  historyStart: number;
  /** `seq` of the opened record. */
  opened: number | null;
  /** `seq`s ticked for a diff (at most two). */
  picked: readonly number[];
  onOpen(seq: number): void;
  onPick(seq: number, picked: boolean): void;
}

const searchText = new WeakMap<InspectorRecord, string>();

/** Draws the log into `container`. `names` gives the model used for actor names (the newest one). */
export function renderLog(
  container: HTMLElement,
  records: readonly InspectorRecord[],
  names: SessionModel,
  options: LogOptions,
): void {
  const query = options.search.trim().toLowerCase();
  const rows: HTMLLIElement[] = [];
  let matched = 0;
  for (let index = records.length - 1; index >= options.historyStart && rows.length < MAX_ROWS; index--) {
    const record = records[index] as InspectorRecord;
    const summary = summarise(record, names);
    if (query !== "" && !textOf(record, summary).includes(query)) continue;
    matched += 1;
    rows.push(row(record, summary, index, options));
  }
  rows.reverse();
  const list = h("ol", { class: "log" }, ...rows);
  replaceChildren(
    container,
    rows.length === MAX_ROWS
      ? h("p", { class: "note" }, `Showing the newest ${MAX_ROWS} matching records; search to narrow down.`)
      : null,
    matched === 0
      ? h("p", { class: "empty" }, query ? "No record matches the search." : "No records yet.")
      : list,
  );
  const opened = list.querySelector(".opened");
  if (opened) opened.scrollIntoView({ block: "nearest" });
  else container.scrollTop = container.scrollHeight;
}

function row(record: InspectorRecord, summary: Summary, index: number, options: LogOptions): HTMLLIElement {
  const future = options.cursor !== null && index > options.cursor;
  const current = options.cursor !== null && index === options.cursor;
  const picked = options.picked.includes(record.seq);
  const tick = h("input", {
    type: "checkbox",
    class: "pick",
    title: "tick two records to diff their snapshots",
    "aria-label": `compare record ${record.seq}`,
    checked: picked,
  });
  tick.addEventListener("click", (event) => event.stopPropagation());
  tick.addEventListener("change", () => options.onPick(record.seq, tick.checked));
  const item = h(
    "li",
    {
      class: `record kind-${record.kind}${future ? " future" : ""}${current ? " current" : ""}${options.opened === record.seq ? " opened" : ""}`,
      "data-seq": record.seq,
      tabindex: 0,
    },
    tick,
    h("span", { class: "seq" }, `#${record.seq}`),
    h("span", { class: "time" }, clock(record.at)),
    h("span", { class: "who" }, summary.actor),
    h("span", { class: "kind" }, record.kind),
    h("span", { class: "what" }, summary.text),
  );
  item.addEventListener("click", () => options.onOpen(record.seq));
  item.addEventListener("keydown", (event) => {
    if (event.key === "Enter") options.onOpen(record.seq);
  });
  return item;
}

interface Summary {
  actor: string;
  text: string;
}

/** The actor and a one-line description of a record, as the log and the detail view show them. */
export function summarise(record: InspectorRecord, model: SessionModel): Summary {
  const name = (key: string | null) => model.nameOf(key);
  switch (record.kind) {
    case "actor": {
      const what = record.actor.machine
        ? `machine ${record.actor.machine}`
        : `invokes ${record.actor.src ?? "?"}`;
      return { actor: name(record.actor.key), text: `created (${what})` };
    }
    case "event":
      return {
        actor: name(record.target),
        text: `${model.labelOf(record.event.type, record.target)} ← ${name(record.source)}`,
      };
    case "snapshot": {
      const value = stateText(record.snapshot.value);
      return { actor: name(record.actor), text: value ? `→ ${value}` : `status ${record.snapshot.status}` };
    }
    case "transition":
      return {
        actor: name(record.actor),
        text: `${record.source || "(root)"} → ${record.targets.join(", ") || "(stays)"} on ${model.labelOf(record.event, record.actor)}`,
      };
    case "action":
      return { actor: name(record.actor), text: `action ${record.action}` };
  }
}

function textOf(record: InspectorRecord, summary: Summary): string {
  let text = searchText.get(record);
  if (text === undefined) {
    text = `${summary.actor} ${summary.text} ${JSON.stringify(record)}`.toLowerCase();
    searchText.set(record, text);
  }
  return text;
}
