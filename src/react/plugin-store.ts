// What a HangarProvider keeps for its plugin: the config snapshot (kept in step with the shell by revision) and the
// auth state, published to React at most once per animation frame.
import type { AuthState, ConfigChange, ConfigJson, ConfigSnapshot } from "../ipc/ui-protocol.js";
import { frameTask } from "./frame.js";
import type { PluginChannel } from "./transport.js";

/** What components render from. A new object each time something changed; never mutated. */
export interface PluginView {
  /** The config values, deeply frozen; null until the first snapshot has arrived. */
  config: Readonly<Record<string, ConfigJson>> | null;
  /** Null until the shell has answered. */
  authenticated: boolean | null;
}

interface Synced {
  epoch: string;
  revision: number;
  values: Record<string, ConfigJson>;
}

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;

export class PluginStore {
  readonly #channel: PluginChannel;
  readonly #subscribers = new Set<() => void>();
  readonly #publish = frameTask(() => this.#flush());
  #view: PluginView = { config: null, authenticated: null };
  #config: Synced | null = null;
  #authenticated: boolean | null = null;
  /** Changes that arrived while a snapshot was on its way; null when none is. */
  #buffered: ConfigChange[] | null = null;
  #syncing: Promise<void> | null = null;
  #generation = 0;
  #retryDelay = RETRY_MIN_MS;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #running = false;

  constructor(channel: PluginChannel) {
    this.#channel = channel;
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#subscribers.add(listener);
    return () => {
      this.#subscribers.delete(listener);
    };
  };

  readonly getSnapshot = (): PluginView => this.#view;

  /** Subscribes to the shell and reads the snapshot; the returned function undoes every subscription. */
  start(): () => void {
    this.#running = true;
    const offs = [
      this.#channel.onConfig((change) => this.#receive(change)),
      this.#channel.onAuth((state) => this.#setAuth(state)),
      this.#channel.onReconnect(() => this.#resync()),
    ];
    this.#resync();
    return () => {
      this.#running = false;
      this.#generation += 1; // answers still on their way are ignored
      this.#buffered = null;
      this.#syncing = null;
      clearTimeout(this.#retryTimer);
      this.#publish.cancel();
      for (const off of offs) off();
    };
  }

  /** Sets a key through the shell; resolves once it is on disk and in this store's snapshot. */
  async set(key: string, value: unknown): Promise<void> {
    const change = await this.#channel.setConfig(key, value);
    this.#receive(change);
    await this.#syncing;
  }

  #resync(): void {
    this.#syncConfig();
    this.#channel.getAuth().then(
      (state) => this.#setAuth(state),
      () => {}, // the config sync retries, and a reconnect asks again
    );
  }

  #syncConfig(): void {
    if (!this.#running) return;
    clearTimeout(this.#retryTimer);
    const generation = ++this.#generation;
    this.#buffered = [];
    this.#syncing = this.#channel.getConfig().then(
      (snapshot) => {
        if (generation !== this.#generation) return;
        this.#retryDelay = RETRY_MIN_MS;
        this.#adopt(snapshot);
      },
      (error: unknown) => {
        if (generation !== this.#generation) return;
        // The shell may not be there yet (or any more): try again, more slowly each time.
        console.warn(`hangar: reading the config of this plugin failed (${messageOf(error)}); retrying.`);
        this.#retryTimer = setTimeout(() => this.#syncConfig(), this.#retryDelay);
        this.#retryDelay = Math.min(this.#retryDelay * 2, RETRY_MAX_MS);
      },
    );
  }

  #adopt(snapshot: ConfigSnapshot): void {
    this.#config = {
      epoch: snapshot.epoch,
      revision: snapshot.revision,
      values: { ...snapshot.values },
    };
    const buffered = this.#buffered ?? [];
    this.#buffered = null;
    this.#syncing = null;
    for (const change of buffered) this.#receive(change);
    this.#changed();
  }

  #receive(change: ConfigChange): void {
    if (!this.#running) return;
    if (this.#buffered) {
      this.#buffered.push(change);
      return;
    }
    const current = this.#config;
    if (!current || change.epoch !== current.epoch) {
      // Another shell instance numbers these (the shell restarted): start over from its snapshot.
      this.#syncConfig();
      return;
    }
    if (change.revision <= current.revision) return; // already in the snapshot
    if (change.revision !== current.revision + 1 && change.kind !== "reset") {
      this.#syncConfig(); // a change went missing (a dropped event): read everything again
      return;
    }
    current.revision = change.revision;
    if (change.kind === "set") current.values = { ...current.values, [change.key]: change.value };
    else if (change.kind === "delete") {
      const { [change.key]: _removed, ...rest } = current.values;
      current.values = rest;
    } else current.values = { ...change.values };
    this.#changed();
  }

  #setAuth(state: AuthState): void {
    if (!this.#running || this.#authenticated === state?.authenticated) return;
    this.#authenticated = state?.authenticated === true;
    this.#changed();
  }

  #changed(): void {
    this.#publish.request();
  }

  #flush(): void {
    const values = this.#config?.values ?? null;
    this.#view = {
      config: values === null ? null : deepFreeze(values),
      authenticated: this.#authenticated,
    };
    for (const subscriber of [...this.#subscribers]) subscriber();
  }
}

/** Values handed to components are shared between renders: freezing them keeps one component from changing another's. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
