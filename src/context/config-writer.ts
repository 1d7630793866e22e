// Writes config files durably on a worker thread, so a set costs the main thread one message, not a dozen fs calls.

import { Worker } from "node:worker_threads";
import { isProcessAlive } from "../base/process-alive.js";

/**
 * One durable change to one store's config. The writer thread keeps each store's last written entries, so a
 * request normally carries only the keys a batch changed, and is appended to the store's journal
 * (`<file>.journal`, one fdatasync); `full` replaces the entries and rewrites the JSON file (first write, or
 * after the thread lost them), which also folds the journal in.
 */
export interface ConfigWriteRequest {
  /** Which store's entries to update; unique in this process (see {@link nextConfigStoreId}). */
  storeId: number;
  /** The JSON file, e.g. `<dataDir>/config/<id>.json`; its journal is {@link configJournalOf}(file). */
  file: string;
  /** Permission bits for a newly written file or journal (the old file's, to keep a chmod the user made). */
  mode: number;
  /** True: `entries` is the whole content. False: `entries` are changes to the last written content. */
  full: boolean;
  /** `[key, JSON.stringify(value, null, "\t")]`, or `[key, null]` to remove the key. */
  entries: [string, string | null][];
  /**
   * True: after this change, fold the journal into the JSON file and delete the journal, so the folder holds
   * only electron-store's format (a clean stop).
   */
  fold: boolean;
  /** Fold the journal into the JSON file once it holds more than this many bytes. */
  journalLimitBytes: number;
  /** Fold the journal into the JSON file once no change has come for this long, in ms. */
  journalIdleMs: number;
}

/** What the writer thread answers, one reply per request: the request's id when it succeeded. */
type WriteReply = number | { id: number; message: string; code?: string };

/** A full write or a fold: everything the writer thread keeps about the store comes with it. */
type WriteMessage = ConfigWriteRequest & { type: "write"; id: number; tmp: string; journal: string };
/**
 * A change to a store the writer thread holds, to append to its journal: `[id, storeId, entries]`. An array,
 * because structured clone copies it in about half the time of an object with named fields (the main
 * thread's share of a lone set).
 */
type AppendMessage = [id: number, storeId: number, entries: [string, string | null][]];

/** The journal beside a config file: `<id>.json.journal`. */
export function configJournalOf(file: string): string {
  return `${file}.journal`;
}

/**
 * How much lower the writer thread's priority is than the thread that started it, on Linux: this much added to
 * the nice value it inherits (at most 19). Only the order in which a contended CPU serves the threads changes:
 * a set is still acknowledged after the same fdatasync.
 */
const WRITER_NICE = 10;

/**
 * The writer thread, as CommonJS source: a file would need a build step per runtime (tsx, vitest, dist,
 * an asar archive); a string runs in all of them. It takes the requests that arrived since its last round.
 * A change to a store it holds is one record appended to the store's journal and fdatasynced (the journal
 * exists already, so its folder needs no flush); it answers at once. A full write (or a fold) writes `{`, the
 * entries and `}` with one writev to a new temp file, fdatasyncs it and renames it over the JSON file; then
 * it fsyncs each folder once for all the renames in it, empties the journal (or deletes it, for a fold) and
 * answers. The same compaction runs, unanswered, when a journal passes its size limit or its store has been
 * idle. Blocking calls are cheaper here than async ones (no thread-pool hops on a thread that has nothing
 * else to do). On Linux it runs {@link WRITER_NICE} nice levels below the main thread. The JSON file is byte for byte `JSON.stringify(object, null, "\t") + "\n"`.
 *
 * Journal record (docs/config.md): `<length> <crc32 hex>\n<payload>\n`, payload a JSON array of operations,
 * `[key, value]` to set and `[key]` to delete, applied in order over the JSON file.
 */
