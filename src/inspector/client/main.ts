// The inspector page: follows the shell's live feed (or an imported session file) and draws every view at
// the moment the scrubber points to, or live.
import { byId, clock, h, replaceChildren } from "./dom.js";
import { BoundedHistory, DEFAULT_MAX_RECORDS } from "./history.js";
import type { InspectorAction, InspectorRecord, SessionHeader } from "./protocol.js";
import { modelOf, SessionModel } from "./session.js";
import { formatSessionFile, parseSessionFile } from "./session-file.js";
import { renderDetail } from "./views/detail.js";
import { renderErrors } from "./views/errors.js";
import { renderLog, summarise } from "./views/log.js";
import { renderSequence, type SequenceFilters } from "./views/sequence.js";
import { type MachineDiagram, StatechartView } from "./views/statechart.js";
import { renderTree, updateWorkers, type WorkerFacts } from "./views/tree.js";

const API = "/_hangar/inspect/api";
const token = new URLSearchParams(location.search).get("token") ?? "";

/** Everything the page shows is derived from this. */
const app = {
  /** `live`: following the shell; `file`: showing an imported session. */
  mode: "live" as "live" | "file",
  fileName: "",
  header: null as SessionHeader | null,
  history: new BoundedHistory(),
  /** Base records then history, rebuilt when `dirty`. */
  records: [] as InspectorRecord[],
  historyStart: 0,
  dirty: true,
  /** Bumped on every reset, so cached models of an older session are never reused. */
  generation: 0,
  /** Incremental fold of `records` for the live view; rebuilt now and then so it stays bounded. */
  live: new SessionModel(),
  liveRebuiltAtDrop: 0,
  /** Index in `records` the scrubber points at; null = live (the newest record). */
  cursor: null as number | null,
  selected: "shell" as string | null,
  search: "",
  opened: null as number | null,
  picked: [] as number[],
  sequence: { hidden: new Set<string>(), types: "", internal: false } as SequenceFilters,
  connection: "connecting" as "connecting" | "live" | "reconnecting" | "ended" | "file",
  feed: null as EventSource | null,
  /** Each isolated plugin's worker as the shell last reported it (polled while live), by plugin id. */
  workers: {} as Record<string, WorkerFacts>,
};

const statechart = new StatechartView(byId("chart"), byId("chart-caption"));

// ---------------------------------------------------------------------------------------------------------
// Records in

function reset(header: SessionHeader, maxRecords: number): void {
  app.header = header;
  app.history = new BoundedHistory({ maxRecords });
  app.live = new SessionModel();
  app.liveRebuiltAtDrop = 0;
  app.generation += 1;
  app.cursor = null;
  app.opened = null;
  app.picked = [];
  app.dirty = true;
}

function add(record: InspectorRecord, size: number): void {
  app.history.append(record, size);
  app.live.apply(record);
  app.dirty = true;
  // The incremental model keeps every message and finished child; refold from the window now and then.
  if (app.history.dropped - app.liveRebuiltAtDrop >= 1_000) {
    app.liveRebuiltAtDrop = app.history.dropped;
    refreshRecords();
    app.live = modelOf(app.records);
  }
}

function refreshRecords(): void {
  if (!app.dirty) return;
  const base = app.history.base();
  app.records = [...base, ...app.history.records()];
  // Records below the header's historyStartsAt are the sender's base (a late page, an exported file):
  // they rebuild the state but are not events of the window, so the scrubber and the log skip them.
  const boundary = app.header?.historyStartsAt ?? 0;
  let start = base.length;
  while (start < app.records.length && (app.records[start] as InspectorRecord).seq < boundary) start++;
  app.historyStart = start;
  app.dirty = false;
  // A cursor into the part that was dropped moves to the oldest record still kept.
  if (app.cursor !== null && app.cursor < app.historyStart) app.cursor = app.historyStart;
}

