// Spreads the shell's per-plugin work over turns of the event loop, as a page's scheduler does (React's work
// loop, the web's `scheduler.yield()`): queued tasks run in order, several in one turn until the turn has
// used its budget, the rest in later turns. Timers, I/O and, in Electron main, every window's frames are then
// served between them: with 100 plugins starting at once, no turn holds the thread for all of them (issue 13).
import { AsyncResource } from "node:async_hooks";
import { performance } from "node:perf_hooks";

/**
 * How long one turn may run queued tasks, in ms, before the rest wait for the next turn. A frame is 16 ms;
 * a task's promise continuations run after the turn's tasks, and a task that starts running is never cut.
 */
export const SLICE_BUDGET_MS = 4;

/** Options of {@link runInSlice}. */
export interface SliceTaskOptions {
  /**
   * End the turn after this task: for work whose cost comes after it returns, in callbacks of its own (an
   * `import()` compiles and evaluates the module once its file is read), so that such work from two tasks is
   * less likely to land in one turn. Default false.
   */
  endsSlice?: boolean;
}

interface Task {
  run(): void;
  endsSlice: boolean;
}

const tasks: Task[] = [];
let head = 0;
let scheduled = false;
// The turns are scheduled from the context this module was loaded in, not from whichever plugin's scope first
// queued a task: an async context (a plugin's attribution scope) must not leak into other plugins' tasks.
const rootContext = new AsyncResource("hangar.timeSlice");

/**
 * Runs `work` as one task of the main thread's time-sliced queue and resolves (or rejects) with its result.
 * Tasks run in the order they were queued, never in the caller's turn: at least in the next turn of the event
 * loop (after I/O callbacks, as `setImmediate`), and later while earlier tasks fill the turns before. Each task
 * runs in the async context of its caller (AsyncLocalStorage stores are kept).
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
    if (!scheduled) {
      scheduled = true;
      rootContext.runInAsyncScope(() => setImmediate(runSlice));
    }
  });
}

/** Runs queued tasks until the turn's budget is spent, then leaves the rest to the next turn. */
function runSlice(): void {
  const deadline = performance.now() + SLICE_BUDGET_MS;
  while (head < tasks.length) {
    const task = tasks[head]!;
    tasks[head] = undefined as unknown as Task; // let it be collected while the queue is long
    head += 1;
    task.run(); // never throws: each task settles its own promise
    if (task.endsSlice || performance.now() >= deadline) break;
  }
  if (head >= tasks.length) {
    tasks.length = 0;
    head = 0;
    scheduled = false;
  } else {
    if (head > 1024) {
      tasks.splice(0, head);
      head = 0;
    }
    setImmediate(runSlice);
  }
}
