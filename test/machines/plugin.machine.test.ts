// The plugin statechart on its own: hooks are controllable promises, time is a simulated clock.
import { describe, expect, it } from "vitest";
import { createActor, fromPromise, SimulatedClock } from "xstate";
import {
  type PluginActorInput,
  type PluginLoadOutput,
  type PluginRunOutput,
  pluginMachine,
} from "../../src/machines/plugin.machine.js";

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const loadOutput = (overrides: Partial<PluginLoadOutput> = {}): PluginLoadOutput => ({
  version: "1.2.3",
  name: "Demo",
  background: true,
  dependsOn: [],
  hasOnResume: false,
  timeouts: {},
  loadMs: 4,
  ...overrides,
});

/** A plugin actor whose hooks wait for the test; records contexts created and disposed. */
function harness(load: () => Promise<PluginLoadOutput> = async () => loadOutput()) {
  const calls: string[] = [];
  const pending: Record<string, Deferred<unknown>[]> = { start: [], stop: [], resume: [] };
  let openContexts = 0;
  const hook = <T>(name: "start" | "stop" | "resume") =>
    fromPromise<T, PluginActorInput>(async () => {
      calls.push(name);
      const d = deferred<unknown>();
      pending[name]!.push(d);
      return (await d.promise) as T;
    });
  const clock = new SimulatedClock();
  const machine = pluginMachine.provide({
    actors: {
      loadPlugin: fromPromise(async () => {
        calls.push("load");
        return load();
      }),
      runOnStart: hook<PluginRunOutput>("start"),
      runOnStop: hook<{ durationMs: number }>("stop"),
      runOnResume: hook<PluginRunOutput>("resume"),
    },
    actions: {
      createContext: () => {
        openContexts += 1;
        calls.push("createContext");
      },
      disposeContext: () => {
        if (openContexts > 0) openContexts -= 1;
        calls.push("disposeContext");
      },
    },
  });
  const actor = createActor(machine, {
    clock,
    input: { pluginId: "demo", timeouts: { start: 1000, stop: 500, resume: 800 }, generation: 0 },
  });
  actor.start();
  const state = () => actor.getSnapshot().value;
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  const started: PluginRunOutput = { startedAt: "2026-01-01T00:00:00.000Z", durationMs: 7 };
  return {
    actor,
    clock,
    calls,
    state,
    settle,
    openContexts: () => openContexts,
    async resolve(
      name: "start" | "stop" | "resume",
      value: unknown = name === "stop" ? { durationMs: 1 } : started,
    ) {
      pending[name]!.shift()!.resolve(value);
      await settle();
    },
    async reject(name: "start" | "stop" | "resume", error: unknown) {
      pending[name]!.shift()!.reject(error);
      await settle();
    },
  };
}

async function running() {
  const h = harness();
  await h.settle();
  expect(h.state()).toBe("loaded");
  h.actor.send({ type: "START" });
  await h.resolve("start");
  expect(h.state()).toBe("running");
  return h;
}