const writerSource = String.raw`"use strict";
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const path = require("node:path");
const { crc32 } = require("node:zlib");

// Below the main thread's priority, on Linux, where a nice value is per thread: a set wakes this thread, and a
// woken thread of equal priority often preempts the thread that woke it, so the main thread would wait (inside
// postMessage) for this one's work before it could serve anything again (issue 13: main-thread time per set).
if (process.platform === "linux") {
  try {
    const os = require("node:os");
    os.setPriority(Math.min(19, os.getPriority() + ${WRITER_NICE})); // relative to the nice it inherited
  } catch {}
}

const OPEN = Buffer.from("{\n");
const COMMA = Buffer.from(",\n");
const CLOSE = Buffer.from("\n}\n");
const EMPTY = Buffer.from("{}\n");
const NEWLINE = Buffer.from("\n");
const JOURNAL_FLAGS = fs.constants.O_WRONLY | fs.constants.O_APPEND;
// storeId -> { entries: Map<key, Buffer>, file, journal, mode, fd, bytes, timer, limit, idleMs }
const stores = new Map();
let queue = [];

const entryBytes = (key, text) => Buffer.from("\t" + JSON.stringify(key) + ": " + text.replaceAll("\n", "\n\t"));

parentPort.on("message", (message) => {
  if (Array.isArray(message)) message = { type: "append", id: message[0], storeId: message[1], entries: message[2] };
  else if (message.type === "forget") {
    drop(message.storeId);
    return;
  }
  queue.push(message);
  if (queue.length === 1) setImmediate(writeRound);
});

function writeRound() {
  const round = queue;
  queue = [];
  const renamedInto = new Map();
  for (const message of round) {
    try {
      const store = update(message);
      if (message.type === "append") {
        append(store, message.entries);
        reply(message);
        if (store.bytes > store.limit) compactQuietly(store);
        else armIdle(store);
        continue;
      }
      writeJson(store, message.tmp);
      if (!message.fold) openJournal(store);
      const folder = path.dirname(message.file);
      if (!renamedInto.has(folder)) renamedInto.set(folder, []);
      renamedInto.get(folder).push({ message, store });
    } catch (error) {
      fail(message, error);
    }
  }
  for (const [folder, written] of renamedInto) {
    try {
      syncFolder(folder);
    } catch (error) {
      for (const { message } of written) fail(message, error);
      continue;
    }
    for (const { message, store } of written) {
      try {
        if (message.fold) removeJournal(store);
        else emptyJournal(store);
        reply(message);
      } catch (error) {
        fail(message, error);
      }
    }
  }
}

function reply(message) {
  parentPort.postMessage(message.id);
}

function fail(message, error) {
  // Whatever was applied is no longer known to be on disk: the next request must be full.
  drop(message.storeId);
  parentPort.postMessage({
    id: message.id,
    message: String((error && error.message) || error),
    code: error && typeof error.code === "string" ? error.code : undefined,
  });
}

function drop(storeId) {
  const store = stores.get(storeId);
  if (store === undefined) return;
  stores.delete(storeId);
  clearTimeout(store.timer);
  closeJournal(store);
}

/** Applies the message's entries to the store's; returns the store, created for a full write. */
function update(message) {
  let store = stores.get(message.storeId);
  if (message.type === "append") {
    if (store === undefined) throw new Error("the writer thread has no earlier content for this file (a defect in hangar)");
  } else if (message.full) {
    if (store === undefined) {
      store = { entries: new Map(), fd: null, bytes: 0, timer: undefined };
      stores.set(message.storeId, store);
    }
    store.entries = new Map();
  } else if (store === undefined) {
    throw new Error("the writer thread has no earlier content for this file (a defect in hangar)");
  }
  if (message.type === "write") {
    store.file = message.file;
    store.journal = message.journal;
    store.mode = message.mode;
    store.limit = message.journalLimitBytes;
    store.idleMs = message.journalIdleMs;
  }
  for (const [key, text] of message.entries) {
    if (text === null) store.entries.delete(key);
    else store.entries.set(key, entryBytes(key, text));
  }
  return store;
}

/** One record at the journal's end, fdatasynced. A failed append is cut off again, so nothing follows garbage. */
function append(store, operations) {
  if (operations.length === 0) return;
  if (store.fd === null) {
    openJournal(store);
    syncFolder(path.dirname(store.journal)); // a journal created just now: its name must be on disk too
  }
  let payload = "[";
  for (let i = 0; i < operations.length; i++) {
    const [key, text] = operations[i];
    if (i > 0) payload += ",";
    payload += text === null ? "[" + JSON.stringify(key) + "]" : "[" + JSON.stringify(key) + "," + text + "]";
  }
  payload += "]";
  const body = Buffer.from(payload);
  const head = Buffer.from(body.length + " " + crc32(body).toString(16).padStart(8, "0") + "\n");
  const before = store.bytes;
  try {
    writeAll(store.fd, [head, body, NEWLINE]);
    fs.fdatasyncSync(store.fd);
    // Someone deleted the journal (or the folder) under us: the record went nowhere a restart would look.
    if (fs.fstatSync(store.fd).nlink === 0) throw new Error("the journal " + store.journal + " was deleted while in use");
  } catch (error) {
    try {
      fs.ftruncateSync(store.fd, before);
    } catch {}
    throw error;
  }
  store.bytes = before + head.length + body.length + 1;
}

/** Opens (or creates) the store's journal for appending, and learns its size. */
function openJournal(store) {
  if (store.fd !== null) return;
  store.fd = fs.openSync(store.journal, JOURNAL_FLAGS | fs.constants.O_CREAT, store.mode);
  store.bytes = fs.fstatSync(store.fd).size;
}

function closeJournal(store) {
  if (store.fd === null) return;
  try {
    fs.closeSync(store.fd);
  } catch {}
  store.fd = null;
}

/** After the JSON file holding everything is on disk: the journal's records are all in it. */
function emptyJournal(store) {
  if (store.bytes === 0) return;
  fs.ftruncateSync(store.fd, 0);
  fs.fsyncSync(store.fd);
  store.bytes = 0;
}

function removeJournal(store) {
  clearTimeout(store.timer);
  closeJournal(store);
  store.bytes = 0;
  try {
    fs.unlinkSync(store.journal);
  } catch (error) {
    if (error.code !== "ENOENT") throw error;
  }
}

function armIdle(store) {
  clearTimeout(store.timer);
  // drop() and removeJournal() clear the timer: a store it fires for is still held.
  store.timer = setTimeout(() => compactQuietly(store), store.idleMs);
}

/**
 * Folds the journal into the JSON file without a waiting caller. A failure loses nothing (the journal still
 * holds every record, and a torn JSON write never replaces the file), so the journal simply keeps growing.
 */
function compactQuietly(store) {
  clearTimeout(store.timer);
  if (store.bytes === 0) return;
  try {
    writeJson(store, store.file + "." + process.pid + "-0.tmp");
    syncFolder(path.dirname(store.file));
    emptyJournal(store);
  } catch {
    try {
      if (store.fd !== null) store.bytes = fs.fstatSync(store.fd).size;
    } catch {}
  }
}

function writeJson(store, tmp) {
  const parts = [];
  if (store.entries.size === 0) parts.push(EMPTY);
  else {
    parts.push(OPEN);
    for (const bytes of store.entries.values()) {
      if (parts.length > 1) parts.push(COMMA);
      parts.push(bytes);
    }
    parts.push(CLOSE);
  }
  replaceFile(store.file, tmp, store.mode, parts);
}

function writeAll(fd, parts) {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  let written = fs.writevSync(fd, parts);
  while (written < total) {
    const rest = Buffer.concat(parts).subarray(written);
    written += fs.writeSync(fd, rest, 0, rest.length);
  }
}

function replaceFile(file, tmp, mode, parts) {
  let fd;
  try {
    fd = fs.openSync(tmp, "wx", mode);
  } catch (error) {
    if (error.code !== "ENOENT") throw error;
    makeFolder(path.dirname(file));
    fd = fs.openSync(tmp, "wx", mode);
  }
  try {
    try {
      writeAll(fd, parts);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (error) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {}
    throw error;
  }
}

// A new folder's entry lives in its parent: every parent of a created folder must be fsynced too.
function makeFolder(folder) {
  const created = fs.mkdirSync(folder, { recursive: true });
  if (created === undefined) return;
  for (let parent = path.dirname(folder); ; parent = path.dirname(parent)) {
    syncFolder(parent);
    if (parent === path.dirname(created) || parent === path.dirname(parent)) break;
  }
}

function syncFolder(folder) {
  if (process.platform === "win32") return; // NTFS needs no folder fsync, and cannot open one
  const fd = fs.openSync(folder, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
`;

