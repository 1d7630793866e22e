// The shell statechart on its own: steps are controllable promises, time is a simulated clock.
import { describe, expect, it } from "vitest";
import { createActor, fromPromise, SimulatedClock } from "xstate";
import { shellMachine } from "../../src/machines/shell.machine.js";

type Step =
  | "initAuth"
  | "listen"
  | "discoverPlugins"
  | "startPlugins"
  | "updatePlugins"
  | "stopPlugins"
  | "closeServer"
  | "flushConfig";

function harness() {
  const pending = new Map<
    Step,
    Array<{ resolve(v: unknown): void; reject(e: unknown): void; signal: AbortSignal }>
  >();
  const calls: string[] = [];
  const step = <T, I = void>(name: Step) =>
    fromPromise<T, I>(({ input, signal }) => {
      calls.push(name === "updatePlugins" ? `${name}:${JSON.stringify(input)}` : name);
      return new Promise((resolve, reject) => {
        const list = pending.get(name) ?? [];
        list.push({ resolve: resolve as (v: unknown) => void, reject, signal });
        pending.set(name, list);
      });
    });
  const clock = new SimulatedClock();
  const actions: string[] = [];
  const machine = shellMachine.provide({
    actors: {
      initAuth: step<{ authenticated: boolean }>("initAuth"),
      listen: step<{ url: string }>("listen"),
      discoverPlugins: step<void>("discoverPlugins"),
      startPlugins: step<void>("startPlugins"),
      updatePlugins: step<void, { changed: string[]; generation: number }>("updatePlugins"),
      stopPlugins: step<void>("stopPlugins"),
      closeServer: step<void>("closeServer"),
      flushConfig: step<void>("flushConfig"),
    },
    actions: {
      reportAuthProblem: (_, params) => actions.push(`auth:${params.code}`),
      reportStepFailure: (_, params) => actions.push(`failed:${params.step}`),
      forceRelease: () => actions.push("forceRelease"),
      releasePlugins: () => actions.push("releasePlugins"),
    },
  });
  const actor = createActor(machine, { clock, input: { timeouts: { auth: 100, shutdown: 1000 } } });
  actor.start();
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  return {
    actor,
    clock,
    calls,
    actions,
    top: () => {
      const value = actor.getSnapshot().value;
      return typeof value === "string" ? value : Object.keys(value)[0];
    },
    pending: (name: Step) => pending.get(name)?.[0],
    async resolve(name: Step, value: unknown = undefined) {
      pending.get(name)!.shift()!.resolve(value);
      await settle();
    },
    async reject(name: Step, error: unknown) {
      pending.get(name)!.shift()!.reject(error);
      await settle();
    },
    settle,
  };
}

async function booted(h = harness()) {
  h.actor.send({ type: "START" });
  await h.resolve("initAuth", { authenticated: true });
  await h.resolve("listen", { url: "http://127.0.0.1:1" });
  expect(h.top()).toBe("booting");
  await h.resolve("discoverPlugins");
  expect(h.top()).toBe("starting");
  return h;
}

async function running() {
  const h = await booted();
  await h.resolve("startPlugins");
  expect(h.top()).toBe("running");
  return h;
}

describe("shell machine", () => {
  it("initialises auth, listens and loads plugins in parallel, then starts them", async () => {
    const h = harness();
    h.actor.send({ type: "START" });
    expect(h.calls.sort()).toEqual(["discoverPlugins", "initAuth", "listen"]);
    await booted(h);
    expect(h.actor.getSnapshot().context.authenticated).toBe(true);
  });

  it("continues unauthenticated when auth times out, and says so", async () => {
    const h = harness();
    h.actor.send({ type: "START" });
    await h.resolve("listen", { url: "x" });
    await h.resolve("discoverPlugins");
    h.clock.increment(100);
    await h.settle();
    expect(h.top()).toBe("starting");
    expect(h.actions).toEqual(["auth:HANGAR_AUTH_TIMEOUT"]);
    expect(h.actor.getSnapshot().context.authenticated).toBe(false);
  });

  it("continues unauthenticated when auth fails", async () => {
    const h = harness();
    h.actor.send({ type: "START" });
    await h.reject("initAuth", new Error("no network"));
    expect(h.actions).toEqual(["auth:HANGAR_AUTH_FAILED"]);
  });

  it("fails with the listen error's code when the port is taken, releasing the plugins", async () => {
    const h = harness();
    h.actor.send({ type: "START" });
    await h.reject("listen", Object.assign(new Error("Port 2066 is in use"), { code: "HANGAR_PORT_IN_USE" }));
    expect(h.top()).toBe("failed");
    expect(h.actor.getSnapshot().context.failure).toEqual({
      code: "HANGAR_PORT_IN_USE",
      message: "Port 2066 is in use",
    });
    expect(h.actions).toContain("releasePlugins");
  });

  it("a shutdown during start-up aborts the start step and stops what started", async () => {
    const h = await booted();
    const start = h.pending("startPlugins")!;
    h.actor.send({ type: "STOP" });
    expect(start.signal.aborted).toBe(true);
    expect(h.top()).toBe("shuttingDown");
    await h.resolve("stopPlugins");
    await h.resolve("closeServer");
    await h.resolve("flushConfig");
    expect(h.top()).toBe("stopped");
  });

  it("a shutdown requested while booting runs once booting settles", async () => {
    const h = harness();
    h.actor.send({ type: "START" });
    h.actor.send({ type: "STOP" });
    await h.resolve("initAuth", { authenticated: false });
    await h.resolve("listen", { url: "x" });
    await h.resolve("discoverPlugins");
    expect(h.top()).toBe("shuttingDown");
    expect(h.calls).not.toContain("startPlugins");
  });

  it("an update during start-up runs once start-up settles", async () => {
    const h = await booted();
    h.actor.send({ type: "UPDATE", changed: ["a"] });
    expect(h.top()).toBe("starting");
    await h.resolve("startPlugins");
    expect(h.top()).toBe("updating");
    expect(h.calls.at(-1)).toBe('updatePlugins:{"changed":["a"],"generation":1}');
  });

  it("updates during an update merge and run once it settles", async () => {
    const h = await running();
    h.actor.send({ type: "UPDATE", changed: ["a"] });
    h.actor.send({ type: "UPDATE", changed: ["b"] });
    h.actor.send({ type: "UPDATE", changed: ["a", "c"] });
    await h.resolve("updatePlugins");
    expect(h.top()).toBe("updating");
    expect(h.calls.at(-1)).toBe('updatePlugins:{"changed":["b","a","c"],"generation":2}');
    await h.resolve("updatePlugins");
    expect(h.top()).toBe("running");
  });

  it("the whole shutdown is bounded even when stopping plugins hangs", async () => {
    const h = await running();
    h.actor.send({ type: "STOP" });
    h.clock.increment(999);
    expect(h.top()).toBe("shuttingDown");
    h.clock.increment(1);
    expect(h.top()).toBe("stopped");
    expect(h.actions).toEqual(["forceRelease"]);
  });

  it("a failing shutdown step is reported and the shutdown goes on", async () => {
    const h = await running();
    h.actor.send({ type: "STOP" });
    await h.reject("stopPlugins", new Error("x"));
    await h.reject("closeServer", new Error("y"));
    await h.resolve("flushConfig");
    expect(h.top()).toBe("stopped");
    expect(h.actions).toEqual(["failed:stopPlugins", "failed:closeServer"]);
  });

  it("STOP before START goes straight to stopped", () => {
    const h = harness();
    h.actor.send({ type: "STOP" });
    expect(h.top()).toBe("stopped");
  });
});
