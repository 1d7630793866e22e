// The ownership primitive of every layer: the async store releases newest first, within its budget, and
// Subscriptions may be called or disposed.
import { describe, expect, it } from "vitest";
import { AsyncDisposableStore, toSubscription } from "../../src/base/disposable.js";
import { createMemoryIpc } from "../../src/ipc/memory.js";

describe("AsyncDisposableStore", () => {
  it("releases newest first, one after another, and twice is harmless", async () => {
    const order: string[] = [];
    const store = new AsyncDisposableStore();
    for (const name of ["lock", "server", "bridge"]) {
      store.add(name, async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push(name);
      });
    }
    const first = store.dispose();
    expect(store.dispose()).toBe(first);
    await first;
    expect(order).toEqual(["bridge", "server", "lock"]);
    expect(store.size).toBe(0);
  });

  it("stops waiting when the budget runs out: the rest are released at once with an aborted signal", async () => {
    const seen: Array<[string, boolean]> = [];
    const failures: string[] = [];
    const store = new AsyncDisposableStore(({ name }) => failures.push(name));
    store.add("quick", (signal) => {
      seen.push(["quick", signal.aborted]);
    });
    store.add("broken", () => {
      throw new Error("release failed");
    });
    store.add(
      "hung",
      (signal) => new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve())),
    );
    await store.dispose(30);
    expect(seen).toEqual([["quick", true]]);
    expect(failures).toEqual(["broken"]);
  });

  it("abort() cuts a dispose in progress short, and a late add is released at once", async () => {
    const store = new AsyncDisposableStore();
    let aborted = false;
    store.add(
      "hung",
      (signal) =>
        new Promise<void>((resolve) =>
          signal.addEventListener("abort", () => {
            aborted = true;
            resolve();
          }),
        ),
    );
    const disposing = store.dispose();
    await store.abort();
    await disposing;
    expect(aborted).toBe(true);
    let late = false;
    store.add("late", () => {
      late = true;
    });
    await Promise.resolve();
    expect(late).toBe(true);
  });
});

describe("Subscription", () => {
  it("ends once, whether called or disposed", () => {
    let ended = 0;
    const subscription = toSubscription(() => {
      ended += 1;
    });
    subscription();
    subscription.dispose();
    expect(ended).toBe(1);
  });

  it("is what the memory transport's on() returns", async () => {
    const ipc = createMemoryIpc();
    const got: unknown[] = [];
    const subscription = ipc.on("plugin:x:tick", (payload) => got.push(payload));
    ipc.send("plugin:x:tick", 1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    subscription.dispose();
    ipc.send("plugin:x:tick", 2);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(got).toEqual([1]);
  });
});