function connect(): void {
  app.feed?.close();
  app.mode = "live";
  app.connection = "connecting";
  const feed = new EventSource(`${API}/feed?token=${encodeURIComponent(token)}`);
  app.feed = feed;
  feed.addEventListener("session", (event) => {
    const header = JSON.parse((event as MessageEvent<string>).data) as SessionHeader;
    reset(header, header.session.maxRecords || DEFAULT_MAX_RECORDS);
    app.connection = "connecting";
    schedule();
  });
  feed.addEventListener("record", (event) => {
    const data = (event as MessageEvent<string>).data;
    add(JSON.parse(data) as InspectorRecord, data.length);
    schedule();
  });
  feed.addEventListener("ready", () => {
    app.connection = "live";
    schedule();
  });
  feed.addEventListener("bye", () => {
    // The shell is stopping: do not reconnect to a server that is going away.
    feed.close();
    app.connection = "ended";
    schedule();
  });
  feed.addEventListener("error", () => {
    if (feed.readyState === EventSource.CLOSED) app.connection = "ended";
    else if (app.connection !== "ended") app.connection = "reconnecting";
    schedule();
  });
}

async function loadDiagrams(): Promise<void> {
  try {
    const response = await fetch(`${API}/machines?token=${encodeURIComponent(token)}`);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = (await response.json()) as { machines: MachineDiagram[] };
    statechart.setDiagrams(body.machines);
  } catch (error) {
    replaceChildren(
      byId("chart"),
      h("p", { class: "empty" }, `The statecharts could not be loaded: ${String(error)}`),
    );
    return;
  }
  schedule();
}

// ---------------------------------------------------------------------------------------------------------
// Export and import

function exportSession(): void {
  refreshRecords();
  if (!app.header) return;
  const first = app.records[app.historyStart];
  const header: SessionHeader = {
    ...app.header,
    historyStartsAt: first ? first.seq : app.header.historyStartsAt,
    exportedAt: new Date().toISOString(),
  };
  const blob = new Blob([formatSessionFile(header, app.records)], { type: "application/x-ndjson" });
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: `hangar-session-${header.session.id.slice(0, 8)}.jsonl` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function importSession(file: File): Promise<void> {
  let parsed: ReturnType<typeof parseSessionFile>;
  try {
    parsed = parseSessionFile(await file.text());
  } catch (error) {
    showNotice(`Could not import ${file.name}: ${(error as Error).message}`, true);
    return;
  }
  app.feed?.close();
  app.feed = null;
  app.mode = "file";
  app.fileName = file.name;
  app.connection = "file";
  // An imported file is kept whole: its size already bounds it.
  reset(parsed.header, Math.max(parsed.records.length, 1));
  for (const record of parsed.records) add(record, 1);
  refreshRecords();
  const events = app.records.length - app.historyStart;
  showNotice(
    `Showing ${file.name}: ${events} events recorded by hangar ${parsed.header.session.hangarVersion}.`,
    false,
  );
  schedule();
}

// ---------------------------------------------------------------------------------------------------------
// Actions (only when the shell allows them, and only live)

async function act(action: InspectorAction): Promise<void> {
  try {
    const response = await fetch(`${API}/actions`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Hangar-Inspector-Token": token },
      body: JSON.stringify(action),
    });
    const body = (await response.json()) as { success: boolean; error?: string };
    if (!body.success) showNotice(body.error ?? `The action failed (HTTP ${response.status}).`, true);
  } catch (error) {
    showNotice(`The action failed: ${String(error)}`, true);
  }
}

function actionsEnabled(): boolean {
  return app.mode === "live" && app.cursor === null && app.header?.session.allowActions === true;
}

// ---------------------------------------------------------------------------------------------------------
// Rendering

let frame: number | null = null;

/** Coalesces bursts of records into one render per animation frame. */
function schedule(): void {
  if (frame !== null) return;
  frame = requestAnimationFrame(() => {
    frame = null;
    render();
  });
}

/** Models of past moments (the scrubber's, two diffed entries): few, so a small cache spares refolding. */
const modelCache = new Map<string, SessionModel>();

