// The actor tree: the shell, each plugin under it, and the steps (invoked actors) each is running now, with
// state badges, versions and the load / start / resume timings kept apart.
import { clock, duration, h, replaceChildren } from "../dom.js";
import type { Json } from "../protocol.js";
import { type ActorView, type SessionModel, stateText, topState } from "../session.js";

/** What the tree needs besides the model. */
export interface TreeOptions {
  /** Id of the selected actor (its statechart is shown). */
  selected: string | null;
  onSelect(actorId: string): void;
  /** When set, plugins get a Restart button. */
  onRestart?: (actorId: string) => void;
  /** Each isolated plugin's running worker, by plugin id (without `plugin:`); shown under the plugin. */
  workers?: Record<string, WorkerFacts>;
}

/** An isolated plugin's worker thread as the shell reports it (hangar's `WorkerStatus`). */
export interface WorkerFacts {
  threadId: number;
  heapUsedBytes: number | null;
  lastHeartbeatLagMs: number | null;
  memoryLimitMb: number;
}

/** Draws the tree into `container`. */
export function renderTree(container: HTMLElement, model: SessionModel, options: TreeOptions): void {
  const roots = model.roots();
  const shell = roots.find((view) => view.info.machine === "shell");
  const others = roots.filter((view) => view !== shell);
  const list = h("ul", { class: "tree", role: "tree" });
  if (shell) {
    const item = actorItem(model, shell, options);
    if (others.length > 0)
      item.append(h("ul", { role: "group" }, ...others.map((view) => actorItem(model, view, options))));
    list.append(item);
  } else {
    for (const view of others) list.append(actorItem(model, view, options));
  }
  if (roots.length === 0) list.append(h("li", { class: "empty" }, "No actors recorded yet."));
  replaceChildren(container, list);
}

function actorItem(model: SessionModel, view: ActorView, options: TreeOptions): HTMLLIElement {
  const id = view.info.id;
  const state = view.snapshot ? badgeState(view.snapshot.value) || view.snapshot.status : "created";
  const context = asRecord(view.snapshot?.context);
  const name = id.startsWith("plugin:") ? id.slice("plugin:".length) : id;
  const version = typeof context?.version === "string" ? context.version : null;
  const timings = asRecord(context?.timings);
  const stopped = view.snapshot !== null && view.snapshot.status !== "active";

  const row = h(
    "div",
    {
      class: `row${options.selected === id ? " selected" : ""}`,
      role: "treeitem",
      tabindex: 0,
      "aria-selected": options.selected === id ? "true" : "false",
      title: view.snapshot ? stateText(view.snapshot.value) : "",
    },
    h("span", { class: "name" }, name),
    h("span", { class: `badge state-${state}`, "data-state": state }, state),
    version && h("span", { class: "version" }, `v${version}`),
    stopped &&
      view.snapshot?.status !== "done" &&
      h("span", { class: "badge state-errored" }, view.snapshot?.status ?? ""),
  );
  row.addEventListener("click", () => options.onSelect(id));
  row.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") options.onSelect(id);
  });

  const facts = h("div", { class: "facts" });
  if (timings) {
    facts.append(
      h("span", { title: "time to import the module" }, `load ${duration(numberOrNull(timings.loadMs))}`),
      h("span", { title: "time onStart took" }, `start ${duration(numberOrNull(timings.startMs))}`),
      h("span", { title: "time onResume took" }, `resume ${duration(numberOrNull(timings.resumeMs))}`),
    );
  }
  if (view.since !== null)
    facts.append(h("span", { title: "when it entered this state" }, `since ${clock(view.since)}`));
  const worker = id.startsWith("plugin:") ? options.workers?.[name] : undefined;
  if (worker) facts.append(workerFacts(worker));
  if (options.onRestart && id.startsWith("plugin:")) {
    const restart = h(
      "button",
      { type: "button", class: "small", title: "stop, re-import and start this plugin" },
      "Restart",
    );
    restart.addEventListener("click", (event) => {
      event.stopPropagation();
      options.onRestart?.(id);
    });
    facts.append(restart);
  }

  const item = h("li", { class: "actor", "data-actor": id, "data-key": view.info.key }, row, facts);
  const steps = model
    .children(view.info.key)
    .filter((child) => child.snapshot?.status === "active" || !child.snapshot);
  if (steps.length > 0) {
    item.append(
      h(
        "ul",
        { class: "steps", role: "group" },
        ...steps.map((child) =>
          h(
            "li",
            { class: "step", "data-key": child.info.key, title: child.info.id },
            h("span", { class: "name" }, `↳ ${child.info.src ?? child.info.id}`),
            h("span", { class: "badge state-step" }, "in progress"),
            child.since !== null && h("span", { class: "facts" }, `since ${clock(child.since)}`),
          ),
        ),
      ),
    );
  }
  return item;
}

/**
 * Brings the worker lines of a drawn tree up to date in place: a line's text changes, a new worker gets a line, an
 * ended one loses it; nothing else in `container` is touched. The page polls workers every second and heap and
 * heartbeat lag change with nearly every answer: redrawing the page for them would rebuild every view each second
 * (closing what the user opened, losing a selection). A plugin not drawn yet gets its line with the next redraw.
 */
export function updateWorkers(container: HTMLElement, workers: Record<string, WorkerFacts>): void {
  container.querySelectorAll<HTMLElement>('li.actor[data-actor^="plugin:"]').forEach((item) => {
    const name = (item.dataset.actor ?? "").slice("plugin:".length);
    const facts = item.querySelector<HTMLElement>(":scope > .facts");
    if (!facts) return;
    const line = facts.querySelector<HTMLElement>(":scope > .worker");
    const worker = workers[name];
    if (!worker) {
      line?.remove();
    } else if (!line) {
      // Where renderTree puts it: before the Restart button.
      facts.insertBefore(workerFacts(worker), facts.querySelector(":scope > button"));
    } else {
      const text = workerText(worker);
      if (line.textContent !== text) line.textContent = text;
      line.dataset.threadId = String(worker.threadId);
    }
  });
}

/** `worker #3 · heap 12.4 of 512 MB · heartbeat lag 2 ms`: an isolated plugin's thread, as of its last heartbeat. */
function workerText(worker: WorkerFacts): string {
  const heap = worker.heapUsedBytes === null ? "…" : `${(worker.heapUsedBytes / (1024 * 1024)).toFixed(1)}`;
  const lag = worker.lastHeartbeatLagMs === null ? "…" : `${worker.lastHeartbeatLagMs} ms`;
  return `worker #${worker.threadId} · heap ${heap} of ${worker.memoryLimitMb} MB · heartbeat lag ${lag}`;
}

function workerFacts(worker: WorkerFacts): HTMLElement {
  return h(
    "span",
    {
      class: "worker",
      "data-thread-id": String(worker.threadId),
      title:
        "isolated in a worker thread: its thread id, V8 heap in use of its limit, and how long its last heartbeat took to answer",
    },
    workerText(worker),
  );
}

function asRecord(value: Json | undefined): { [key: string]: Json } | null {
  return value !== null && value !== undefined && typeof value === "object" && !Array.isArray(value)
    ? value
    : null;
}

function numberOrNull(value: Json | undefined): number | null {
  return typeof value === "number" ? value : null;
}

/** The badge: the top state, or for a plugin the step inside `active` (`running`), as its status shows it. */
function badgeState(value: Json | undefined): string {
  const top = topState(value);
  if (top !== "active" || value === null || typeof value !== "object" || Array.isArray(value)) return top;
  return topState((value as Record<string, Json>).active) || top;
}
