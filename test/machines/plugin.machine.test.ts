// The plugin statechart on its own: hooks are controllable promises, time is a simulated clock.
import { describe, expect, it } from "vitest";
import { createActor, fromPromise, SimulatedClock } from "xstate";
import {
  type PluginActorInput,
  type PluginLoadOutput,
  type PluginRunOutput,
  pluginMachine,
  pluginStateOf,
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
    input: { pluginId: "demo", timeouts: { load: 2000, start: 1000, stop: 500, resume: 800 }, generation: 0 },
  });
  actor.start();
  const state = () => pluginStateOf(actor.getSnapshot().value);
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
    // Not final: shell.startPlugin() may start a stopped plugin again.
    h.actor.send({ type: "START" });
    expect(h.state()).toBe("starting");
    expect(h.openContexts()).toBe(1);
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

  it("times out an import that never settles (phase load, HANGAR_LOAD_TIMEOUT) and retries it on update", async () => {
    let hang = true;
    const h = harness(() => (hang ? new Promise<PluginLoadOutput>(() => {}) : Promise.resolve(loadOutput())));
    await h.settle();
    expect(h.state()).toBe("loading");
    h.clock.increment(1999);
    expect(h.state()).toBe("loading");
    h.clock.increment(1);
    expect(h.state()).toBe("errored");
    const error = h.actor.getSnapshot().context.error!;
    expect(error).toMatchObject({ phase: "load", code: "HANGAR_LOAD_TIMEOUT" });
    expect(error.message).toMatch(/Plugin 'demo'.*within 2000 ms.*background\.loadTimeoutMs/);
    hang = false;
    h.actor.send({ type: "UPDATE", changed: false, generation: 1 });
    await h.settle();
    expect(h.state()).toBe("loaded");
  });

  it("a stop abandons an import that hangs at once: shutdown never waits on a top-level await", async () => {
    const h = harness(() => new Promise<PluginLoadOutput>(() => {}));
    await h.settle();
    h.actor.send({ type: "STOP" });
    expect(h.state()).toBe("stopped");
    h.clock.increment(10_000);
    expect(h.state()).toBe("stopped");
    expect(h.calls).toEqual(["load"]);
  });
});

