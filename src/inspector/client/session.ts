// What the page shows, folded from records: every actor's latest snapshot, the errors, and the messages
// between actors. Pure (no DOM), so the same fold serves the live view, the scrubber and imported files.
import type {
  ActorInfo,
  EventRecord,
  InspectorRecord,
  Json,
  SnapshotData,
  SnapshotRecord,
  TransitionRecord,
} from "./protocol.js";

/** One actor at a point in time. */
export interface ActorView {
  info: ActorInfo;
  snapshot: SnapshotData | null;
  /** When the actor entered its current state value (ms since epoch); null before its first snapshot. */
  since: number | null;
  /** The last transition it took. */
  lastTransition: TransitionRecord | null;
  /** `seq` of the last record about this actor. */
  lastSeq: number;
}

/** An error as the errors view lists it. */
export interface ErrorEntry {
  seq: number;
  at: number;
  /** Key of the actor that failed (the plugin or the shell). */
  actor: string;
  actorId: string;
  /** `load | dependency | start | resume | stop` for plugins; `shell` or the failed step otherwise. */
  phase: string;
  code: string;
  message: string;
  stack: string | null;
}

/** One arrow of the sequence diagram. */
export interface Message {
  seq: number;
  at: number;
  /** Lane of the sender: a root actor's key, or `outside` for calls from outside every actor. */
  from: string;
  /** Lane of the receiver: a root actor's key. */
  to: string;
  /** The event type as sent. */
  type: string;
  /** A readable label: `done: loadPlugin`, `after startTimeout`, `START`. */
  label: string;
  /** Bookkeeping XState does for itself (init, promise settlement, stop): hidden unless asked for. */
  internal: boolean;
  /** The sender is not in the record (the shell's fleet sends to plugins from plain code). */
  inferred: boolean;
}

/** Lane of everything sent from outside any actor: the shell's API called by the embedding app. */
export const OUTSIDE = "outside";

/** The state of the whole system after some records, plus what the views derive from them. */
export class SessionModel {
  readonly actors = new Map<string, ActorView>();
  readonly errors: ErrorEntry[] = [];
  readonly messages: Message[] = [];
  /** `seq` and time of the last record applied. */
  seq = -1;
  at: number | null = null;
  /** An error event seen for an actor, completed by (or reported after) its next snapshot. */
  readonly #pendingErrors = new Map<string, ErrorEntry>();
  /**
   * `<parent machine>|<invoke id>` → the invoked logic's name. Invoke ids (`0.plugin.stopping`) are fixed by
   * the machine definition, so this stays small and still names the step once its actor is long gone.
   */
  readonly #invokeSrc = new Map<string, string>();

  /** Applies one record. Records must come in `seq` order. */
  apply(record: InspectorRecord): void {
    this.seq = record.seq;
    this.at = record.at;
    switch (record.kind) {
      case "actor": {
        const parentMachine = record.actor.parent ? this.actors.get(record.actor.parent)?.info.machine : null;
        if (parentMachine && record.actor.src)
          this.#invokeSrc.set(`${parentMachine}|${record.actor.id}`, record.actor.src);
        const existing = this.actors.get(record.actor.key);
        this.actors.set(record.actor.key, {
          info: record.actor,
          snapshot: existing?.snapshot ?? null,
          since: existing?.since ?? null,
          lastTransition: existing?.lastTransition ?? null,
          lastSeq: record.seq,
        });
        return;
      }
      case "snapshot":
        this.#applySnapshot(record);
        return;
      case "transition": {
        const view = this.actors.get(record.actor);
        if (view) {
          view.lastTransition = record;
          view.lastSeq = record.seq;
        }
        return;
      }
      case "event":
        this.#applyEvent(record);
        return;
      case "action":
        return;
    }
  }

  /** The root actors (shell first, then plugins in the order they appeared). */
  roots(): ActorView[] {
    const roots = [...this.actors.values()].filter((view) => view.info.parent === null);
    return roots.sort((a, b) => rank(a) - rank(b) || keyOrder(a.info.key, b.info.key));
  }

  /** Live children of `key`: those listed in its latest snapshot. */
  children(key: string): ActorView[] {
    const listed = this.actors.get(key)?.snapshot?.children ?? [];
    return listed
      .map((child) => this.actors.get(child))
      .filter((view): view is ActorView => view !== undefined);
  }

  /** The root actor an actor belongs to (itself for a root). */
  rootOf(key: string): string {
    let current = key;
    for (let hops = 0; hops < 64; hops++) {
      const parent = this.actors.get(current)?.info.parent;
      if (!parent) return current;
      current = parent;
    }
    return current;
  }

