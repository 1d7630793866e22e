// Spreads the shell's per-plugin work over turns of the event loop, as a page's scheduler does (React's work
// loop, the web's `scheduler.yield()`): queued tasks run in order, several in one turn until the turn has
// used its budget, the rest in later turns. Timers, I/O and, in Electron main, every window's frames are then
// served between them: with 100 plugins starting at once, no turn holds the thread for all of them (issue 13).

import { AsyncResource } from "node:async_hooks";
import { performance } from "node:perf_hooks";
import { setImmediate } from "./timers.js";

/**
 * How long one turn of the event loop may spend on queued tasks, in ms, before the rest wait for the next
 * turn. Counted with each task's promise continuations (what its `await`s and the actors it drives do once it
 * returns); a task that starts running is never cut, so a turn can overrun this by its last task. A frame is
 * 16 ms.
 */
export const SLICE_BUDGET_MS = 4;

/**
 * At most this many tasks run in one turn. Each task runs in an immediate callback of its own (a "slot") and
 * Node runs the microtasks it queued before the next callback, so that the time check before each task sees
 * everything the earlier tasks caused; the slots of a turn are queued in the turn before.
 */
const SLOTS_PER_TURN = 16;

/** Options of {@link runInSlice}. */
export interface SliceTaskOptions {
  /**
   * End the turn after this task: for work whose cost comes after its promise continuations, in callbacks of
   * its own (an `import()` compiles and evaluates the module once its file is read), so that such work from
   * two tasks is less likely to land in one turn. Default false.
   */
  endsSlice?: boolean;
}

interface Task {
  run(): void;
  endsSlice: boolean;
}

const tasks: Task[] = [];
let head = 0;
/** Numbers the turns; a slot queued for an earlier turn that was ended early does nothing. */
let turn = 0;
/** Slots of the current turn that have not run yet; 0 when no turn is scheduled. */
let slotsLeft = 0;
/** When the current turn's first slot ran (performance.now()); -1 before it. */
let turnStarted = -1;
// The turns are scheduled from the context this module was loaded in, not from whichever plugin's scope first
// queued a task: an async context (a plugin's attribution scope) must not leak into other plugins' tasks.
const rootContext = new AsyncResource("hangar.timeSlice");

/**
 * Runs `work` as one task of the main thread's time-sliced queue and resolves (or rejects) with its result.
 * Tasks run in the order they were queued, never in the caller's synchronous code: in a later turn of the
 * event loop (as `setImmediate` callbacks), or later in the same one while it has budget left, and in later
 * turns while earlier tasks fill the turns before. Each task runs in the async context of its caller
 * (AsyncLocalStorage stores are kept).
 *
 * Use it for the synchronous part of per-plugin work that may happen for many plugins at once (creating and
 * starting an actor, sending it an event, validating a manifest): the work should check, when it runs, that
 * it is still wanted, because the world may have moved on since it was queued.
 */
export function runInSlice<T>(work: () => T | PromiseLike<T>, options: SliceTaskOptions = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // An AsyncResource of its own, not AsyncResource.bind: bind() builds two deprecation wrappers per call.
    const context = new AsyncResource("hangar.timeSlice.task");
    const run = () => {
      try {
        resolve(work());
      } catch (error) {
        reject(error);
      }
    };
    tasks.push({ run: () => context.runInAsyncScope(run), endsSlice: options.endsSlice === true });
    if (slotsLeft === 0) scheduleTurn();
  });
}

/** Queues the slots of the next turn (immediates queued now run in the next check phase). */
function scheduleTurn(): void {
  turn += 1;
  slotsLeft = SLOTS_PER_TURN;
  turnStarted = -1;
  const current = turn;
  rootContext.runInAsyncScope(() => {
    for (let i = 0; i < SLOTS_PER_TURN; i += 1) setImmediate(runSlot, current);
  });
}

/** One slot of turn `of`: runs the next task if the turn has budget left; the turn's last slot queues the next. */
function runSlot(of: number): void {
  if (of !== turn) return; // a slot of a turn that was ended early
  slotsLeft -= 1;
  const now = performance.now();
  if (turnStarted < 0) turnStarted = now;
  const hasBudget = now - turnStarted < SLICE_BUDGET_MS;
  let endTurn = !hasBudget;
  if (hasBudget && head < tasks.length) {
    const task = tasks[head]!;
    tasks[head] = undefined as unknown as Task; // let it be collected while the queue is long
    head += 1;
    task.run(); // never throws: each task settles its own promise
    endTurn = task.endsSlice;
  }
  if (head >= tasks.length) {
    tasks.length = 0;
    head = 0;
  } else if (head > 1024) {
    tasks.splice(0, head);
    head = 0;
  }
  if (endTurn || slotsLeft === 0) {
    // The next turn's slots, or none when nothing is left (the next task queued schedules a turn again).
    if (head < tasks.length) scheduleTurn();
    else {
      turn += 1;
      slotsLeft = 0;
    }
  }
}