let worker: Worker | null = null;
/** Bumped each time a writer thread is started; a store whose entries were sent to an older one sends them all again. */
let generation = 0;
let requestCount = 0;
let storeCount = 0;
const inFlight = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

function writer(): Worker {
  if (worker) return worker;
  const started = new Worker(writerSource, { eval: true, execArgv: [], name: "hangar config writer" });
  generation++;
  started.unref(); // only writes in flight may keep the process alive
  started.on("message", (reply: WriteReply) => {
    const id = typeof reply === "number" ? reply : reply.id;
    const waiter = inFlight.get(id);
    if (!waiter) return;
    inFlight.delete(id);
    if (inFlight.size === 0) started.unref();
    if (typeof reply === "number") waiter.resolve();
    else waiter.reject(Object.assign(new Error(reply.message), reply.code ? { code: reply.code } : {}));
  });
  const lost = (why: string): void => {
    if (worker !== started) return;
    worker = null;
    const error = new Error(`the config writer thread ${why}`);
    for (const waiter of inFlight.values()) waiter.reject(error);
    inFlight.clear();
  };
  started.on("error", (error: Error) => lost(`failed: ${error.message}`));
  started.on("exit", (code: number) => lost(`exited with code ${code}`));
  worker = started;
  return started;
}

/** A process-unique id for a store's entries on the writer thread. */
export function nextConfigStoreId(): number {
  return ++storeCount;
}