/** The model after the first `count` records. Records arriving later do not change it; dropping does. */
function modelAt(count: number): SessionModel {
  const key = `${app.generation}:${app.history.dropped}:${count}`;
  let model = modelCache.get(key);
  if (!model) {
    model = modelOf(app.records, count);
    if (modelCache.size >= 4) modelCache.delete(modelCache.keys().next().value as string);
  }
  // Re-inserted so the most recently used entries stay.
  modelCache.delete(key);
  modelCache.set(key, model);
  return model;
}

function indexOfSeq(seq: number): number {
  // Records are in seq order: binary search.
  let low = 0;
  let high = app.records.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const current = (app.records[middle] as InspectorRecord).seq;
    if (current === seq) return middle;
    if (current < seq) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}

function render(): void {
  refreshRecords();
  const model = app.cursor === null ? app.live : modelAt(app.cursor + 1);
  renderHeader();
  renderScrubber();

  const selected = app.selected === null ? null : (model.byId(app.selected) ?? null);
  renderTree(byId("tree"), model, {
    selected: app.selected,
    workers: shownWorkers(),
    onSelect: (id) => {
      app.selected = id;
      schedule();
    },
    ...(actionsEnabled() ? { onRestart: (id: string) => void act({ type: "restart", actor: id }) } : {}),
  });
  byId("chart-title").textContent = selected ? selected.info.id : "";
  statechart.render(selected, model);
  byId("send-form").hidden = !actionsEnabled() || selected === null || selected.info.machine === null;

  renderErrors(byId("errors"), byId("error-count"), model.errors, open);
  renderSequence(byId("sequence-filters"), byId("sequence"), model, app.sequence, schedule, open);
  renderLog(byId("log"), app.records, app.live, {
    search: app.search,
    cursor: app.cursor,
    historyStart: app.historyStart,
    opened: app.opened,
    picked: app.picked,
    onOpen: open,
    onPick: (seq, picked) => {
      app.picked = picked
        ? [...app.picked.filter((other) => other !== seq), seq].slice(-2)
        : app.picked.filter((other) => other !== seq);
      schedule();
    },
  });
  renderDetail(
    byId("detail"),
    {
      record: (seq) => app.records[indexOfSeq(seq)],
      modelAfter: (seq) => modelAt(indexOfSeq(seq) + 1),
    },
    app.opened,
    app.picked,
    travel,
  );
}

function renderHeader(): void {
  const status = byId("connection");
  const text: Record<typeof app.connection, string> = {
    connecting: "connecting…",
    live: "live",
    reconnecting: "reconnecting…",
    ended: "shell stopped",
    file: `file: ${app.fileName}`,
  };
  status.textContent = text[app.connection];
  status.dataset.connection = app.connection;
  const session = app.header?.session;
  byId("session").textContent = session
    ? `hangar ${session.hangarVersion} · session ${session.id.slice(0, 8)} · since ${clock(Date.parse(session.startedAt))}`
    : "";
  byId("back-live").hidden = app.mode === "live" && app.cursor === null;
  byId("back-live").textContent = app.mode === "file" ? "Back to the live shell" : "Back to live";
  byId("update-all").hidden = !actionsEnabled();
}

function renderScrubber(): void {
  const scrub = byId<HTMLInputElement>("scrub");
  const first = app.historyStart;
  const last = app.records.length - 1;
  const count = Math.max(0, last - first + 1);
  scrub.min = String(first);
  scrub.max = String(Math.max(first, last));
  scrub.disabled = count === 0;
  scrub.value = String(app.cursor ?? Math.max(first, last));
  const label = byId("scrub-label");
  if (app.cursor === null) {
    label.textContent = `${app.mode === "live" ? "Live" : "End of file"}: ${count} events${app.history.dropped > 0 && app.mode === "live" ? ` (${app.history.dropped} older dropped)` : ""}`;
    label.dataset.cursor = "";
  } else {
    const record = app.records[app.cursor] as InspectorRecord;
    const summary = summarise(record, app.live);
    label.textContent = `Viewing #${record.seq} (${app.cursor - first + 1} of ${count}) · ${clock(record.at)} · ${summary.actor} ${summary.text} · read-only`;
    label.dataset.cursor = String(record.seq);
  }
  document.body.classList.toggle("travelling", app.cursor !== null);
}

