// The detail pane: the snapshot an event log entry leads to, or the diff of two ticked entries' snapshots.
import { diffJson } from "../diff.js";
import { clock, h, replaceChildren } from "../dom.js";
import type { InspectorRecord, Json, SnapshotData } from "../protocol.js";
import { type SessionModel, stateText } from "../session.js";
import { summarise } from "./log.js";

/** Finds a record by `seq` and the model just after it. */
export interface DetailSource {
  record(seq: number): InspectorRecord | undefined;
  /** The model once every record up to and including `seq` is applied. */
  modelAfter(seq: number): SessionModel;
}

/** A record's actor and that actor's snapshot after the record. */
interface Opened {
  record: InspectorRecord;
  actorKey: string;
  actorId: string;
  snapshot: SnapshotData | null;
}

function open(source: DetailSource, seq: number): Opened | null {
  const record = source.record(seq);
  if (!record) return null;
  const model = source.modelAfter(seq);
  const actorKey =
    record.kind === "actor" ? record.actor.key : record.kind === "event" ? record.target : record.actor;
  const view = model.actors.get(actorKey);
  return { record, actorKey, actorId: view?.info.id ?? actorKey, snapshot: view?.snapshot ?? null };
}

/** Draws the pane: a diff when two records are picked, else the opened record, else a hint. */
export function renderDetail(
  container: HTMLElement,
  source: DetailSource,
  opened: number | null,
  picked: readonly number[],
  onTravel: (seq: number) => void,
): void {
  if (picked.length === 2) {
    const [a, b] = [...picked].sort((x, y) => x - y).map((seq) => open(source, seq));
    if (a && b) {
      renderDiff(container, a, b);
      return;
    }
  }
  const entry = opened === null ? null : open(source, opened);
  if (!entry) {
    replaceChildren(
      container,
      h(
        "p",
        { class: "empty" },
        "Open an entry of the event log to see its snapshot; tick two entries to diff them.",
      ),
    );
    return;
  }
  const summary = summarise(entry.record, source.modelAfter(entry.record.seq));
  const travel = h("button", { type: "button", class: "small" }, "Show the system at this event");
  travel.addEventListener("click", () => onTravel(entry.record.seq));
  replaceChildren(
    container,
    h("h3", {}, `#${entry.record.seq} · ${clock(entry.record.at)} · ${summary.actor}`),
    h("p", { class: "what" }, summary.text),
    travel,
    h("h4", {}, `Snapshot of ${entry.actorId} after this record`),
    entry.snapshot
      ? h(
          "pre",
          { class: "json snapshot", "data-actor": entry.actorId },
          pretty(entry.snapshot as unknown as Json),
        )
      : h("p", { class: "empty" }, "No snapshot recorded yet."),
    h("h4", {}, "Record"),
    h("pre", { class: "json" }, pretty(entry.record as unknown as Json)),
  );
}

function renderDiff(container: HTMLElement, a: Opened, b: Opened): void {
  const entries = diffJson(a.snapshot as unknown as Json, b.snapshot as unknown as Json);
  const title = `Diff: ${a.actorId} after #${a.record.seq} → ${b.actorId} after #${b.record.seq}`;
  const table = h(
    "table",
    { class: "diff" },
    h(
      "thead",
      {},
      h("tr", {}, h("th", {}, "path"), h("th", {}, `#${a.record.seq}`), h("th", {}, `#${b.record.seq}`)),
    ),
    h(
      "tbody",
      {},
      ...entries.map((entry) =>
        h(
          "tr",
          { class: entry.kind, "data-path": entry.path },
          h("td", { class: "path" }, entry.path),
          h("td", { class: "before" }, entry.before === undefined ? "—" : compact(entry.before)),
          h("td", { class: "after" }, entry.after === undefined ? "—" : compact(entry.after)),
        ),
      ),
    ),
  );
  replaceChildren(
    container,
    h("h3", {}, title),
    h(
      "p",
      { class: "what" },
      `${stateText(a.snapshot?.value) || a.snapshot?.status || "—"} → ${stateText(b.snapshot?.value) || b.snapshot?.status || "—"}`,
    ),
    entries.length === 0 ? h("p", { class: "empty" }, "The two snapshots are identical.") : table,
  );
}

function pretty(value: Json): string {
  return JSON.stringify(value, null, 2);
}

function compact(value: Json): string {
  const text = JSON.stringify(value);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
