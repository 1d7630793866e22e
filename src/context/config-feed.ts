// Keeps plugin UIs' config in step with the shell's store: every durable set/delete, from the background
// (ctx.config) or from a UI, is numbered and published; a UI asks for a snapshot and applies changes after it.
import { randomUUID } from "node:crypto";
import type { ConfigChange, ConfigJson, ConfigSnapshot } from "../ipc/ui-protocol.js";
import type { JsonValue, PluginConfigStore } from "../sdk/types.js";
import type { ConfigBackend } from "./config-backend.js";
import { assertConfigKey, copyConfigValue } from "./config-value.js";

/** The shell's config, observed: `backend` is what plugins and the shell use instead of the raw one. */
export interface ConfigFeed {
  /** The wrapped backend: same stores, same validation and durability, plus a published change per write. */
  readonly backend: ConfigBackend;
  /** One plugin's values and the revision they are at. */
  snapshot(pluginId: string): Promise<ConfigSnapshot>;
  /**
   * Sets a key through the plugin's store (as `ctx.config.set` does) and resolves, once it is on disk, with
   * the change as published. Rejects with the store's own error (a TypeError for a bad key or value).
   */
  set(pluginId: string, key: string, value: unknown): Promise<ConfigChange>;
}

/** Options of {@link createConfigFeed}. */
export interface ConfigFeedOptions {
  /** Receives each change; the shell sends it on `hangar:config:<pluginId>`. Must not throw. */
  publish(change: ConfigChange): void;
}

interface Observed {
  /** The store plugins get: the backend's, publishing each durable change. */
  store: PluginConfigStore;
  /** `store.set` that resolves with the change it published. */
  set(key: string, value: unknown): Promise<ConfigChange>;
  revision(): number;
}

/** Wraps `backend` so that every durable change is numbered and published. One feed per shell. */
export function createConfigFeed(backend: ConfigBackend, options: ConfigFeedOptions): ConfigFeed {
  // A restarted shell numbers from 0 again; the epoch tells a reconnecting UI that its revisions are void.
  const epoch = randomUUID();
  const observed = new Map<string, Observed>();

  function observe(pluginId: string): Observed {
    let entry = observed.get(pluginId);
    if (!entry) {
      entry = observeStore(pluginId, backend.store(pluginId));
      observed.set(pluginId, entry);
    }
    return entry;
  }

  function observeStore(pluginId: string, inner: PluginConfigStore): Observed {
    let revision = 0;
    const next = (): number => {
      revision += 1;
      return revision;
    };
    /** A write that failed may have been in a snapshot already: publish every value again, so no UI keeps it. */
    const resync = async (): Promise<void> => {
      const values = (await inner.getAll()) as Record<string, ConfigJson>;
      options.publish({ kind: "reset", pluginId, epoch, revision: next(), values });
    };
    const isRefusal = (error: unknown): boolean => {
      // A bad key or value is refused before anything is queued: nothing to undo.
      const code = (error as { code?: unknown })?.code;
      return code === "HANGAR_CONFIG_KEY" || code === "HANGAR_CONFIG_VALUE";
    };
    // Published in the order the writes were called, whatever order their promises settle in: a UI that
    // applied set(k) after delete(k) would show a value the disk does not hold. One slot per write, in call
    // order; a settled slot is published once every slot before it is.
    interface Slot {
      settled: boolean;
      failed: boolean;
      error: unknown;
      finish(): void;
    }
    const slots: Slot[] = [];
    const drain = (): void => {
      while (slots.length > 0 && slots[0]!.settled) slots.shift()!.finish();
    };
    const inOrder = <T>(write: Promise<void>, publish: () => T): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const slot: Slot = {
          settled: false,
          failed: false,
          error: undefined,
          finish() {
            if (!slot.failed) {
              try {
                resolve(publish());
              } catch (error) {
                reject(error);
              }
              return;
            }
            if (!isRefusal(slot.error)) void resync().catch(() => {});
            reject(slot.error);
          },
        };
        slots.push(slot);
        write.then(
          () => {
            slot.settled = true;
            drain();
          },
          (error: unknown) => {
            slot.settled = true;
            slot.failed = true;
            slot.error = error;
            drain();
          },
        );
      });
    // The copy taken at the call is what gets published: the caller may change its object before the write ends.
    const set = (key: string, value: unknown): Promise<ConfigChange> => {
      let copy: ConfigJson;
      try {
        assertConfigKey(pluginId, "set", key);
        copy = copyConfigValue(pluginId, key, value) as ConfigJson;
      } catch (error) {
        return Promise.reject(error);
      }
      return inOrder(inner.set(key, copy), () => {
        const change: ConfigChange = { kind: "set", pluginId, epoch, revision: next(), key, value: copy };
        options.publish(change);
        return change;
      });
    };
    const store: PluginConfigStore = Object.freeze({
      get: <T = JsonValue>(key: string, defaultValue?: T) => inner.get<T>(key, defaultValue),
      getAll: () => inner.getAll(),
      set(key: string, value: unknown): Promise<void> {
        return set(key, value).then(nothing);
      },
      delete(key: string): Promise<void> {
        return inOrder(inner.delete(key), () => {
          options.publish({ kind: "delete", pluginId, epoch, revision: next(), key });
        });
      },
    });
    return { store, set, revision: () => revision };
  }

  const wrapped: ConfigBackend = Object.freeze({
    store: (pluginId: string) => observe(pluginId).store,
    flush: () => backend.flush(),
  });

  return Object.freeze({
    backend: wrapped,
    async snapshot(pluginId: string): Promise<ConfigSnapshot> {
      const entry = observe(pluginId);
      const values = (await entry.store.getAll()) as Record<string, ConfigJson>;
      // Read after getAll: every change published so far is in `values` (it may also hold writes in flight,
      // whose changes arrive next and set the same values again).
      return { pluginId, epoch, revision: entry.revision(), values };
    },
    set(pluginId: string, key: string, value: unknown): Promise<ConfigChange> {
      return observe(pluginId).set(key, value);
    },
  });
}

function nothing(): void {}
