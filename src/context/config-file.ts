// Headless plugin config: one JSON object per plugin in <dataDir>/config/<id>.json, written durably with group commit.
import { open, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { createError, errorMessage, messageOf } from "../errors.js";
import type { JsonValue, PluginConfigStore } from "../sdk/types.js";
import type { ConfigBackend, ConfigWarningListener } from "./config-backend.js";
import { readConfigJournal } from "./config-journal.js";
import { assertConfigKey, cloneJsonValue, copyConfigValue, isReservedConfigKey } from "./config-value.js";
import {
  configJournalOf,
  configWriterGeneration,
  forgetConfigStore,
  isStaleConfigTempFile,
  nextConfigStoreId,
  writeConfigFile,
} from "./config-writer.js";

export interface FileConfigBackendOptions {
  /** Config files live in `<dataDir>/config`; the folder is created on the first write. */
  dataDir: string;
  /** Told when a store recovers from a problem (a corrupt file moved aside). Default: process.emitWarning. */
  onWarning?: ConfigWarningListener;
  /**
   * A file's journal is folded into its JSON file once it holds more than this many bytes (default 1 MiB,
   * about 10,000 small sets). Smaller: a shorter replay on open, more full-file writes.
   */
  journalLimitBytes?: number;
  /** A file's journal is folded into its JSON file once no change has come for this long (ms; default 1,000). */
  journalIdleMs?: number;
}

/** The file backend, plus diagnostics for tests and benchmarks. */
export interface FileConfigBackend extends ConfigBackend {
  /**
   * How many durable writes (a journal append, or a JSON file renamed into place) acknowledged changes so
   * far, across all plugins. A batch of changes made while a write was in flight counts once.
   */
  readonly writeCount: number;
  /** The file that holds `pluginId`'s values. */
  fileOf(pluginId: string): string;
}

/** What {@link readConfigFile} found on disk. */
export interface ConfigFileContent {
  /** The file's keys and values, reserved keys left out; empty when there was no usable file. */
  values: Map<string, JsonValue>;
  /** The file's permission bits, to give its replacement; 0o666 (less the umask) when there was none. */
  mode: number;
}

// Same rule as plugin.json's `id`: also what keeps an id from naming a path outside the config folder.
const pluginIdPattern = /^[a-z0-9][a-z0-9-]{0,63}$/;

const DELETED = Symbol("deleted");
/** Settled once: a store's first change schedules its write as this promise's reaction, a microtask. */
const WRITE_SOON = Promise.resolve();
/** Not a change: asks for the journal to be folded into the JSON file and deleted (flush). */
const FOLD = Symbol("fold");
type Change = {
  key: string;
  value: JsonValue | typeof DELETED | typeof FOLD;
  resolve: () => void;
  reject: (error: unknown) => void;
};

// The writer thread keeps each store's entries; once a store is garbage, so are they.
const writerEntries = new FinalizationRegistry<number>(forgetConfigStore);

/**
 * Creates the file backend. A `set`/`delete` resolves only once the change is durable: appended to the
 * file's journal (`<id>.json.journal`) and fdatasynced, or, for a store's first write, in the JSON file
 * (temp file, fdatasync, rename, folder fsync). The journal is folded into the JSON file past
 * `journalLimitBytes`, after `journalIdleMs` without changes, and on `flush()`, which also deletes it: after
 * a flush the folder holds electron-store's format only. On open, the journal is replayed over the JSON
 * file; a torn tail (a write a crash cut short, never acknowledged) is ignored. Changes made while a write is
 * in flight are batched into the next single write (group commit). The writes run on a worker thread that
 * keeps each file's serialised entries: a set costs the main thread the JSON of the changed value and one
 * message, whatever the file's size.
 */
export function createFileConfigBackend(options: FileConfigBackendOptions): FileConfigBackend {
  const configDir = path.resolve(options.dataDir, "config");
  const stores = new Map<string, PluginConfigStore>();
  let writeCount = 0;

  const warn = (pluginId: string, message: string): void =>
    reportConfigWarning(options.onWarning, pluginId, message);

  const fileOf = (pluginId: string): string => configFileOf(configDir, pluginId);

  const { track, settled } = createPendingWrites();
  const journalLimitBytes = options.journalLimitBytes ?? 1024 * 1024;
  const journalIdleMs = options.journalIdleMs ?? 1000;
  /** Per store: queues a fold when its journal may hold records (for flush), else returns null. */
  const folds = new Set<() => Promise<void> | null>();

  const createStore = (pluginId: string): PluginConfigStore => {
    const file = fileOf(pluginId);
    const storeId = nextConfigStoreId();
    // `committed` is what the file on disk holds; `view` is that plus every accepted change not yet written.
    let committed = new Map<string, JsonValue>();
    let view = new Map<string, JsonValue>();
    let mode = 0o666;
    let queued: Change[] = [];
    /** A write is queued or in flight. */
    let draining = false;
    let loading: Promise<void> | null = null;
    // The writer thread that holds `committed` as serialised entries; 0: none does, send them all.
    let writerHolds = 0;
    let loaded = false;
    // A journal may exist on disk (this store wrote since its last fold, or found one on open).
    let journalMayExist = false;

    // Every call awaits the same promise, so calls made in one order are served in that order.
    const ready = (): Promise<void> => {
      loading ??= load().catch((error: unknown) => {
        loading = null; // a failed read is retried on the next call
        throw error;
      });
      return loading;
    };

    const load = async (): Promise<void> => {
      const content = await readConfigFile(file, pluginId, options.onWarning);
      const journal = await readConfigJournal(configJournalOf(file)).catch((error: unknown) => {
        const parts = { pluginId, file: configJournalOf(file), reason: messageOf(error) };
        throw createError("HANGAR_CONFIG_READ", parts, { cause: error });
      });
      // The journal holds acknowledged changes newer than the JSON file: replay them over it, in order.
      for (const [key, ...value] of journal.operations) {
        if (isReservedConfigKey(key)) continue; // never written by hangar: refused at set()
        if (value.length === 0) content.values.delete(key);
        else content.values.set(key, value[0]!);
      }
      committed = content.values;
      view = new Map(committed);
      mode = content.mode;
      journalMayExist = journal.exists; // even empty: a clean stop leaves none behind
      await removeStaleTempFiles(file, (message) => warn(pluginId, message));
      loaded = true;
    };

    // One write at a time per store; changes queued meanwhile go together in the next (group commit). Written
    // with callbacks rather than as an async loop: a lone set then costs one promise (the caller's) and the
    // write's, not an async function's promise and its awaits as well (issue 13: main-thread time per set).
    const writeNext = (): void => {
      if (queued.length === 0) {
        draining = false; // in the same tick as the empty check, so no change can slip between
        return;
      }
      const batch = queued;
      queued = [];
      // `view` is now exactly `committed` plus `batch`: send everything, or what the batch changed.
      const generation = configWriterGeneration();
      const full = writerHolds !== generation;
      let fold = false;
      let changes = false;
      for (const change of batch) {
        if (change.value === FOLD) fold = true;
        else changes = true;
      }
      const entries = full ? entriesOf(view) : changesOf(batch, view);
      writeConfigFile({ storeId, file, mode, full, fold, entries, journalLimitBytes, journalIdleMs }).then(
        () => {
          writerHolds = generation;
          journalMayExist = !fold;
          if (changes) writeCount++; // a fold alone changes nothing
          for (const change of batch) apply(committed, change);
          for (const change of batch) change.resolve();
          writeNext();
        },
        (cause: unknown) => {
          writerHolds = 0;
          const error = createError(
            "HANGAR_CONFIG_WRITE",
            { pluginId, file, reason: messageOf(cause), folder: configDir },
            { cause },
          );
          // Forget the failed changes, so what get() returns matches the disk (plus changes still queued).
          view = new Map(committed);
          for (const change of queued) apply(view, change);
          for (const change of batch) change.reject(error);
          writeNext();
        },
      );
    };

    const enqueue = (key: string, value: JsonValue | typeof DELETED | typeof FOLD): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const change: Change = { key, value, resolve, reject };
        queued.push(change);
        apply(view, change);
        if (!draining) {
          draining = true;
          // Let every change made in this tick join the first write. A settled promise's reaction rather than
          // queueMicrotask, which wraps each callback in an async resource of its own (init, before/after and
          // destroy hooks: about as much as the rest of a lone set's bookkeeping; issue 13).
          void WRITE_SOON.then(writeNext);
        }
      });

    // Calls are served in the order they are made. Once the file is loaded and no call still waits for it,
    // a call runs at once (a lone set's main-thread cost is then the queueing itself); before, each call
    // waits for the same load, in order.
    let waiting = 0;
    const whenLoaded = <T>(operation: () => T | Promise<T>): Promise<T> => {
      if (loaded && waiting === 0) {
        try {
          return Promise.resolve(operation());
        } catch (error) {
          return Promise.reject(error);
        }
      }
      waiting++;
      return ready().then(
        () => {
          waiting--;
          return operation();
        },
        (error: unknown) => {
          waiting--;
          throw error;
        },
      );
    };

    const store: PluginConfigStore = Object.freeze({
      get<T = JsonValue>(key: string, defaultValue?: T): Promise<T | undefined> {
        try {
          assertConfigKey(pluginId, "get", key);
        } catch (error) {
          return Promise.reject(error);
        }
        return whenLoaded(() => {
          const value = view.get(key);
          return value === undefined ? defaultValue : (cloneJsonValue(value) as T);
        });
      },
      set(key: string, value: unknown): Promise<void> {
        let copy: JsonValue;
        try {
          assertConfigKey(pluginId, "set", key);
          copy = copyConfigValue(pluginId, key, value);
        } catch (error) {
          return Promise.reject(error);
        }
        return track(whenLoaded(() => enqueue(key, copy)));
      },
      delete(key: string): Promise<void> {
        try {
          assertConfigKey(pluginId, "delete", key);
        } catch (error) {
          return Promise.reject(error);
        }
        return track(
          whenLoaded(() => {
            // Nothing to remove and nothing in flight that could add it back: the disk already agrees.
            if (!view.has(key) && !draining) return;
            return enqueue(key, DELETED);
          }),
        );
      },
      getAll(): Promise<Record<string, JsonValue>> {
        return whenLoaded(() => {
          // Reserved keys never get into `view`, so a plain object cannot be polluted here.
          const all: Record<string, JsonValue> = {};
          for (const [key, value] of view) all[key] = cloneJsonValue(value);
          return all;
        });
      },
    });
    writerEntries.register(store, storeId);
    // A failed fold loses nothing: the journal keeps every change and is replayed on the next open.
    folds.add(() =>
      journalMayExist
        ? enqueue("", FOLD).catch((error: unknown) =>
            warn(
              pluginId,
              `The config journal of plugin '${pluginId}' could not be folded into ${file}: ${messageOf(error)}. Nothing is lost: the journal is replayed when the store next opens.`,
            ),
          )
        : null,
    );
    return store;
  };

  return Object.freeze({
    store(pluginId: string): PluginConfigStore {
      let store = stores.get(pluginId);
      if (!store) {
        store = createStore(pluginId);
        stores.set(pluginId, store);
      }
      return store;
    },
    async flush(): Promise<void> {
      await settled();
      // Then fold every journal into its JSON file and delete it: the folder is electron-store's format again.
      for (const fold of folds) {
        const folding = fold();
        if (folding) track(folding);
      }
      await settled();
    },
    get writeCount() {
      return writeCount;
    },
    fileOf,
  });
}