/** Which writer thread would serve a write now: when it differs from the one a store last wrote through, send `full`. */
export function configWriterGeneration(): number {
  return worker ? generation : generation + 1;
}

/**
 * Makes one change durable: resolves once it is in the journal and fdatasynced, or (full or fold) once the
 * JSON file holding it is fsynced, renamed into place and the folder fsynced; rejects with the fs error
 * otherwise (the change is then not known to be on disk, and the store's next request must be full).
 * Temp files are `<file>.<pid>-<n>.tmp`, which {@link isStaleConfigTempFile} recognises after a crash.
 */
export function writeConfigFile(request: ConfigWriteRequest): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const thread = writer();
    const id = ++requestCount;
    const message: WriteMessage | AppendMessage =
      request.full || request.fold
        ? {
            ...request,
            type: "write",
            id,
            tmp: `${request.file}.${process.pid}-${id}.tmp`,
            journal: configJournalOf(request.file),
          }
        : [id, request.storeId, request.entries];
    inFlight.set(id, { resolve, reject });
    if (inFlight.size === 1) thread.ref();
    thread.postMessage(message);
  });
}

/**
 * Stops the writer thread, if one runs; writes in flight reject, and the next write starts a new thread
 * (stores then send their whole content again). For tests, and for hosts that must end every thread.
 */
export async function stopConfigWriter(): Promise<void> {
  const thread = worker;
  if (!thread) return;
  await thread.terminate();
}

let leases = 0;

/**
 * Marks the writer thread as used by one owner (a shell). Ending the last lease stops the thread once no write
 * is in flight, so a stopped shell leaves no thread behind; a later write starts a new one. Idempotent.
 */
export function leaseConfigWriter(): () => Promise<void> {
  leases += 1;
  let ended = false;
  return async () => {
    if (ended) return;
    ended = true;
    leases -= 1;
    if (leases === 0 && inFlight.size === 0) await stopConfigWriter();
  };
}

/** Lets the writer thread drop a store's entries (the store is gone). */
export function forgetConfigStore(storeId: number): void {
  worker?.postMessage({ type: "forget", storeId });
}

/**
 * True for `<base>.<pid>-<n>.tmp` left by a process that no longer runs (killed mid-write). Another live
 * process's temp file, or this process's, is never stale: it may be about to be renamed.
 */
export function isStaleConfigTempFile(name: string, base: string): boolean {
  if (!name.startsWith(`${base}.`) || !name.endsWith(".tmp")) return false;
  const match = /^(\d+)-\d+$/.exec(name.slice(base.length + 1, -".tmp".length));
  if (!match) return false;
  return !isProcessAlive(Number(match[1]));
}