function open(seq: number): void {
  app.opened = seq;
  schedule();
}

function travel(seq: number): void {
  const index = indexOfSeq(seq);
  if (index < 0) return;
  app.cursor = index >= app.records.length - 1 && app.mode === "live" ? null : index;
  app.opened = seq;
  schedule();
}

function showNotice(message: string, isError: boolean): void {
  const notice = byId("notice");
  notice.textContent = message;
  notice.hidden = message === "";
  notice.classList.toggle("error", isError);
}

// ---------------------------------------------------------------------------------------------------------
// Wiring

function wire(): void {
  const scrub = byId<HTMLInputElement>("scrub");
  scrub.addEventListener("input", () => {
    refreshRecords();
    const index = Number(scrub.value);
    app.cursor = index >= app.records.length - 1 && app.mode === "live" ? null : index;
    schedule();
  });
  const step = (delta: number) => {
    refreshRecords();
    const last = app.records.length - 1;
    const from = app.cursor ?? last;
    const index = Math.min(last, Math.max(app.historyStart, from + delta));
    app.cursor = index >= last && app.mode === "live" ? null : index;
    schedule();
  };
  byId("step-back").addEventListener("click", () => step(-1));
  byId("step-forward").addEventListener("click", () => step(1));
  byId("back-live").addEventListener("click", () => {
    if (app.mode === "file") {
      showNotice("", false);
      connect();
    }
    app.cursor = null;
    schedule();
  });
  byId("export").addEventListener("click", exportSession);
  const importInput = byId<HTMLInputElement>("import");
  importInput.addEventListener("change", () => {
    const file = importInput.files?.[0];
    if (file) void importSession(file);
    importInput.value = "";
  });
  byId<HTMLInputElement>("search").addEventListener("input", (event) => {
    app.search = (event.target as HTMLInputElement).value;
    schedule();
  });
  byId("update-all").addEventListener("click", () => void act({ type: "update" }));
  byId("chart-zoom").addEventListener("click", () => {
    const fit = byId("chart").classList.toggle("fit");
    byId("chart-zoom").textContent = fit ? "Zoom in" : "Fit";
  });
  byId<HTMLFormElement>("send-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = byId<HTMLInputElement>("send-type");
    const type = input.value.trim();
    if (type !== "" && app.selected) void act({ type: "send", actor: app.selected, event: { type } });
  });
}

/** Workers are live facts, not recorded state: shown only while the page follows the shell now. */
function shownWorkers(): Record<string, WorkerFacts> {
  return app.mode === "live" && app.cursor === null ? app.workers : {};
}

/** How often the page asks the shell for its plugins' workers while it follows the shell live. */
const WORKER_POLL_MS = 1_000;

async function pollWorkers(): Promise<void> {
  if (app.mode === "live" && app.connection !== "ended") {
    try {
      const response = await fetch(`${API}/workers?token=${encodeURIComponent(token)}`);
      if (response.ok) {
        const workers = ((await response.json()) as { workers: Record<string, WorkerFacts> }).workers;
        // Only the worker lines change, in place: the rest of the page is not redrawn for them.
        if (JSON.stringify(workers) !== JSON.stringify(app.workers)) {
          app.workers = workers;
          updateWorkers(byId("tree"), shownWorkers());
        }
      }
    } catch {
      // The shell is going away or restarting: the feed's state says so; keep the last facts.
    }
  }
  setTimeout(() => void pollWorkers(), WORKER_POLL_MS);
}

wire();
connect();
void loadDiagrams();
void pollWorkers();