/**
 * Reads one plugin's config file, the format both backends share: a JSON object of keys and values.
 * A missing file is an empty config. A file that is not a JSON object is moved aside to
 * `<file>.corrupt-<timestamp>` and reported through `onWarning`; reserved keys in it are left out and
 * reported. Rejects with `HANGAR_CONFIG_READ` when the file exists but cannot be read, and with
 * `HANGAR_CONFIG_CORRUPT` when a corrupt file cannot be moved aside.
 */
export async function readConfigFile(
  file: string,
  pluginId: string,
  onWarning?: ConfigWarningListener,
): Promise<ConfigFileContent> {
  const warn = (message: string): void => reportConfigWarning(onWarning, pluginId, message);
  let text: string;
  let mode: number;
  try {
    const handle = await open(file, "r");
    try {
      mode = (await handle.stat()).mode & 0o777;
      text = await handle.readFile("utf8");
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { values: new Map(), mode: 0o666 };
    throw createError("HANGAR_CONFIG_READ", { pluginId, file, reason: messageOf(error) }, { cause: error });
  }
  let parsed: unknown;
  let problem: string | undefined;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    problem = `it is not valid JSON (${messageOf(error)})`;
  }
  if (problem === undefined && (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))) {
    problem = `it holds ${Array.isArray(parsed) ? "an array" : parsed === null ? "null" : `a ${typeof parsed}`}, not a JSON object of keys and values`;
  }
  if (problem !== undefined) {
    const moved = await moveAside(file, pluginId, problem);
    warn(errorMessage("HANGAR_CONFIG_CORRUPT", "movedAside", { pluginId, problem, moved }));
    return { values: new Map(), mode };
  }
  const values = new Map<string, JsonValue>();
  for (const [key, value] of Object.entries(parsed as Record<string, JsonValue>)) {
    if (isReservedConfigKey(key)) {
      warn(errorMessage("HANGAR_CONFIG_CORRUPT", "reservedKey", { pluginId, file, key }));
      continue;
    }
    values.set(key, value);
  }
  return { values, mode };
}

