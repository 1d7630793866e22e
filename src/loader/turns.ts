// Spreads the loader's main-thread work over turns of the event loop: when many plugins load at once (100 at
// start-up or in one update), each step that compiles or evaluates code waits for a turn of its own, so no
// single turn holds the thread for all of them (a frame is 16 ms; a window that misses one stutters).

let queue: Promise<void> = Promise.resolve();

/**
 * Resolves in a later turn of the event loop (after I/O callbacks, `setImmediate`), one caller per turn, in
 * the order they asked. Never rejects.
 */
export function nextTurn(): Promise<void> {
  const turn = queue.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
  queue = turn;
  return turn;
}
