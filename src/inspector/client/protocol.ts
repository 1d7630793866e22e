// The inspector's wire format: the records the shell's flight recorder emits, the live feed carries and
// session files (one JSON value per line) hold. Shared by the recorder (Node) and the page (browser).

/** Plain JSON data: every record is made of it, so it survives JSON.stringify and a session file. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** {@link Json} under the name `hangar` exports it by. */
export type InspectorJson = Json;

/** `format` of a session file's first line. */
export const SESSION_FORMAT = "hangar-inspector-session";
/** Bumped when a record changes shape in a way an older page cannot read. */
export const SESSION_FORMAT_VERSION = 1;

/** One actor as the recorder first saw it. */
export interface ActorInfo {
  /** XState's `sessionId` (`x:12`): unique in the process, the key every other record uses. */
  key: string;
  /** The actor's id: `shell`, `plugin:<id>`, or an invoked child's id such as `0.plugin.loading`. */
  id: string;
  /** Key of the parent actor; null for a root actor (the shell and every plugin are roots). */
  parent: string | null;
  /** Id of the machine definition it runs (`shell`, `plugin`); null for promise and other actors. */
  machine: string | null;
  /** For an invoked child, the name of its logic (`loadPlugin`, `runOnStart`); null otherwise. */
  src: string | null;
}

/** What a snapshot looks like once serialised. Machine actors have `value` and `context`. */
export interface SnapshotData {
  status: string;
  value?: Json;
  context?: Json;
  /** Keys of the live child actors (invoked or spawned). */
  children?: string[];
  output?: Json;
  error?: Json;
}

/** An event as recorded: its type, and its payload serialised and redacted. */
export type EventData = { type: string } & { [key: string]: Json };

interface RecordBase {
  /** Position in the session, from 0, without gaps: the scrubber and exports are ordered by it. */
  seq: number;
  /** Wall-clock time in ms since the epoch. */
  at: number;
}

/** `@xstate.actor`: an actor was created. */
export interface ActorRecord extends RecordBase {
  kind: "actor";
  actor: ActorInfo;
}

/** `@xstate.event`: an event was delivered to `target`. */
export interface EventRecord extends RecordBase {
  kind: "event";
  target: string;
  /** Key of the sending actor; null when sent from outside any actor (the shell's API, the fleet). */
  source: string | null;
  event: EventData;
}

/** `@xstate.snapshot`: the actor's snapshot after processing `cause`. */
export interface SnapshotRecord extends RecordBase {
  kind: "snapshot";
  actor: string;
  /** The type of the event that produced this snapshot. */
  cause: string;
  snapshot: SnapshotData;
}

/** `@xstate.microstep`, one per transition taken: `{ event, source, targets }` as state paths (`booting.auth.done`). */
export interface TransitionRecord extends RecordBase {
  kind: "transition";
  actor: string;
  event: string;
  source: string;
  targets: string[];
}

/** `@xstate.action`: a named (non-built-in) action ran, such as `createContext` or `disposeContext`. */
export interface ActionRecord extends RecordBase {
  kind: "action";
  actor: string;
  action: string;
}

/** Everything a session is made of. */
export type InspectorRecord = ActorRecord | EventRecord | SnapshotRecord | TransitionRecord | ActionRecord;

/** Facts about the recording shell, sent first on the feed and written first in a session file. */
export interface SessionInfo {
  /** Random per shell; distinguishes sessions, grants nothing. */
  id: string;
  /** ISO time the recorder was created. */
  startedAt: string;
  hangarVersion: string;
  /** History bound: the feed and exports hold at most this many records (plus the base, see below). */
  maxRecords: number;
  /** True when the page may send events and restart plugins. */
  allowActions: boolean;
}

/**
 * First line of a session file and first message of the feed. Records with `seq` below
 * `historyStartsAt` are the *base*: the latest actor and snapshot records of actors still alive when
 * older history was dropped, so the state at the first history record can be rebuilt exactly.
 */
export interface SessionHeader {
  format: typeof SESSION_FORMAT;
  version: typeof SESSION_FORMAT_VERSION;
  session: SessionInfo;
  historyStartsAt: number;
  /** ISO time of the export; absent on the live feed. */
  exportedAt?: string;
}

/** A value the serialiser could not keep as plain JSON, described instead (`$type` marks it). */
export interface SerialisedError {
  $type: "error";
  name: string;
  message: string;
  code?: string;
  phase?: string;
  pluginId?: string;
  stack?: string;
  cause?: Json;
}

/** The actions a page may request when the shell allows them. */
export type InspectorAction =
  | { type: "update" }
  | { type: "restart"; actor: string }
  | { type: "send"; actor: string; event: EventData };
