// Writes config files durably on a worker thread, so a set costs the main thread one message, not a dozen fs calls.

import { Worker } from "node:worker_threads";
import { isProcessAlive } from "../base/process-alive.js";

/**
 * One durable write of one store's file. The writer thread keeps each store's last written entries, so a
 * request normally carries only the keys a batch changed; `full` replaces them all (first write, or after
 * the thread lost them).
 */
export interface ConfigWriteRequest {
  /** Which store's entries to update; unique in this process (see {@link nextConfigStoreId}). */
  storeId: number;
  /** The file to replace, e.g. `<dataDir>/config/<id>.json`. */
  file: string;
  /** Permission bits for a newly written file (the old file's, to keep a chmod the user made). */
  mode: number;
  /** True: `entries` is the whole content. False: `entries` are changes to the last written content. */
  full: boolean;
  /** `[key, JSON.stringify(value, null, "\t")]`, or `[key, null]` to remove the key. */
  entries: [string, string | null][];
}

/** What the writer thread answers, one reply per request. */
type WriteReply = { id: number; ok: true } | { id: number; ok: false; message: string; code?: string };

type WriteMessage = ConfigWriteRequest & { type: "write"; id: number; tmp: string };

/**
 * The writer thread, as CommonJS source: a file would need a build step per runtime (tsx, vitest, dist,
 * an asar archive); a string runs in all of them. It takes the requests that arrived since its last
 * round, and for each applies the changes, writes `{`, the entries and `}` with one writev to a new temp
 * file, fsyncs it and renames it over the old file; then it fsyncs each folder once for all the renames
 * in it, and answers. Blocking calls are cheaper here than async ones (no thread-pool hops on a thread
 * that has nothing else to do), and requests that pile up meanwhile share the next round's folder fsync.
 * The output is byte for byte `JSON.stringify(object, null, "\t") + "\n"`.
 */
const writerSource = String.raw`"use strict";
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const path = require("node:path");

const OPEN = Buffer.from("{\n");
const COMMA = Buffer.from(",\n");
const CLOSE = Buffer.from("\n}\n");
const EMPTY = Buffer.from("{}\n");
const stores = new Map();
let queue = [];

const entryBytes = (key, text) => Buffer.from("\t" + JSON.stringify(key) + ": " + text.replaceAll("\n", "\n\t"));

parentPort.on("message", (message) => {
  if (message.type === "forget") {
    stores.delete(message.storeId);
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
      write(message);
      const folder = path.dirname(message.file);
      if (!renamedInto.has(folder)) renamedInto.set(folder, []);
      renamedInto.get(folder).push(message);
    } catch (error) {
      fail(message, error);
    }
  }
  for (const [folder, messages] of renamedInto) {
    try {
      syncFolder(folder);
      for (const message of messages) parentPort.postMessage({ id: message.id, ok: true });
    } catch (error) {
      for (const message of messages) fail(message, error);
    }
  }
}

function fail(message, error) {
  // Whatever was applied is no longer known to be on disk: the next request must be full.
  stores.delete(message.storeId);
  parentPort.postMessage({
    id: message.id,
    ok: false,
    message: String((error && error.message) || error),
    code: error && typeof error.code === "string" ? error.code : undefined,
  });
}

function write(message) {
  let entries = message.full ? new Map() : stores.get(message.storeId);
  if (entries === undefined) throw new Error("the writer thread has no earlier content for this file (a defect in hangar)");
  stores.set(message.storeId, entries);
  for (const [key, text] of message.entries) {
    if (text === null) entries.delete(key);
    else entries.set(key, entryBytes(key, text));
  }
  const parts = [];
  if (entries.size === 0) parts.push(EMPTY);
  else {
    parts.push(OPEN);
    for (const bytes of entries.values()) {
      if (parts.length > 1) parts.push(COMMA);
      parts.push(bytes);
    }
    parts.push(CLOSE);
  }
  replaceFile(message.file, message.tmp, message.mode, parts);
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
      const total = parts.reduce((sum, part) => sum + part.length, 0);
      let written = fs.writevSync(fd, parts);
      while (written < total) {
        const rest = Buffer.concat(parts).subarray(written);
        written += fs.writeSync(fd, rest, 0, rest.length, written);
      }
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
    const waiter = inFlight.get(reply.id);
    if (!waiter) return;
    inFlight.delete(reply.id);
    if (inFlight.size === 0) started.unref();
    if (reply.ok) waiter.resolve();
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
 * Durably replaces `request.file`: resolves once the new content is fsynced, renamed into place and the
 * folder fsynced; rejects with the fs error otherwise (the file then holds its previous content).
 * The temp file is `<file>.<pid>-<n>.tmp`, which {@link isStaleConfigTempFile} recognises after a crash.
 */
export function writeConfigFile(request: ConfigWriteRequest): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const thread = writer();
    const id = ++requestCount;
    const message: WriteMessage = {
      ...request,
      type: "write",
      id,
      tmp: `${request.file}.${process.pid}-${id}.tmp`,
    };
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
