// What the page derives from records, checked on records of real shells: the bounded history stays
// rebuildable, the fold gives each actor's state at any point, errors carry phase/code/stack, messages have
// the right lanes, diffs and session files round-trip.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diffJson } from "../../src/inspector/client/diff.js";
import { BoundedHistory } from "../../src/inspector/client/history.js";
import type { InspectorRecord, SessionHeader } from "../../src/inspector/client/protocol.js";
import {
  activePaths,
  modelOf,
  OUTSIDE,
  type SessionModel,
  stateText,
  topState,
} from "../../src/inspector/client/session.js";
import { formatSessionFile, parseSessionFile } from "../../src/inspector/client/session-file.js";
import { createFlightRecorder } from "../../src/inspector/recorder.js";
import { createWorkspace, testShell } from "../support/plugins.js";
import { writeFleet } from "./harness.js";

/** Every record of a run: start, updates (one re-importing beta), a start timeout, stop. */
let records: InspectorRecord[];

beforeAll(async () => {
  const ws = await createWorkspace();
  await writeFleet(ws);
  await ws.write({
    id: "slowpoke",
    manifest: { background: { startTimeoutMs: 50 } },
    source:
      "export function onStart() { return new Promise(() => {}); }\nexport async function onStop() {}\n",
  });
  const recorder = createFlightRecorder({ machines: ["shell", "plugin"] });
  const { shell } = testShell(ws, { inspect: recorder.observer });
  await shell.start();
  await shell.update({ changed: ["beta"] });
  await shell.update();
  await shell.stop();
  records = recorder.window().lines.map((line) => JSON.parse(line) as InspectorRecord);
  await ws.cleanup();
});

/** State value of each root actor by id. */
function rootStates(model: SessionModel): Record<string, unknown> {
  return Object.fromEntries(model.roots().map((view) => [view.info.id, view.snapshot?.value]));
}

describe("SessionModel", () => {
  it("folds records into each actor's state, version and timings at any point", () => {
    const end = modelOf(records);
    expect(rootStates(end)).toEqual({
      shell: "stopped",
      "plugin:alpha": "stopped",
      "plugin:beta": "stopped",
      "plugin:gamma": "errored",
      "plugin:slowpoke": "errored",
      "plugin:ui-only": "inactive",
    });
    const firstRunning = records.findIndex(
      (record) => record.kind === "snapshot" && record.snapshot.value === "running",
    );
    const early = modelOf(records, firstRunning + 1);
    const running = Object.entries(rootStates(early)).filter(([, value]) => value === "running");
    expect(running).toHaveLength(1);

    const alpha = end.byId("plugin:alpha");
    const context = alpha?.snapshot?.context as {
      version: string;
      timings: { loadMs: number; startMs: number; resumeMs: number };
    };
    expect(context.version).toBe("2.1.0");
    expect(context.timings.resumeMs).toEqual(expect.any(Number));
  });

  it("lists errors with phase, code, message and the stack of the plugin's own exception", () => {
    const errors = modelOf(records).errors;
    const gamma = errors.filter((error) => error.actorId === "plugin:gamma");
    // It failed at start-up and again on each update's retry.
    expect(gamma).toHaveLength(3);
    expect(gamma[0]).toMatchObject({ phase: "start", code: "HANGAR_START_FAILED" });
    expect(gamma[0]?.message).toContain("runway 27L is closed");
    expect(gamma[0]?.stack).toMatch(
      /HangarError[\s\S]*Caused by: Error: runway 27L is closed[\s\S]*checkRunway/,
    );

    const slow = errors.find((error) => error.actorId === "plugin:slowpoke");
    expect(slow).toMatchObject({ phase: "start", code: "HANGAR_START_TIMEOUT", stack: null });
    expect(slow?.message).toContain("50 ms");
  });

  it("puts events on lanes: API calls from outside, the fleet's events from the shell, steps on their actor", () => {
    const model = modelOf(records);
    const shellKey = model.byId("shell")?.info.key;
    const alphaKey = model.byId("plugin:alpha")?.info.key;
    const visible = model.messages.filter((message) => !message.internal);
    expect(visible.find((message) => message.type === "START" && message.to === shellKey)?.from).toBe(
      OUTSIDE,
    );
    const start = visible.find((message) => message.type === "START" && message.to === alphaKey);
    expect(start).toMatchObject({ from: shellKey, inferred: true });
    const loaded = visible.find((message) => message.to === alphaKey && message.label === "done: loadPlugin");
    expect(loaded).toMatchObject({ from: alphaKey, inferred: false });
    expect(visible.some((message) => message.label === "after startTimeout")).toBe(true);
    expect(model.messages.some((message) => message.type === "xstate.init" && message.internal)).toBe(true);
  });

  it("names steps and labels their events readably", () => {
    const model = modelOf(records);
    const alphaKey = model.byId("plugin:alpha")?.info.key ?? "";
    expect(model.labelOf("xstate.done.actor.0.plugin.active.starting", alphaKey)).toBe("done: runOnStart");
    expect(model.labelOf("xstate.error.actor.0.plugin.active.stopping", alphaKey)).toBe("error: runOnStop");
    const step = records.find((record) => record.kind === "actor" && record.actor.src === "runOnResume");
    expect(model.nameOf(step?.kind === "actor" ? step.actor.key : null)).toMatch(
      /^plugin:alpha › runOnResume$/,
    );
  });
});