/** Calls `listener`, or process.emitWarning without one; a throwing listener cannot swallow the warning. */
export function reportConfigWarning(
  listener: ConfigWarningListener | undefined,
  pluginId: string,
  message: string,
): void {
  try {
    if (listener) listener(pluginId, message);
    else process.emitWarning(message, { code: "HANGAR_CONFIG_CORRUPT" });
  } catch (error) {
    process.emitWarning(`${message} (the onWarning listener threw: ${messageOf(error)})`, {
      code: "HANGAR_CONFIG_CORRUPT",
    });
  }
}

async function moveAside(file: string, pluginId: string, problem: string): Promise<string> {
  const stamp = new Date().toISOString().replaceAll(":", "");
  let target = `${file}.corrupt-${stamp}`;
  // rename() would silently replace an earlier corrupt copy made in the same millisecond.
  for (let n = 1; await exists(target); n++) target = `${file}.corrupt-${stamp}-${n}`;
  try {
    await rename(file, target);
  } catch (error) {
    throw createError(
      "HANGAR_CONFIG_CORRUPT",
      "moveFailed",
      { pluginId, file, problem, reason: messageOf(error) },
      { cause: error },
    );
  }
  return target;
}

/** Deletes temp files a killed process left beside `file` mid-write; they never hold anything acknowledged. */
async function removeStaleTempFiles(file: string, warn: (message: string) => void): Promise<void> {
  const folder = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return; // no folder yet, or unreadable: the write will say so
  }
  for (const name of names) {
    if (!isStaleConfigTempFile(name, base)) continue;
    await rm(path.join(folder, name), { force: true }).catch((error: unknown) =>
      warn(
        errorMessage("HANGAR_CONFIG_CORRUPT", "tempFileLeft", {
          file: path.join(folder, name),
          reason: messageOf(error),
        }),
      ),
    );
  }
}

