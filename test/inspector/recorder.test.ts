// The flight recorder on real shells: what it records of each actor, what it never records (tokens),
// the redaction hook, its bounds over a long run, and that other inspection observers keep working.

import { afterEach, describe, expect, it } from "vitest";
import type { InspectionEvent } from "xstate";
import type { InspectorRecord, TransitionRecord } from "../../src/inspector/client/protocol.js";
import { parseSessionFile } from "../../src/inspector/client/session-file.js";
import { createFlightRecorder } from "../../src/inspector/recorder.js";
import { REDACTED } from "../../src/inspector/serialise.js";
import { createWorkspace, testShell, type Workspace } from "../support/plugins.js";
import { inspectorUrls, writeFleet } from "./harness.js";

let ws: Workspace | undefined;
afterEach(async () => {
  await ws?.cleanup();
  ws = undefined;
});

async function fleetWorkspace(): Promise<Workspace> {
  ws = await createWorkspace();
  await writeFleet(ws);
  return ws;
}

/** The records of a whole run, read back from the shell's own export endpoint. */
async function exported(url: string): Promise<{ text: string; records: InspectorRecord[] }> {
  const text = await (await fetch(url)).text();
  return { text, records: parseSessionFile(text).records };
}

function idsByKey(records: InspectorRecord[]): Map<string, string> {
  return new Map(
    records.flatMap((record) => (record.kind === "actor" ? [[record.actor.key, record.actor.id]] : [])),
  );
}

