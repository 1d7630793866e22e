// The one ownership primitive: whoever registers gets a Disposable; a store disposes all it holds at once.
// After VS Code's lifecycle.ts: disposing twice is harmless, and adding to a disposed store disposes at once.

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

  /** Releases one item early and forgets it. */
  delete(item: Disposable): void {
    if (this.#items.delete(item)) this.#release(item);
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