  /**
   * A readable label for an event `actorKey` received: `done: loadPlugin` for the done event of the invoked
   * `loadPlugin`, `after startTimeout`, `START`.
   */
  labelOf(type: string, actorKey: string): string {
    const machine = this.actors.get(actorKey)?.info.machine;
    const invoked = /^xstate\.(?:done|error)\.actor\.(.+)$/.exec(type)?.[1];
    const src = machine && invoked ? this.#invokeSrc.get(`${machine}|${invoked}`) : undefined;
    return eventLabel(type, src);
  }

  /** A readable name of an actor: `plugin:alpha`, or `plugin:alpha › runOnStart` for an invoked step. */
  nameOf(key: string | null): string {
    if (key === null) return OUTSIDE;
    const view = this.actors.get(key);
    if (!view) return key;
    if (view.info.parent === null) return view.info.id;
    return `${this.nameOf(view.info.parent)} › ${view.info.src ?? view.info.id}`;
  }

  /** The actor whose id is `id` (`shell`, `plugin:<id>`), preferring roots. */
  byId(id: string): ActorView | undefined {
    let found: ActorView | undefined;
    for (const view of this.actors.values()) {
      if (view.info.id !== id) continue;
      if (view.info.parent === null) return view;
      found ??= view;
    }
    return found;
  }

  #applySnapshot(record: SnapshotRecord): void {
    const view = this.actors.get(record.actor);
    if (!view) return;
    const previous = view.snapshot;
    if (previous === null || !sameJson(previous.value, record.snapshot.value)) view.since = record.at;
    view.snapshot = record.snapshot;
    view.lastSeq = record.seq;
    if (view.info.machine === null) return;

    const failure = failureOf(record.snapshot);
    const pending = this.#pendingErrors.get(record.actor);
    this.#pendingErrors.delete(record.actor);
    if (failure && !sameJson(failure as Json, failureOf(previous) as Json)) {
      this.errors.push({
        seq: record.seq,
        at: record.at,
        actor: record.actor,
        actorId: view.info.id,
        phase: failure.phase ?? pending?.phase ?? "shell",
        code: failure.code ?? pending?.code ?? "",
        message: failure.message ?? pending?.message ?? "",
        stack: pending?.stack ?? null,
      });
    } else if (pending) {
      this.errors.push(pending);
    }
    if (record.snapshot.status === "error" && previous?.status !== "error") {
      const error = asSerialisedError(record.snapshot.error);
      this.errors.push({
        seq: record.seq,
        at: record.at,
        actor: record.actor,
        actorId: view.info.id,
        phase: "actor",
        code: error?.code ?? "",
        message: error?.message ?? describeJson(record.snapshot.error ?? null),
        stack: error?.stack ?? null,
      });
    }
  }

  #applyEvent(record: EventRecord): void {
    const type = record.event.type;
    const targetView = this.actors.get(record.target);
    if (type.startsWith("xstate.error.actor.") && targetView) {
      const error = asSerialisedError(record.event.error);
      const step = this.labelOf(type, record.target).slice("error: ".length);
      this.#pendingErrors.set(record.target, {
        seq: record.seq,
        at: record.at,
        actor: record.target,
        actorId: targetView.info.id,
        phase: error?.phase ?? `step ${step}`,
        code: error?.code ?? "",
        message: error?.message ?? describeJson(record.event.error ?? null),
        stack: error?.stack ?? null,
      });
    }

    // A plugin's crash carries its own error's stack: the failure its next snapshot shows gets it.
    const crashStack = type === "CRASH" ? record.event.stack : undefined;
    if (typeof crashStack === "string" && targetView) {
      const event = record.event as { code?: unknown; message?: unknown };
      this.#pendingErrors.set(record.target, {
        seq: record.seq,
        at: record.at,
        actor: record.target,
        actorId: targetView.info.id,
        phase: "run",
        code: typeof event.code === "string" ? event.code : "",
        message: typeof event.message === "string" ? event.message : "",
        stack: crashStack,
      });
    }

    const to = this.rootOf(record.target);
    let from: string;
    let inferred = false;
    if (record.source !== null) {
      from = this.rootOf(record.source);
    } else if (targetView?.info.machine === "shell" || targetView === undefined) {
      from = OUTSIDE;
    } else {
      // Plugins are driven by the shell's fleet from plain code, so their events carry no sender.
      const shell = [...this.actors.values()].find((view) => view.info.machine === "shell");
      from = shell && targetView.info.machine !== null ? shell.info.key : OUTSIDE;
      inferred = from !== OUTSIDE;
    }
    this.messages.push({
      seq: record.seq,
      at: record.at,
      from,
      to,
      type,
      label: this.labelOf(type, record.target),
      internal: isInternal(type),
      inferred,
    });
  }
}

/** Folds `records` (base first, then history) from the start into a fresh model. */
export function modelOf(records: readonly InspectorRecord[], count = records.length): SessionModel {
  const model = new SessionModel();
  const end = Math.min(count, records.length);
  for (let index = 0; index < end; index++) model.apply(records[index] as InspectorRecord);
  return model;
}

