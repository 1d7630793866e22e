// A bounded record history that stays rebuildable: what falls off the front folds into a small base.
// Used by the shell's recorder and by the page, so both keep the same window the same way.
import type { ActorRecord, InspectorRecord, SnapshotRecord } from "./protocol.js";

/** Bounds of a history. */
export interface HistoryLimits {
  /** Records kept, oldest dropped first. */
  maxRecords: number;
  /** Sum of the records' sizes (as given to `append`; the recorder uses JSON bytes). */
  maxBytes: number;
}

/** The bound: a page opened late gets (say) the last 10,000 events. */
export const DEFAULT_MAX_RECORDS = 10_000;
/** 32 MiB of JSON: far more than 10,000 ordinary records, a ceiling for unusually large ones. */
export const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

interface Entry {
  record: InspectorRecord;
  size: number;
}

interface BaseActor {
  actor?: ActorRecord;
  snapshot?: SnapshotRecord;
}

/**
 * Keeps the newest records within `limits`. A dropped record is not simply lost: the latest actor and
 * snapshot record of each actor still alive move into the *base*, so `[...base(), ...records()]` always
 * rebuilds the state of every live actor at the first kept record. The base stays small: it holds
 * root actors (the shell and the plugins) and children still listed in their parent's snapshot.
 */
export class BoundedHistory {
  readonly limits: HistoryLimits;
  #entries: Entry[] = [];
  /** Index of the oldest kept entry in `#entries`; compacted lazily so dropping is O(1). */
  #head = 0;
  #bytes = 0;
  #dropped = 0;
  readonly #base = new Map<string, BaseActor>();

  constructor(limits: Partial<HistoryLimits> = {}) {
    this.limits = {
      maxRecords: limits.maxRecords ?? DEFAULT_MAX_RECORDS,
      maxBytes: limits.maxBytes ?? DEFAULT_MAX_BYTES,
    };
  }

  /** Adds `record` (whose size is `size`) and drops the oldest records beyond the limits. */
  append(record: InspectorRecord, size = 1): void {
    this.#entries.push({ record, size });
    this.#bytes += size;
    // Always keep the newest record, even one larger than maxBytes on its own.
    while (this.length > 1 && (this.length > this.limits.maxRecords || this.#bytes > this.limits.maxBytes)) {
      this.#dropOldest();
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Number of kept records (the base not included). */
  get length(): number {
    return this.#entries.length - this.#head;
  }

  /** Sum of the kept records' sizes. */
  get bytes(): number {
    return this.#bytes;
  }

  /** How many records have been dropped so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /** The kept records, oldest first. */
  records(): InspectorRecord[] {
    return this.#entries.slice(this.#head).map((entry) => entry.record);
  }

  /** The kept record at `index` (0 = oldest kept). */
  at(index: number): InspectorRecord | undefined {
    return this.#entries[this.#head + index]?.record;
  }

  /** The base records, in `seq` order: replay them before `records()`. */
  base(): InspectorRecord[] {
    const result: InspectorRecord[] = [];
    for (const entry of this.#base.values()) {
      if (entry.actor) result.push(entry.actor);
      if (entry.snapshot) result.push(entry.snapshot);
    }
    return result.sort((a, b) => a.seq - b.seq);
  }

  /** The `seq` of the oldest kept record; records below it are base. */
  historyStartsAt(): number {
    const first = this.at(0);
    if (first) return first.seq;
    const base = this.base();
    return base.length === 0 ? 0 : (base[base.length - 1]?.seq ?? 0) + 1;
  }

  #dropOldest(): void {
    const entry = this.#entries[this.#head];
    if (!entry) return;
    this.#entries[this.#head] = undefined as unknown as Entry;
    this.#head += 1;
    this.#bytes -= entry.size;
    this.#dropped += 1;
    this.#foldIntoBase(entry.record);
  }

  #foldIntoBase(record: InspectorRecord): void {
    if (record.kind === "actor") {
      const entry = this.#base.get(record.actor.key) ?? {};
      entry.actor = record;
      this.#base.set(record.actor.key, entry);
      return;
    }
    if (record.kind !== "snapshot") return;
    const entry = this.#base.get(record.actor);
    // An actor's own record comes before its snapshots; without it here, the actor was already forgotten.
    if (!entry?.actor) return;
    // A child that has finished is gone: nothing later needs its state rebuilt.
    if (entry.actor.actor.parent !== null && record.snapshot.status !== "active") {
      this.#forget(record.actor);
      return;
    }
    entry.snapshot = record;
    this.#base.set(record.actor, entry);
    // Children no longer listed by their parent were stopped with it (an invoke cancelled on exit).
    const live = new Set(record.snapshot.children ?? []);
    for (const [key, other] of this.#base) {
      if (other.actor?.actor.parent === record.actor && !live.has(key)) this.#forget(key);
    }
  }

  #forget(key: string): void {
    this.#base.delete(key);
    for (const [childKey, other] of this.#base) {
      if (other.actor?.actor.parent === key) this.#forget(childKey);
    }
  }
}
