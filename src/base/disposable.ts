// The one ownership primitive, for every layer: whoever registers gets a Disposable; a store disposes all it
// holds at once. After VS Code's lifecycle.ts: disposing twice is harmless, adding to a disposed store disposes
// at once. AsyncDisposableStore does the same for resources whose release takes time (servers, threads, locks).
import { clearTimeout, setTimeout } from "./timers.js";

/** Something that releases what it holds. Calling `dispose` more than once is harmless. */
export interface Disposable {
  dispose(): void;
}

/** Wraps a release function so that it runs at most once. */
export function toDisposable(release: () => void): Disposable {
  let done = false;
  return {
    dispose() {
      if (done) return;
      done = true;
      release();
    },
  };
}

/**
 * What `on`/`subscribe` return: a function that ends the subscription, which is also a {@link Disposable}, so
 * callers may call it (as Node and DOM APIs do) or hand it to a store. Either, once or more, is harmless.
 */
export type Subscription = (() => void) & Disposable;

/** Wraps an unsubscribe function as a {@link Subscription} that runs it at most once. */
export function toSubscription(release: () => void): Subscription {
  const disposable = toDisposable(release);
  return Object.assign(() => disposable.dispose(), { dispose: () => disposable.dispose() });
}

/**
 * Holds disposables and releases them all, newest first. Errors thrown by one release do not stop the
 * others; they are collected and handed to `onError` so the owner can log them.
 */
export class DisposableStore implements Disposable {
  #items = new Set<Disposable>();
  #disposed = false;
  readonly #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void = () => {}) {
    this.#onError = onError;
  }

  get isDisposed(): boolean {
    return this.#disposed;
  }

  /** Takes ownership of `item`; a store already disposed releases it immediately. */
  add<T extends Disposable>(item: T): T {
    if (this.#disposed) {
      this.#release(item);
    } else {
      this.#items.add(item);
    }
    return item;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const items = [...this.#items].reverse();
    this.#items.clear();
    for (const item of items) this.#release(item);
  }

  #release(item: Disposable): void {
    try {
      item.dispose();
    } catch (error) {
      this.#onError(error);
    }
  }
}

/**
 * Releases one resource. It may take time (a server closing, a thread ending); when `signal` aborts, the
 * owner's budget is spent: release at once whatever is still held (drop connections, terminate the thread).
 */
export type AsyncRelease = (signal: AbortSignal) => void | Promise<void>;

/** A release that failed or did not finish within the budget, named after what it released. */
export interface ReleaseFailure {
  name: string;
  error: unknown;
}

/** How long releases called after the budget ran out may take to finish at once, in ms. */
const ABORT_GRACE_MS = 1_000;

/**
 * Holds resources whose release is asynchronous and releases them newest first (the server before the lock
 * it was started under), one after another, within a time budget. When the budget runs out, or `abort()` is
 * called, every release still waiting sees its signal abort and the remaining ones are called with an aborted
 * signal, all at once, and awaited for at most a second: nothing is skipped, nothing can hold the owner up. Disposing twice returns the same
 * promise; a resource added after disposal began is released at once.
 */
export class AsyncDisposableStore {
  readonly #items: { name: string; release: AsyncRelease }[] = [];
  readonly #abort = new AbortController();
  readonly #onError: (failure: ReleaseFailure) => void;
  #disposing: Promise<void> | null = null;

  constructor(onError: (failure: ReleaseFailure) => void = () => {}) {
    this.#onError = onError;
  }

  /** True once `dispose` has been called. */
  get isDisposed(): boolean {
    return this.#disposing !== null;
  }

  /** How many resources are held and not yet released. */
  get size(): number {
    return this.#items.length;
  }

  /**
   * Takes ownership of a resource, `name` saying what it is in error reports. Disposing the returned handle
   * releases it early (with an aborted signal only when the store's budget is already spent).
   */
  add(name: string, release: AsyncRelease): Disposable {
    const item = { name, release };
    if (this.#disposing) {
      void this.#run(item);
      return toDisposable(() => {});
    }
    this.#items.push(item);
    return toDisposable(() => {
      const at = this.#items.lastIndexOf(item);
      if (at === -1) return;
      this.#items.splice(at, 1);
      void this.#run(item);
    });
  }

  /**
   * Releases everything, newest first, waiting for each in turn for at most what is left of `budgetMs`.
   * Resolves once all are released or the budget is spent; never rejects (failures go to `onError`).
   */
  dispose(budgetMs = Number.POSITIVE_INFINITY): Promise<void> {
    if (!this.#disposing) this.#disposing = this.#disposeAll(budgetMs);
    return this.#disposing;
  }

  /** Spends the budget now: releases still waiting are told to finish at once; dispose() resolves promptly. */
  abort(): Promise<void> {
    const disposing = this.dispose(0);
    this.#abort.abort();
    return disposing;
  }

  async #disposeAll(budgetMs: number): Promise<void> {
    const signal = this.#abort.signal;
    let timer: NodeJS.Timeout | undefined;
    if (Number.isFinite(budgetMs)) {
      timer = setTimeout(() => this.#abort.abort(), Math.max(0, budgetMs));
    }
    const spent = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    const cutShort: Promise<void>[] = [];
    try {
      while (this.#items.length > 0) {
        const item = this.#items.pop()!;
        const released = this.#run(item);
        if (signal.aborted) cutShort.push(released);
        else await Promise.race([released, spent]);
      }
    } finally {
      clearTimeout(timer);
    }
    // Told to finish at once, the rest get a moment to do so (a lock removed, a socket dropped), never more.
    if (cutShort.length > 0) {
      let grace: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => {
        grace = setTimeout(resolve, ABORT_GRACE_MS);
      });
      await Promise.race([Promise.all(cutShort), graceOver]);
      clearTimeout(grace);
    }
  }

  async #run(item: { name: string; release: AsyncRelease }): Promise<void> {
    try {
      await item.release(this.#abort.signal);
    } catch (error) {
      this.#onError({ name: item.name, error });
    }
  }
}