/** Every entry of `values`, serialised, in order. */
function entriesOf(values: Map<string, JsonValue>): [string, string | null][] {
  const entries: [string, string | null][] = [];
  for (const [key, value] of values) entries.push([key, JSON.stringify(value, null, "\t")]);
  return entries;
}

/**
 * The batch as writer-thread operations that leave its entries in the order of `view`: a set keeps an
 * existing key's place and a delete then set moves it to the end, as in a Map. Repeated sets of a key
 * collapse into one, and each carries the key's final value (a key that ends deleted is deleted by a
 * later operation, so its sets carry a placeholder).
 */
function changesOf(batch: Change[], view: Map<string, JsonValue>): [string, string | null][] {
  if (batch.length === 1) {
    // A lone change, the common case at one set at a time: no bookkeeping of repeated keys to do.
    const { key, value } = batch[0]!;
    if (value === FOLD) return [];
    if (value === DELETED) return [[key, null]];
    const final = view.get(key);
    return [[key, final === undefined ? "null" : JSON.stringify(final, null, "\t")]];
  }
  const operations: [string, string | null][] = [];
  const last = new Map<string, "set" | "delete">();
  const texts = new Map<string, string>();
  for (const { key, value } of batch) {
    if (value === FOLD) continue;
    const kind = value === DELETED ? "delete" : "set";
    if (last.get(key) === kind) continue;
    last.set(key, kind);
    if (kind === "delete") {
      operations.push([key, null]);
      continue;
    }
    let text = texts.get(key);
    if (text === undefined) {
      const final = view.get(key);
      text = final === undefined ? "null" : JSON.stringify(final, null, "\t");
      texts.set(key, text);
    }
    operations.push([key, text]);
  }
  return operations;
}

function apply(target: Map<string, JsonValue>, change: Change): void {
  if (change.value === FOLD) return;
  if (change.value === DELETED) target.delete(change.key);
  else target.set(change.key, change.value);
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** The file of one plugin's config in `dir`. The id is checked again: a path is built from it. */
export function configFileOf(dir: string, pluginId: string): string {
  if (!pluginIdPattern.test(pluginId)) {
    throw createError("HANGAR_INTERNAL", "configStoreId", { pluginId, pattern: String(pluginIdPattern) });
  }
  return path.join(dir, `${pluginId}.json`);
}

/** Remembers every set/delete in progress, so flush() can wait for all of them, even those still loading. */
export function createPendingWrites() {
  // A count and the callers of settled() waiting for it to reach 0, rather than a set of promises: one fewer
  // promise and set entry per set (issue 13: main-thread time per set).
  let pending = 0;
  let waiters: Array<() => void> = [];
  const done = (): void => {
    pending -= 1;
    if (pending > 0) return;
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
  };
  return {
    track<T>(promise: Promise<T>): Promise<T> {
      pending += 1;
      promise.then(done, done);
      return promise;
    },
    settled(): Promise<void> {
      return pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}