describe("plugin machine", () => {
  it("loads, starts and stops, with one context held only while active", async () => {
    const h = await running();
    expect(h.openContexts()).toBe(1);
    expect(h.actor.getSnapshot().context).toMatchObject({
      version: "1.2.3",
      name: "Demo",
      startedAt: "2026-01-01T00:00:00.000Z",
    });
    h.actor.send({ type: "STOP" });
    expect(h.state()).toBe("stopping");
    await h.resolve("stop");
    expect(h.state()).toBe("stopped");
    expect(h.openContexts()).toBe(0);
    expect(h.actor.getSnapshot().status).toBe("done");
  });

  it("errors with the phase code when onStart rejects, disposes the context, and never calls onStop", async () => {
    const h = harness();
    await h.settle();
    h.actor.send({ type: "START" });
    await h.reject("start", new Error("boom"));
    expect(h.state()).toBe("errored");
    expect(h.actor.getSnapshot().context.error).toEqual({
      phase: "start",
      code: "HANGAR_START_FAILED",
      message: "boom",
    });
    expect(h.openContexts()).toBe(0);
    expect(h.calls).not.toContain("stop");
  });

  it("keeps a HANGAR_* code carried by the cause", async () => {
    const h = harness();
    await h.settle();
    h.actor.send({ type: "START" });
    await h.reject(
      "start",
      Object.assign(new Error("outside namespace"), { code: "HANGAR_ROUTE_NAMESPACE" }),
    );
    expect(h.actor.getSnapshot().context.error?.code).toBe("HANGAR_ROUTE_NAMESPACE");
  });

  it("times out a hanging onStart with a message naming plugin, phase and limit", async () => {
    const h = harness();
    await h.settle();
    h.actor.send({ type: "START" });
    h.clock.increment(999);
    expect(h.state()).toBe("starting");
    h.clock.increment(1);
    expect(h.state()).toBe("errored");
    const error = h.actor.getSnapshot().context.error!;
    expect(error.code).toBe("HANGAR_START_TIMEOUT");
    expect(error.message).toContain("'demo'");
    expect(error.message).toContain("onStart within 1000 ms");
    expect(h.openContexts()).toBe(0);
  });

  it("honours plugin.json timeout overrides", async () => {
    const h = harness(async () => loadOutput({ timeouts: { start: 50 } }));
    await h.settle();
    h.actor.send({ type: "START" });
    h.clock.increment(50);
    expect(h.state()).toBe("errored");
  });

  it("a stop during start-up waits for onStart, then runs onStop", async () => {
    const h = harness();
    await h.settle();
    h.actor.send({ type: "START" });
    h.actor.send({ type: "STOP" });
    expect(h.state()).toBe("starting");
    await h.resolve("start");
    expect(h.state()).toBe("stopping");
    await h.resolve("stop");
    expect(h.state()).toBe("stopped");
    expect(h.calls).toEqual(["load", "createContext", "start", "stop", "disposeContext"]);
  });

  it("a stop during loading ends stopped without starting", async () => {
    const d = deferred<PluginLoadOutput>();
    const h = harness(() => d.promise);
    h.actor.send({ type: "STOP" });
    d.resolve(loadOutput());
    await h.settle();
    expect(h.state()).toBe("stopped");
    expect(h.calls).toEqual(["load"]);
  });

  it("an update resumes with a fresh context when onResume exists", async () => {
    const h = harness(async () => loadOutput({ hasOnResume: true }));
    await h.settle();
    h.actor.send({ type: "START" });
    await h.resolve("start");
    h.actor.send({ type: "UPDATE", changed: false, generation: 1 });
    expect(h.state()).toBe("resuming");
    expect(h.calls.slice(-3)).toEqual(["disposeContext", "createContext", "resume"]);
    expect(h.openContexts()).toBe(1);
    await h.resolve("resume");
    expect(h.state()).toBe("running");
  });

  it("an update without onResume stops then starts again", async () => {
    const h = await running();
    h.actor.send({ type: "UPDATE", changed: false, generation: 1 });
    await h.resolve("stop");
    expect(h.state()).toBe("starting");
    await h.resolve("start");
    expect(h.state()).toBe("running");
    expect(h.calls.filter((c) => c === "start")).toHaveLength(2);
    expect(h.openContexts()).toBe(1);
  });

  it("an update that names the plugin as changed stops it and loads it again with the new generation", async () => {
    const h = await running();
    h.actor.send({ type: "UPDATE", changed: true, generation: 3 });
    await h.resolve("stop");
    await h.settle();
    expect(h.state()).toBe("loaded");
    expect(h.calls.filter((c) => c === "load")).toHaveLength(2);
    expect(h.actor.getSnapshot().context.generation).toBe(3);
  });

  it("onStop failing during an update errors the plugin (phase stop) and it is not started again", async () => {
    const h = await running();
    h.actor.send({ type: "UPDATE", changed: false, generation: 1 });
    await h.reject("stop", new Error("flush failed"));
    expect(h.state()).toBe("errored");
    expect(h.actor.getSnapshot().context.error).toMatchObject({ phase: "stop", code: "HANGAR_STOP_FAILED" });
    expect(h.calls.filter((c) => c === "start")).toHaveLength(1);
    // ...until the next update retries it.
    h.actor.send({ type: "UPDATE", changed: false, generation: 2 });
    expect(h.state()).toBe("loaded");
    expect(h.actor.getSnapshot().context.error).toBeNull();
  });

  it("a hanging onStop is bounded by the stop timeout", async () => {
    const h = await running();
    h.actor.send({ type: "STOP" });
    h.clock.increment(500);
    expect(h.state()).toBe("errored");
    expect(h.actor.getSnapshot().context.error?.code).toBe("HANGAR_STOP_TIMEOUT");
    expect(h.openContexts()).toBe(0);
  });

  it("a failed load is read and imported again on update", async () => {
    let attempts = 0;
    const h = harness(async () => {
      attempts += 1;
      if (attempts === 1) throw Object.assign(new Error("bad json"), { code: "HANGAR_MANIFEST_UNREADABLE" });
      return loadOutput();
    });
    await h.settle();
    expect(h.actor.getSnapshot().context.error).toMatchObject({
      phase: "load",
      code: "HANGAR_MANIFEST_UNREADABLE",
    });
    h.actor.send({ type: "UPDATE", changed: false, generation: 1 });
    await h.settle();
    expect(h.state()).toBe("loaded");
  });

  it("a UI-only plugin is inactive and never starts", async () => {
    const h = harness(async () => loadOutput({ background: false }));
    await h.settle();
    expect(h.state()).toBe("inactive");
    h.actor.send({ type: "START" });
    expect(h.state()).toBe("inactive");
  });

  it("a dependency failure errors the plugin in phase dependency", async () => {
    const h = harness();
    await h.settle();
    h.actor.send({ type: "DEPENDENCY_FAILED", code: "HANGAR_DEPENDENCY_MISSING", message: "needs 'x'" });
    expect(h.actor.getSnapshot().context.error).toEqual({
      phase: "dependency",
      code: "HANGAR_DEPENDENCY_MISSING",
      message: "needs 'x'",
    });
  });

  it("a shutdown past its budget forces a plugin stuck in onStop out and disposes its context", async () => {
    const h = await running();
    h.actor.send({ type: "STOP" });
    h.actor.send({ type: "FORCE_STOP", message: "budget" });
    expect(h.state()).toBe("errored");
    expect(h.actor.getSnapshot().context.error?.code).toBe("HANGAR_SHUTDOWN_TIMEOUT");
    expect(h.openContexts()).toBe(0);
  });

  it("snapshots serialise (no functions in context)", async () => {
    const h = await running();
    expect(() => JSON.stringify(h.actor.getSnapshot())).not.toThrow();
    expect(JSON.parse(JSON.stringify(h.actor.getSnapshot().context))).toEqual(h.actor.getSnapshot().context);
  });
});
