// The flight recorder: an XState inspection observer that turns the shell's and every plugin's inspection
// events into bounded, redacted records, keeps a window of them, and hands each new one to live listeners.

import { randomUUID } from "node:crypto";
import type { AnyActorRef, InspectionEvent, Observer } from "xstate";
import { type Subscription, toSubscription } from "../base/disposable.js";
import { BoundedHistory, type HistoryLimits } from "./client/history.js";
import {
  type ActorInfo,
  type EventData,
  type InspectorRecord,
  type Json,
  SESSION_FORMAT,
  SESSION_FORMAT_VERSION,
  type SessionHeader,
  type SessionInfo,
  type SnapshotData,
} from "./client/protocol.js";
import { formatSessionFile } from "./client/session-file.js";
import { REDACTED, type SerialiseLimits, toJson } from "./serialise.js";

/** Where a value being redacted comes from. */
export interface RedactionSite {
  /** The actor's id: `shell`, `plugin:<id>`, or an invoked child's id. */
  actorId: string;
  /** `context` of a snapshot, `event` payload, `output` or `error` of a finished actor. */
  kind: "context" | "event" | "output" | "error";
}

/**
 * A redaction hook: receives a value already turned into plain JSON (built-in redaction applied: secret-
 * looking keys and the auth token are `[redacted]`) and returns what the inspector may show. If it throws,
 * the whole value is withheld: redaction fails closed.
 */
export type RedactHook = (value: Json, site: RedactionSite) => Json;

/** Options of {@link createFlightRecorder}. */
export interface FlightRecorderOptions {
  /** Ids of the machine definitions the page can draw (`shell`, `plugin`). */
  machines: readonly string[];
  redact?: RedactHook;
  /** Current secret values (the auth token), scrubbed from every string recorded. */
  secrets?: () => readonly string[];
  /** Bounds of the kept history. Default: 10,000 records, 32 MiB of JSON. */
  history?: Partial<HistoryLimits>;
  /** Largest single record in JSON bytes; larger ones have their payloads truncated. Default 64 KiB. */
  maxRecordBytes?: number;
  serialise?: Partial<SerialiseLimits>;
  allowActions?: boolean;
  hangarVersion?: string;
  /** Told when an inspection event could not be recorded; the recorder never throws into XState. */
  onError?: (error: unknown) => void;
  now?: () => number;
}

/** A live listener: gets each record as its JSON text (what the feed sends) and as data. */
export type RecordListener = (json: string, record: InspectorRecord) => void;

/** The recorder the shell adds as a second inspection observer. */
export interface FlightRecorder {
  /** Pass to `createActor(..., { inspect })`, alone or combined with another observer. */
  readonly observer: Observer<InspectionEvent>;
  readonly session: SessionInfo;
  /** The header of the current window (its `historyStartsAt` moves as old records are dropped). */
  header(): SessionHeader;
  /** The base and the kept history as JSON texts, in `seq` order: what a late page needs. */
  window(): { header: SessionHeader; lines: string[] };
  /** Subscribes to every record from now on; call or dispose the returned Subscription to end it. */
  subscribe(listener: RecordListener): Subscription;
  /** The whole window as a session file. */
  exportSession(): string;
  /** A root actor (the shell or a plugin) by id (`shell`, `plugin:<id>`) or key, for inspector actions. */
  rootActor(idOrKey: string): AnyActorRef | undefined;
  /** Kept records and their JSON bytes, records dropped or failed, actors known, live listeners. */
  stats(): {
    records: number;
    bytes: number;
    dropped: number;
    failed: number;
    actors: number;
    listeners: number;
  };
}

const DEFAULT_MAX_RECORD_BYTES = 64 * 1024;