describe("BoundedHistory", () => {
  it("drops the oldest records but keeps every actor's state rebuildable at each kept record", () => {
    const history = new BoundedHistory({ maxRecords: 120 });
    for (const record of records) history.append(record);
    expect(history.length).toBe(120);
    expect(history.dropped).toBe(records.length - 120);
    const window = [...history.base(), ...history.records()];
    const baseCount = history.base().length;
    for (let kept = 0; kept < history.length; kept += 7) {
      const globalIndex = records.length - history.length + kept;
      expect(rootStates(modelOf(window, baseCount + kept + 1))).toEqual(
        rootStates(modelOf(records, globalIndex + 1)),
      );
    }
  });

  it("bounds bytes too, but always keeps the newest record", () => {
    const history = new BoundedHistory({ maxBytes: 1_000 });
    for (const record of records.slice(0, 50)) history.append(record, 300);
    expect(history.length).toBe(3);
    expect(history.bytes).toBe(900);
    history.append(records[50] as InspectorRecord, 5_000);
    expect(history.length).toBe(1);
    expect(history.records()[0]).toBe(records[50]);
  });
});

describe("state values", () => {
  const value = { booting: { auth: "done", server: "listening", plugins: "loading" } };
  it("lists active paths parents first, and reads as one line", () => {
    expect(activePaths(value)).toEqual([
      "booting",
      "booting.auth",
      "booting.auth.done",
      "booting.server",
      "booting.server.listening",
      "booting.plugins",
      "booting.plugins.loading",
    ]);
    expect(activePaths("running")).toEqual(["running"]);
    expect(topState(value)).toBe("booting");
    expect(stateText(value)).toBe("booting (auth: done, server: listening, plugins: loading)");
  });
});

describe("diffJson", () => {
  it("lists the leaf paths that changed, were added or were removed", () => {
    const before = { value: "loaded", context: { timings: { startMs: null }, warnings: ["a"], gone: 1 } };
    const after = {
      value: "running",
      context: { timings: { startMs: 12 }, warnings: ["a", "b"], added: true },
    };
    expect(diffJson(before, after)).toEqual([
      { path: "value", kind: "changed", before: "loaded", after: "running" },
      { path: "context.timings.startMs", kind: "changed", before: null, after: 12 },
      { path: "context.warnings[1]", kind: "added", after: "b" },
      { path: "context.gone", kind: "removed", before: 1 },
      { path: "context.added", kind: "added", after: true },
    ]);
    expect(diffJson(before, structuredClone(before))).toEqual([]);
  });
});

describe("session files", () => {
  const header: SessionHeader = {
    format: "hangar-inspector-session",
    version: 1,
    session: {
      id: "s",
      startedAt: "2026-01-01T00:00:00.000Z",
      hangarVersion: "0.1.0",
      maxRecords: 10_000,
      allowActions: false,
    },
    historyStartsAt: 0,
  };

  it("round-trip header and records", () => {
    const text = formatSessionFile(header, records);
    expect(text.split("\n")).toHaveLength(records.length + 2);
    expect(parseSessionFile(text)).toEqual({ header, records });
  });

  it("refuse what is not a session, naming the line and what to do", () => {
    expect(() => parseSessionFile("")).toThrow(/empty/);
    expect(() => parseSessionFile('{"hello": 1}\n')).toThrow(
      /line 1 is not a hangar inspector session header/,
    );
    expect(() => parseSessionFile(`${JSON.stringify({ ...header, version: 9 })}\n`)).toThrow(/version 9/);
    const broken = `${JSON.stringify(header)}\n${JSON.stringify(records[0])}\n{oops\n`;
    expect(() => parseSessionFile(broken)).toThrow(/line 3 is not JSON/);
    const unordered = `${JSON.stringify(header)}\n${JSON.stringify(records[1])}\n${JSON.stringify(records[0])}\n`;
    expect(() => parseSessionFile(unordered)).toThrow(/line 3: record seq 0 is not after 1/);
  });
});

afterAll(() => {
  records = [];
});