/** Every active state path of a state value, parents first: `{a: {b: "c"}}` → `a`, `a.b`, `a.b.c`. */
export function activePaths(value: Json | undefined): string[] {
  if (typeof value === "string") return [value];
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [];
  const paths: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    paths.push(key);
    for (const path of activePaths(child)) paths.push(`${key}.${path}`);
  }
  return paths;
}

/** The top-level state of a value: `running`, or `booting` for `{ booting: {...} }`. */
export function topState(value: Json | undefined): string {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object" && !Array.isArray(value))
    return Object.keys(value)[0] ?? "";
  return "";
}

/** A one-line state value: `booting (auth: done, server: listening, plugins: loading)`. */
export function stateText(value: Json | undefined): string {
  if (typeof value === "string") return value;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return "";
  return Object.entries(value)
    .map(([key, child]) => {
      const inner = stateText(child);
      if (inner === "") return key;
      return typeof child === "string" ? `${key}: ${inner}` : `${key} (${inner})`;
    })
    .join(", ");
}

/** The readable label of an event type; `src` names the invoked logic of a done/error event. */
export function eventLabel(type: string, src?: string): string {
  if (type.startsWith("xstate.done.actor.")) return `done: ${src ?? type.slice("xstate.done.actor.".length)}`;
  if (type.startsWith("xstate.error.actor."))
    return `error: ${src ?? type.slice("xstate.error.actor.".length)}`;
  if (type.startsWith("xstate.after."))
    return `after ${type.slice("xstate.after.".length).split(".")[0] ?? ""}`;
  if (type === "xstate.init") return "init";
  return type;
}

function isInternal(type: string): boolean {
  return type === "xstate.init" || type === "xstate.stop" || type.startsWith("xstate.promise.");
}

/** Why a machine actor failed, from its context: a plugin's `error`, the shell's `failure`. */
function failureOf(
  snapshot: SnapshotData | null,
): { phase?: string; code?: string; message?: string } | null {
  const context = snapshot?.context;
  if (context === null || typeof context !== "object" || Array.isArray(context)) return null;
  const failure = context.error ?? context.failure;
  if (failure === null || failure === undefined || typeof failure !== "object" || Array.isArray(failure))
    return null;
  const field = (key: string): string | undefined => {
    const value = failure[key];
    return typeof value === "string" ? value : undefined;
  };
  const result: { phase?: string; code?: string; message?: string } = {};
  const phase = field("phase");
  const code = field("code");
  const message = field("message");
  if (phase !== undefined) result.phase = phase;
  if (code !== undefined) result.code = code;
  if (message !== undefined) result.message = message;
  return result;
}

/** The fields of a serialised Error (`$type: "error"`), or null for anything else. */
export function asSerialisedError(
  value: Json | undefined,
): { name: string; message: string; code?: string; phase?: string; stack?: string } | null {
  if (value === null || value === undefined || typeof value !== "object" || Array.isArray(value)) return null;
  if (value.$type !== "error") return null;
  const text = (key: string): string | undefined => {
    const field = value[key];
    return typeof field === "string" ? field : undefined;
  };
  const result: { name: string; message: string; code?: string; phase?: string; stack?: string } = {
    name: text("name") ?? "Error",
    message: text("message") ?? "",
  };
  const code = text("code");
  const phase = text("phase");
  // A wrapped error's own stack ends in hangar; its causes' stacks reach into the plugin: show the chain.
  let stack = text("stack");
  let cause = value.cause;
  for (let depth = 0; depth < 5 && cause !== undefined && cause !== null; depth++) {
    const inner =
      typeof cause === "object" && !Array.isArray(cause) && cause.$type === "error" ? cause : null;
    const described = inner
      ? typeof inner.stack === "string"
        ? inner.stack
        : `${String(inner.name)}: ${String(inner.message)}`
      : describeJson(cause);
    stack = `${stack ?? `${result.name}: ${result.message}`}\nCaused by: ${described}`;
    cause = inner ? inner.cause : undefined;
  }
  if (code !== undefined) result.code = code;
  if (phase !== undefined) result.phase = phase;
  if (stack !== undefined) result.stack = stack;
  return result;
}

function describeJson(value: Json): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Structural equality of two JSON values. */
export function sameJson(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => sameJson(item, b[index]));
  }
  const left = a as { [key: string]: Json };
  const right = b as { [key: string]: Json };
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.hasOwn(right, key) && sameJson(left[key], right[key]));
}

/** The shell sorts before plugins; plugins keep the order they appeared in. */
function rank(view: ActorView): number {
  return view.info.machine === "shell" ? 0 : 1;
}

/** XState session keys are `x:<n>`: order them by number. */
function keyOrder(a: string, b: string): number {
  const number = (key: string) => Number(key.slice(key.indexOf(":") + 1));
  return number(a) - number(b) || (a < b ? -1 : a > b ? 1 : 0);
}
