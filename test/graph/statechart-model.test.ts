// Walking machine definitions beyond hangar's own: guards, delays, always, history and root transitions.

import { describe, expect, it } from "vitest";
import { and, assign, createMachine, not, setup } from "xstate";
import { toDot } from "../../src/graph/dot.js";
import { toMermaid } from "../../src/graph/mermaid.js";
import { describeMachine } from "../../src/graph/statechart-model.js";

const machine = setup({
  guards: { ready: () => true, paused: () => false },
  actions: { log: () => {} },
}).createMachine({
  id: "player",
  initial: "idle",
  on: { RESET: { target: ".idle", actions: "log" } },
  states: {
    idle: {
      on: { PLAY: { target: "playing", guard: and(["ready", not("paused")]) } },
      always: { guard: "paused", target: "playing" },
    },
    playing: {
      initial: "normal",
      entry: assign(() => ({})),
      after: { 500: { target: ".fast", actions: () => {} } },
      states: {
        normal: {},
        fast: {},
        hist: { type: "history", history: "deep" },
        end: { type: "final" },
      },
      onDone: "idle",
    },
  },
});

describe("describeMachine", () => {
  const model = describeMachine(machine);

  it("reads guard combinators, numeric delays, always and inline actions", () => {
    const labels = model.transitions.map((t) => [t.source.join("."), t.event, t.guard, t.actions.join(", ")]);
    expect(labels).toContainEqual(["idle", "PLAY", "and(ready, not(paused))", ""]);
    expect(labels).toContainEqual(["idle", "always", "paused", ""]);
    expect(labels).toContainEqual(["playing", "after 500 ms", null, "inline"]);
    expect(labels).toContainEqual(["playing", "onDone", null, ""]);
    expect(labels).toContainEqual(["", "RESET", null, "log"]);
    const playing = model.root.children.find((state) => state.key === "playing")!;
    expect(playing.entry).toEqual(["assign"]);
    expect(playing.children.map((state) => [state.key, state.kind])).toEqual([
      ["normal", "atomic"],
      ["fast", "atomic"],
      ["hist", "history"],
      ["end", "final"],
    ]);
  });

  it("escapes a state named like a Mermaid keyword and draws root transitions in a note", () => {
    const mermaid = toMermaid(model);
    expect(mermaid).toContain('state "end" as playing_end\n');
    expect(mermaid).toContain("    playing_end --> [*]\n");
    expect(mermaid).toContain("  playing --> playing_fast: after 500 ms / inline\n");
    expect(mermaid).toMatch(/in every state:\n\s+RESET \/ log -> idle\n/);
    // The edge from a composite to its own child stays inside the cluster in DOT (no ltail).
    expect(toDot(model)).toContain('"[*] playing" -> "playing.fast" [label="after 500 ms / inline"];');
  });

  it("names a reserved word state with a suffix and keeps ids unique", () => {
    const clash = createMachine({
      id: "clash",
      initial: "a",
      states: { a: { initial: "b", states: { b: {} } }, a_b: {}, note: {} },
    });
    const mermaid = toMermaid(describeMachine(clash));
    expect(mermaid).toContain("  a_b\n");
    expect(mermaid).toContain('state "b" as a_b_2\n');
    expect(mermaid).toContain('state "note" as note_state\n');
  });
});