describe("the flight recorder", () => {
  it("records actors, events, snapshots and transitions as {event, source, targets} for the shell and every plugin", async () => {
    const { shell } = testShell(await fleetWorkspace(), { inspector: true });
    await shell.start();
    const { records } = await exported(inspectorUrls(shell).api("session.jsonl"));
    await shell.stop();
    const ids = idsByKey(records);

    const roots = records.filter((record) => record.kind === "actor" && record.actor.parent === null);
    expect(
      roots.map((record) => (record.kind === "actor" ? [record.actor.id, record.actor.machine] : [])),
    ).toEqual([
      ["shell", "shell"],
      ...["alpha", "beta", "gamma", "ui-only"].map((id) => [`plugin:${id}`, "plugin"]),
    ]);
    const children = records.filter((record) => record.kind === "actor" && record.actor.parent !== null);
    expect(new Set(children.map((record) => (record.kind === "actor" ? record.actor.src : null)))).toEqual(
      new Set(["initAuth", "listen", "discoverPlugins", "loadPlugin", "startPlugins", "runOnStart"]),
    );

    const transitions = records.filter((record): record is TransitionRecord => record.kind === "transition");
    const of = (id: string) =>
      transitions
        .filter((record) => ids.get(record.actor) === id)
        .map(({ event, source, targets }) => ({ event, source, targets }));
    expect(of("plugin:alpha")).toEqual([
      { event: "xstate.done.actor.0.plugin.loading", source: "loading", targets: ["loaded"] },
      // START enters `active` (the state that owns the context), which starts in `starting`.
      { event: "START", source: "loaded", targets: ["active"] },
      {
        event: "xstate.done.actor.0.plugin.active.starting",
        source: "active.starting",
        targets: ["active.running"],
      },
    ]);
    expect(of("shell")[0]).toEqual({ event: "START", source: "idle", targets: ["booting"] });
    expect(of("shell")).toContainEqual({
      event: "xstate.done.actor.0.shell.booting.auth.initialising",
      source: "booting.auth.initialising",
      targets: ["booting.auth.done"],
    });

    // gamma's failure is recorded with the plugin's own stack inside the cause.
    const failure = records.find(
      (record) =>
        record.kind === "event" && record.event.type === "xstate.error.actor.0.plugin.active.starting",
    );
    expect(JSON.stringify(failure)).toContain("checkRunway");
    // Named actions are recorded; XState's own bookkeeping is not.
    const actions = new Set(records.flatMap((record) => (record.kind === "action" ? [record.action] : [])));
    expect(actions).toEqual(new Set(["createContext", "disposeContext"]));
  });

  it("never records the auth token, the server token or its own token", async () => {
    const authToken = "auth-token-4f9a2c1e8b7d";
    const newToken = "rotated-token-77aa0e3c1b";
    const serverToken = "server-token-0123456789abcdef";
    await fleetWorkspace();
    await ws?.write({
      id: "chatty",
      // A plugin that repeats the token in what it returns: the recorder still must not show it.
      source: `
        export async function onStart(ctx) { globalThis.__chattyToken = ctx.auth.getToken(); }
        export async function onStop() {}
      `,
    });
    const { shell } = testShell(ws as Workspace, {
      inspector: true,
      auth: { init: async () => ({ token: authToken }) },
      server: { port: 0, token: serverToken },
    });
    await shell.start();
    shell.setAuth({ token: newToken });
    await shell.update();
    const urls = inspectorUrls(shell);
    const { text, records } = await exported(urls.api("session.jsonl"));
    await shell.stop();
    expect(records.length).toBeGreaterThan(100);
    for (const secret of [authToken, newToken, serverToken, urls.token]) expect(text).not.toContain(secret);
    // It does record that the shell is authenticated.
    expect(text).toContain('"type":"AUTH.CHANGED","authenticated":true');
  });

  it("runs the redaction hook on contexts and events, and withholds the value when the hook throws", async () => {
    const seen = new Set<string>();
    const { shell, log } = testShell(await fleetWorkspace(), {
      inspector: {
        redact(value, site) {
          seen.add(`${site.kind}:${site.actorId.startsWith("plugin:") ? "plugin" : site.actorId}`);
          if (site.actorId === "plugin:beta" && site.kind === "context") throw new Error("hook bug");
          if (
            site.kind === "context" &&
            value !== null &&
            typeof value === "object" &&
            !Array.isArray(value)
          ) {
            return { ...value, name: "(hidden by the hook)" };
          }
          return value;
        },
      },
    });
    await shell.start();
    const { records } = await exported(inspectorUrls(shell).api("session.jsonl"));
    await shell.stop();
    const ids = idsByKey(records);
    const contexts = (id: string) =>
      records.flatMap((record) =>
        record.kind === "snapshot" && ids.get(record.actor) === id ? [record.snapshot.context] : [],
      );

    expect(seen).toContain("context:plugin");
    expect(seen).toContain("context:shell");
    expect(seen).toContain("event:shell");
    expect(
      contexts("plugin:alpha").every(
        (context) => (context as { name: string }).name === "(hidden by the hook)",
      ),
    ).toBe(true);
    const beta = contexts("plugin:beta");
    expect(beta.length).toBeGreaterThan(0);
    for (const context of beta)
      expect(context).toMatch(new RegExp(`^\\${REDACTED} \\(the inspector's redact hook threw`));
    expect(log.text()).toContain("hook bug");
  });

  it("stays bounded over a long run: history, bytes and known actors", async () => {
    const recorder = createFlightRecorder({ machines: ["shell", "plugin"], history: { maxRecords: 300 } });
    const { shell } = testShell(await fleetWorkspace(), { inspect: recorder.observer });
    await shell.start();
    for (let update = 0; update < 25; update++)
      await shell.update({ changed: update % 2 === 0 ? ["beta"] : [] });
    const stats = recorder.stats();
    expect(stats.dropped).toBeGreaterThan(1_000);
    expect(stats.records).toBe(300);
    expect(stats.failed).toBe(0);
    // Only the roots (shell and four plugins) and the steps running right now are remembered.
    expect(stats.actors).toBeLessThanOrEqual(8);

    // The base holds the roots, and only those children that records still in the window talk about.
    const { header, lines } = recorder.window();
    const all = lines.map((line) => JSON.parse(line) as InspectorRecord);
    const base = all.filter((record) => record.seq < header.historyStartsAt);
    const window = all.filter((record) => record.seq >= header.historyStartsAt);
    const mentioned = new Set(
      window.flatMap((record) =>
        record.kind === "actor"
          ? []
          : record.kind === "event"
            ? [record.target, record.source]
            : [record.actor],
      ),
    );
    const baseActors = base.flatMap((record) => (record.kind === "actor" ? [record.actor] : []));
    expect(baseActors.filter((actor) => actor.parent === null).map((actor) => actor.id)).toEqual([
      "shell",
      "plugin:alpha",
      "plugin:beta",
      "plugin:gamma",
      "plugin:ui-only",
    ]);
    for (const child of baseActors.filter((actor) => actor.parent !== null))
      expect(mentioned).toContain(child.key);
    expect(base.length).toBeLessThanOrEqual(2 * baseActors.length);
    await shell.stop();
  });

  it("leaves an inspect observer given to the shell working beside the inspector", async () => {
    const observed: InspectionEvent[] = [];
    const { shell } = testShell(await fleetWorkspace(), {
      inspector: true,
      inspect: (event) => observed.push(event),
    });
    await shell.start();
    const { records } = await exported(inspectorUrls(shell).api("session.jsonl"));
    await shell.stop();
    const observedActors = observed
      .filter((event) => event.type === "@xstate.actor")
      .map((event) => event.actorRef.sessionId);
    const recordedActors = records.flatMap((record) => (record.kind === "actor" ? [record.actor.key] : []));
    expect(recordedActors.every((key) => observedActors.includes(key))).toBe(true);
    expect(
      observed.some(
        (event) =>
          event.type === "@xstate.snapshot" && (event.actorRef as { id?: string }).id === "plugin:alpha",
      ),
    ).toBe(true);
  });
});
