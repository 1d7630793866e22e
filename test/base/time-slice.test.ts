// The main thread's time slices: queued tasks run in order, a few per turn of the event loop (never all of them
// in one), each in its caller's async context, and a failing task rejects only its own promise.
import { AsyncLocalStorage } from "node:async_hooks";
import { afterEach, describe, expect, it } from "vitest";
import { runInSlice, SLICE_BUDGET_MS } from "../../src/base/time-slice.js";

/** Counts turns of the event loop (one per check phase) while it runs. */
function turnCounter(): { readonly turn: number; stop(): void } {
  let turn = 0;
  let handle = setImmediate(function tick() {
    turn += 1;
    handle = setImmediate(tick);
  });
  return {
    get turn() {
      return turn;
    },
    stop: () => clearImmediate(handle),
  };
}

/** Holds the thread for `ms` of wall time, as synchronous plugin work does. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spinning on purpose
  }
}

let counter: ReturnType<typeof turnCounter> | undefined;
afterEach(() => counter?.stop());

describe("runInSlice", () => {
  it("runs tasks in the order they were queued and resolves each with its result", async () => {
    const ran: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        runInSlice(() => {
          ran.push(i);
          return i * 2;
        }),
      ),
    );
    expect(ran).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
  });

  it("never runs a task inside its caller's synchronous code", async () => {
    let ran = false;
    const done = runInSlice(() => {
      ran = true;
    });
    expect(ran).toBe(false);
    await done;
    expect(ran).toBe(true);
  });

  it("spreads long work over turns: no turn runs more tasks than fit in its budget, plus the one that overran", async () => {
    counter = turnCounter();
    const taskMs = SLICE_BUDGET_MS * 0.75;
    const turns = await Promise.all(
      Array.from({ length: 30 }, () =>
        runInSlice(() => {
          busy(taskMs);
          return counter!.turn;
        }),
      ),
    );
    const perTurn = new Map<number, number>();
    for (const turn of turns) perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
    // All 30 in one turn would hold the thread for 30 × 3 ms; two fit in a 4 ms budget (the second overruns it).
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(2);
    expect(perTurn.size).toBeGreaterThanOrEqual(15);
    // In order, turn after turn.
    expect(turns).toEqual([...turns].sort((a, b) => a - b));
  });

  it("ends the turn after a task queued with endsSlice", async () => {
    counter = turnCounter();
    const turns = await Promise.all(
      Array.from({ length: 6 }, () => runInSlice(() => counter!.turn, { endsSlice: true })),
    );
    expect(new Set(turns).size).toBe(6);
  });

  it("runs each task in its caller's async context, whichever task scheduled the turn", async () => {
    const store = new AsyncLocalStorage<string>();
    const seen = await Promise.all(
      ["plugin-a", "plugin-b", "plugin-c"].map((id) =>
        store.run(id, () => runInSlice(() => store.getStore())),
      ),
    );
    expect(seen).toEqual(["plugin-a", "plugin-b", "plugin-c"]);
    // A timer a task creates belongs to that task's caller, not to whoever queued the first task of the turn.
    const timerOwner = await store.run("plugin-d", () =>
      runInSlice(
        () => new Promise<string | undefined>((resolve) => setTimeout(() => resolve(store.getStore()), 1)),
      ),
    );
    expect(timerOwner).toBe("plugin-d");
  });

  it("rejects only the failing task's promise; the tasks after it still run", async () => {
    const ran: string[] = [];
    const results = await Promise.allSettled([
      runInSlice(() => ran.push("first")),
      runInSlice(() => {
        throw new Error("task failed");
      }),
      runInSlice(() => Promise.reject(new Error("async task failed"))),
      runInSlice(() => ran.push("last")),
    ]);
    expect(results.map((result) => result.status)).toEqual([
      "fulfilled",
      "rejected",
      "rejected",
      "fulfilled",
    ]);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe("task failed");
    expect(ran).toEqual(["first", "last"]);
  });
});