describe("plugin machine, supervision (SPEC §11)", () => {
  const crash = {
    type: "CRASH",
    code: "HANGAR_PLUGIN_CRASHED",
    message: "Plugin 'demo' crashed: boom.",
  } as const;

  /** Crashes the running plugin and lets its onStop settle; returns where it went. */
  async function crashOnce(h: Awaited<ReturnType<typeof running>>) {
    h.actor.send(crash);
    expect(h.state()).toBe("stopping");
    expect(h.openContexts()).toBe(1);
    await h.resolve("stop");
    return h.state();
  }

  /** Lets the backoff run out on the simulated clock and the new onStart succeed. */
  async function restartAfter(h: Awaited<ReturnType<typeof running>>, ms: number) {
    h.clock.increment(ms - 1);
    expect(h.state()).toBe("backoff");
    h.clock.increment(1);
    expect(h.state()).toBe("starting");
    await h.resolve("start");
    expect(h.state()).toBe("running");
  }

  it("crash → onStop → backoff 1 s → running again with a fresh context, restarts counted", async () => {
    const h = await running();
    expect(await crashOnce(h)).toBe("backoff");
    expect(h.openContexts()).toBe(0);
    const during = h.actor.getSnapshot();
    expect(during.context.error).toMatchObject({ phase: "run", code: "HANGAR_PLUGIN_CRASHED" });
    expect(during.context.restarts).toBe(1);
    expect(during.hasTag("busy")).toBe(true);
    await restartAfter(h, 1000);
    expect(h.openContexts()).toBe(1);
    expect(h.actor.getSnapshot().context.error).toBeNull();
    expect(h.calls.filter((c) => c === "createContext")).toHaveLength(2);
  });

  it("waits 2 s before the second restart in the window, 4 s before the third", async () => {
    const h = await running();
    await crashOnce(h);
    await restartAfter(h, 1000);
    await crashOnce(h);
    expect(h.actor.getSnapshot().context.restarts).toBe(2);
    await restartAfter(h, 2000);
    await crashOnce(h);
    await restartAfter(h, 4000);
  });

  it("a crash storm ends errored with HANGAR_RESTART_LIMIT naming plugin, count, window and cause", async () => {
    const h = await running();
    for (const wait of [1000, 2000, 4000]) {
      await crashOnce(h);
      await restartAfter(h, wait);
    }
    expect(await crashOnce(h)).toBe("errored");
    const error = h.actor.getSnapshot().context.error!;
    expect(error.code).toBe("HANGAR_RESTART_LIMIT");
    expect(error.phase).toBe("run");
    expect(error.message).toMatch(
      /Plugin 'demo'.*3 restart\(s\) within 300000 ms.*Last cause: Plugin 'demo' crashed: boom\./,
    );
    // No restart is pending: time passing changes nothing.
    h.clock.increment(60_000);
    expect(h.state()).toBe("errored");
  });

  it("counts restarts in a sliding window: each one expires windowMs after it", async () => {
    const h = await running();
    await crashOnce(h);
    await restartAfter(h, 1000);
    await crashOnce(h);
    await restartAfter(h, 2000);
    // Restarts were counted at t = 0 and t = 1 s; now t = 3 s. At t = 300 s the first leaves the window.
    h.clock.increment(300_000 - 3000);
    expect(h.actor.getSnapshot().context.restarts).toBe(1);
    await crashOnce(h);
    // So this is the 2nd restart in the window again: 2 s.
    await restartAfter(h, 2000);
    h.clock.increment(300_000);
    expect(h.actor.getSnapshot().context.restarts).toBe(0);
    await crashOnce(h);
    await restartAfter(h, 1000);
  });

  it("policy never: a crash leaves the plugin errored (phase run), not restarted", async () => {
    const h = harness(async () => loadOutput({ restart: { policy: "never" } }));
    await h.settle();
    h.actor.send({ type: "START" });
    await h.resolve("start");
    h.actor.send(crash);
    await h.resolve("stop");
    expect(h.state()).toBe("errored");
    expect(h.actor.getSnapshot().context.error).toMatchObject({
      phase: "run",
      code: "HANGAR_PLUGIN_CRASHED",
    });
    h.clock.increment(60_000);
    expect(h.state()).toBe("errored");
  });

  it("an update clears the limit and starts the count afresh", async () => {
    const h = harness(async () => loadOutput({ restart: { maxRestarts: 1, backoffMs: 10 } }));
    await h.settle();
    h.actor.send({ type: "START" });
    await h.resolve("start");
    await crashOnce(h);
    await restartAfter(h, 10);
    expect(await crashOnce(h)).toBe("errored");
    expect(h.actor.getSnapshot().context.error?.code).toBe("HANGAR_RESTART_LIMIT");
    h.actor.send({ type: "UPDATE", changed: false, generation: 1 });
    expect(h.state()).toBe("loaded");
    expect(h.actor.getSnapshot().context.restarts).toBe(0);
    h.actor.send({ type: "START" });
    await h.resolve("start");
    expect(await crashOnce(h)).toBe("backoff");
    await restartAfter(h, 10);
    // The expiry scheduled before the update was cancelled with the reset: only the new restart counts.
    h.clock.increment(300_000);
    expect(h.actor.getSnapshot().context.restarts).toBe(0);
  });

  it("restarts a running plugin on RESTART: onStop, then onStart with a fresh context", async () => {
    const h = await running();
    h.actor.send({ type: "RESTART" });
    expect(h.state()).toBe("stopping");
    expect(h.actor.getSnapshot().hasTag("busy")).toBe(true);
    await h.resolve("stop");
    expect(h.state()).toBe("starting");
    await h.resolve("start");
    expect(h.state()).toBe("running");
    expect(h.calls.filter((c) => c === "disposeContext")).toHaveLength(1);
    expect(h.openContexts()).toBe(1);
  });

  it("a crash while onStart is in flight is a start failure: errored, no onStop, no restart", async () => {
    const h = harness();
    await h.settle();
    h.actor.send({ type: "START" });
    h.actor.send(crash);
    expect(h.state()).toBe("errored");
    expect(h.openContexts()).toBe(0);
    expect(h.calls).not.toContain("stop");
  });

  it("a crash while stopping is a warning; a shutdown during backoff ends stopped", async () => {
    const h = await running();
    h.actor.send({ type: "STOP" });
    h.actor.send(crash);
    await h.resolve("stop");
    expect(h.state()).toBe("stopped");
    expect(h.actor.getSnapshot().context.warnings).toContain(crash.message);
    const g = await running();
    await crashOnce(g);
    g.actor.send({ type: "STOP" });
    expect(g.state()).toBe("stopped");
    g.clock.increment(10_000);
    expect(g.state()).toBe("stopped");
  });
});