/** Creates a recorder. It records nothing until it is given to actors as their `inspect` observer. */
export function createFlightRecorder(options: FlightRecorderOptions): FlightRecorder {
  const now = options.now ?? Date.now;
  const machines = new Set(options.machines);
  const history = new BoundedHistory(options.history);
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const listeners = new Set<RecordListener>();
  const jsonOf = new WeakMap<InspectorRecord, string>();
  // Known actors. Children are forgotten once finished or no longer listed by their parent, so a shell that
  // runs for weeks (a new child per hook call) keeps only the live ones; roots are the shell and the plugins.
  const actors = new Map<string, ActorInfo>();
  const childrenOf = new Map<string, Set<string>>();
  const roots = new Map<string, AnyActorRef>();
  let seq = 0;
  let failed = 0;

  const session: SessionInfo = {
    id: randomUUID(),
    startedAt: new Date(now()).toISOString(),
    hangarVersion: options.hangarVersion ?? "unknown",
    maxRecords: history.limits.maxRecords,
    allowActions: options.allowActions === true,
  };

  const serialise = (value: unknown, actorId: string, kind: RedactionSite["kind"]): Json => {
    const json = toJson(value, { limits: options.serialise ?? {}, secrets: options.secrets?.() ?? [] });
    if (!options.redact) return json;
    try {
      // The hook may return anything: serialise its answer too, so a careless hook cannot break a record.
      return toJson(options.redact(json, { actorId, kind }), {
        limits: options.serialise ?? {},
        secrets: options.secrets?.() ?? [],
      });
    } catch (error) {
      report(error);
      return `${REDACTED} (the inspector's redact hook threw, so this ${kind} is withheld)`;
    }
  };

  const report = (error: unknown): void => {
    try {
      options.onError?.(error);
    } catch {
      // The error reporter itself failed: nothing safe is left to do.
    }
  };

  const infoOf = (ref: AnyActorRef): ActorInfo => {
    const known = actors.get(ref.sessionId);
    if (known) return known;
    const logic = (ref as { logic?: { id?: unknown; root?: unknown } }).logic;
    const logicId = typeof logic?.id === "string" ? logic.id : null;
    const parent = (ref as { _parent?: AnyActorRef })._parent;
    const src = (ref as { src?: unknown }).src;
    const info: ActorInfo = {
      key: ref.sessionId,
      id: ref.id,
      parent: parent?.sessionId ?? null,
      machine: logic?.root !== undefined && logicId !== null && machines.has(logicId) ? logicId : null,
      src: parent ? (typeof src === "string" ? src : logicId) : null,
    };
    actors.set(ref.sessionId, info);
    if (info.parent === null) roots.set(ref.sessionId, ref);
    else {
      const siblings = childrenOf.get(info.parent) ?? new Set<string>();
      siblings.add(info.key);
      childrenOf.set(info.parent, siblings);
    }
    return info;
  };

  const eventData = (event: { type?: unknown }, actorId: string): EventData => {
    const type = typeof event.type === "string" ? event.type : String(event.type);
    const { type: _type, ...payload } = event as Record<string, unknown>;
    if (Object.keys(payload).length === 0) return { type };
    const data = serialise(payload, actorId, "event");
    return data !== null && typeof data === "object" && !Array.isArray(data)
      ? { type, ...data }
      : { type, payload: data };
  };

  const snapshotData = (snapshot: unknown, info: ActorInfo): SnapshotData => {
    const source = snapshot as {
      status?: unknown;
      value?: unknown;
      context?: unknown;
      children?: Record<string, AnyActorRef>;
      output?: unknown;
      error?: unknown;
    };
    const data: SnapshotData = { status: typeof source.status === "string" ? source.status : "active" };
    if (info.machine !== null) {
      data.value = toJson(source.value);
      data.context = serialise(source.context, info.id, "context");
    }
    if (source.children && typeof source.children === "object") {
      data.children = Object.values(source.children).map((child) => child.sessionId);
    }
    if (source.output !== undefined) data.output = serialise(source.output, info.id, "output");
    if (source.error !== undefined) data.error = serialise(source.error, info.id, "error");
    return data;
  };

  const toRecord = (event: InspectionEvent): InspectorRecord | null => {
    const base = { seq, at: now() };
    switch (event.type) {
      case "@xstate.actor":
        return { ...base, kind: "actor", actor: infoOf(event.actorRef as AnyActorRef) };
      case "@xstate.event": {
        const target = infoOf(event.actorRef as AnyActorRef);
        return {
          ...base,
          kind: "event",
          target: target.key,
          source: event.sourceRef ? infoOf(event.sourceRef as AnyActorRef).key : null,
          event: eventData(event.event, target.id),
        };
      }
      case "@xstate.snapshot": {
        const info = infoOf(event.actorRef as AnyActorRef);
        return {
          ...base,
          kind: "snapshot",
          actor: info.key,
          cause: String(event.event.type),
          snapshot: snapshotData(event.snapshot, info),
        };
      }
      case "@xstate.microstep": {
        const info = infoOf(event.actorRef as AnyActorRef);
        // A microstep without transitions (an eventless check that found nothing) says nothing new.
        const transition = event._transitions[0];
        if (!transition) return null;
        return {
          ...base,
          kind: "transition",
          actor: info.key,
          event: String(event.event.type),
          source: statePath(transition.source),
          targets: (transition.target ?? []).map(statePath),
        };
      }
      case "@xstate.action": {
        // XState's own bookkeeping actions (spawn, stop, cancel, raise) are noise next to the named ones.
        if (event.action.type.startsWith("xstate.")) return null;
        const info = infoOf(event.actorRef as AnyActorRef);
        return { ...base, kind: "action", actor: info.key, action: event.action.type };
      }
      default:
        return null;
    }
  };

  /** Keeps a record under maxRecordBytes by truncating its payloads, the parts that can grow. */
  const fitted = (record: InspectorRecord): string => {
    const json = JSON.stringify(record);
    if (json.length <= maxRecordBytes) return json;
    const note = { $type: "truncated", reason: `record of ${json.length} bytes exceeds ${maxRecordBytes}` };
    if (record.kind === "snapshot") {
      const { status, value, children } = record.snapshot;
      record.snapshot = { status, context: note };
      if (value !== undefined) record.snapshot.value = value;
      if (children !== undefined) record.snapshot.children = children.slice(0, 1000);
    } else if (record.kind === "event") {
      record.event = { type: record.event.type.slice(0, 200), payload: note };
    }
    return JSON.stringify(record);
  };

  const observe = (event: InspectionEvent): void => {
    try {
      const record = toRecord(event);
      if (record === null) return;
      // Transitions are recorded only for machine actors: promise actors have no statechart to follow.
      if (record.kind === "transition" && actors.get(record.actor)?.machine === null) return;
      seq += 1;
      if (record.kind === "snapshot") forgetFinished(record.actor, record.snapshot);
      const json = fitted(record);
      jsonOf.set(record, json);
      history.append(record, json.length);
      for (const listener of listeners) {
        try {
          listener(json, record);
        } catch (error) {
          report(error);
        }
      }
    } catch (error) {
      // An inspection observer that throws could break the actor that is being inspected.
      failed += 1;
      report(error);
    }
  };

  const forget = (key: string): void => {
    const info = actors.get(key);
    actors.delete(key);
    for (const child of childrenOf.get(key) ?? []) forget(child);
    childrenOf.delete(key);
    if (info?.parent) childrenOf.get(info.parent)?.delete(key);
  };

  /** After a snapshot: a finished child is gone, and so is every child its parent no longer lists. */
  const forgetFinished = (key: string, snapshot: SnapshotData): void => {
    const info = actors.get(key);
    if (info && info.parent !== null && snapshot.status !== "active") {
      forget(key);
      return;
    }
    const live = new Set(snapshot.children ?? []);
    for (const child of [...(childrenOf.get(key) ?? [])]) if (!live.has(child)) forget(child);
  };

  const header = (): SessionHeader => ({
    format: SESSION_FORMAT,
    version: SESSION_FORMAT_VERSION,
    session,
    historyStartsAt: history.historyStartsAt(),
  });

  const lines = (): string[] =>
    [...history.base(), ...history.records()].map((record) => jsonOf.get(record) ?? JSON.stringify(record));

  return {
    observer: { next: observe },
    session,
    header,
    window: () => ({ header: header(), lines: lines() }),
    subscribe(listener) {
      listeners.add(listener);
      return toSubscription(() => {
        listeners.delete(listener);
      });
    },
    exportSession() {
      return formatSessionFile({ ...header(), exportedAt: new Date(now()).toISOString() }, [
        ...history.base(),
        ...history.records(),
      ]);
    },
    rootActor(idOrKey) {
      const byKey = roots.get(idOrKey);
      if (byKey) return byKey;
      for (const ref of roots.values()) if (ref.id === idOrKey) return ref;
      return undefined;
    },
    stats: () => ({
      records: history.length,
      bytes: history.bytes,
      dropped: history.dropped,
      failed,
      actors: actors.size,
      listeners: listeners.size,
    }),
  };
}

/** A state node's path below its machine's root: `booting.auth.done`; empty for the root. */
function statePath(node: { path?: readonly string[] }): string {
  return (node.path ?? []).join(".");
}

/**
 * Combines the user's inspection observer (a function or an Observer) with the recorder's. The recorder
 * sees each event first and never throws; the user's observer is called as XState would call it.
 */
export function combineObservers(
  user: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined,
  recorder: Observer<InspectionEvent> | undefined,
): Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined {
  if (!recorder) return user;
  if (!user) return recorder;
  return {
    next(event) {
      recorder.next?.(event);
      if (typeof user === "function") user(event);
      else user.next?.(event);
    },
    error(error) {
      if (typeof user !== "function") user.error?.(error);
    },
    complete() {
      if (typeof user !== "function") user.complete?.();
    },
  };
}
