// The diagrams drawn from hangar's real machines: Mermaid, DOT and SVG as a reader of visualizations/ sees them.
import { instance } from "@viz-js/viz";
import { describe, expect, it } from "vitest";
import { renderDiagrams } from "../../src/graph/diagrams.js";
import { toDot } from "../../src/graph/dot.js";
import { toMermaid } from "../../src/graph/mermaid.js";
import { describeMachine } from "../../src/graph/statechart-model.js";
import { pluginMachine } from "../../src/machines/plugin.machine.js";
import { shellMachine } from "../../src/machines/shell.machine.js";

const pluginMermaid = toMermaid(describeMachine(pluginMachine));
const shellMermaid = toMermaid(describeMachine(shellMachine));

/** The lines of the block opened by `opening` (a line ending in `{`), up to its matching `}`. */
function block(text: string, opening: string): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((line) => line.trim() === opening);
  expect(start, `no line '${opening}' in:\n${text}`).toBeGreaterThanOrEqual(0);
  const indent = lines[start]!.length - lines[start]!.trimStart().length;
  const end = lines.findIndex((line, index) => index > start && line === `${" ".repeat(indent)}}`);
  return lines.slice(start + 1, end);
}

/** Tags balance and nest (a small well-formedness check: Graphviz SVG has no CDATA or doctype left). */
function expectBalancedXml(xml: string): void {
  const stack: string[] = [];
  for (const match of xml.matchAll(/<(\/?)([A-Za-z][\w:.-]*)[^>]*?(\/?)>|<!--[\s\S]*?-->/g)) {
    const [, closing, name, selfClosing] = match;
    if (name === undefined || selfClosing === "/") continue;
    if (closing === "/") expect(stack.pop(), `unbalanced </${name}>`).toBe(name);
    else stack.push(name);
  }
  expect(stack).toEqual([]);
}

describe("Mermaid of the plugin machine", () => {
  it("declares every state of the machine", () => {
    const declared = new Set(
      pluginMermaid.split("\n").map((line) =>
        line
          .trim()
          .replace(/^state "(\w+)" as /, "")
          .replace(/^state (\w+) \{$/, "$1"),
      ),
    );
    for (const state of Object.keys(pluginMachine.root.states)) expect(declared).toContain(state);
    expect(pluginMermaid.startsWith("stateDiagram-v2\n")).toBe(true);
  });

  it("labels transitions with the event, the guard and the actions", () => {
    expect(pluginMermaid).toContain("[*] --> loading\n");
    expect(pluginMermaid).toContain("active_starting --> errored: after startTimeout / assignTimeout\n");
    expect(pluginMermaid).toContain("active_starting --> errored: error: runOnStart / assignFailure\n");
    expect(pluginMermaid).toContain("loading --> loaded: done: loadPlugin / assignLoaded\n");
    expect(pluginMermaid).toContain("active --> active_resuming: UPDATE [and(in running, hasOnResume)]\n");
    expect(pluginMermaid).toContain(
      "active_running --> active_stopping_toRestart: UPDATE [not(hasOnResume)]\n",
    );
    expect(pluginMermaid).toContain("active_stopping --> active: done: runOnStop [in toRestart]\n");
    expect(pluginMermaid).toContain("backoff --> active: after restartBackoff / clearError\n");
  });

  it("lists what a state does while active, and what every state handles", () => {
    // The context is the `active` state's resource: created on entry, disposed on exit.
    expect(pluginMermaid).toMatch(
      /note right of active\n\s+entry \/ createContext\n\s+exit \/ disposeContext\n/,
    );
    expect(pluginMermaid).toContain("active_starting : invoke runOnStart\n");
    expect(pluginMermaid).toContain("active_starting : STOP / requestStop\n");
    // The automatic scheduling of `after` delays is XState's, not the machine author's: not drawn.
    expect(pluginMermaid).not.toMatch(/raise|cancel/);
    expect(pluginMermaid).toMatch(
      /note left of loading\n\s+in every state:\n\s+WARN \/ addWarning\n\s+RESTART_EXPIRED \[hasRestarts\] \/ expireRestart\n\s+end note/,
    );
  });
});

describe("Mermaid of the shell machine", () => {
  it("draws booting's auth, server and plugins as parallel regions separated by --", () => {
    const booting = block(shellMermaid, "state booting {");
    const topLevel = booting.filter((line) => line.startsWith("    ") && !line.startsWith("     "));
    expect(topLevel.map((line) => line.trim())).toEqual([
      'state "auth" as booting_auth {',
      "}",
      "--",
      'state "server" as booting_server {',
      "}",
      "--",
      'state "plugins" as booting_plugins {',
      "}",
    ]);
    const auth = block(shellMermaid, 'state "auth" as booting_auth {').map((line) => line.trim());
    expect(auth).toContain("[*] --> booting_auth_initialising");
    expect(auth).toContain(
      "booting_auth_initialising --> booting_auth_done: after authTimeout / reportAuthProblem",
    );
    expect(auth).toContain("booting_auth_done --> [*]");
  });

  it("gives same-named nested states distinct ids and keeps their names as labels", () => {
    for (const region of ["auth", "server", "plugins"]) {
      expect(shellMermaid).toContain(`state "done" as booting_${region}_done\n`);
    }
    expect(shellMermaid).toContain('state "discovering" as booting_plugins_discovering\n');
  });

  it("draws transitions that leave a region or a composite state at the top level", () => {
    const lines = shellMermaid.split("\n");
    expect(lines).toContain("  booting_server_listening --> failed: error: listen / setFailure");
    expect(lines).toContain("  shuttingDown_flushingConfig --> stopped: done: flushConfig");
    expect(lines).toContain("  booting --> starting: onDone");
    expect(lines).toContain("  booting --> shuttingDown: onDone [stopRequested]");
    expect(lines).toContain("  shuttingDown --> stopped: after shutdownTimeout / forceRelease");
    expect(lines).toContain(
      "  updating --> updating: done: updatePlugins [updatePending] / beginQueuedUpdate",
    );
    expect(lines).toContain("  failed --> [*]");
  });
});

describe("DOT and SVG", () => {
  it("puts compound states in clusters, regions dashed, and edges to composites on their border", () => {
    const dot = toDot(describeMachine(shellMachine));
    expect(dot).toMatch(/^digraph "shell" \{/m);
    expect(dot).toContain('subgraph "cluster_booting" {');
    expect(dot).toContain('subgraph "cluster_shuttingDown" {');
    for (const region of ["auth", "server", "plugins"]) {
      expect(block(dot, `subgraph "cluster_booting.${region}" {`).join("\n")).toContain(
        'style="rounded,dashed"',
      );
    }
    expect(dot).toContain('"idle" -> "[*] booting.auth" [label="START", lhead="cluster_booting"];');
    expect(dot).toContain('"stopped" [label=<<b>stopped</b>>, peripheries=2];');
  });

  it("merges transitions between the same two states into one edge with a line each", () => {
    const dot = toDot(describeMachine(pluginMachine));
    expect(dot).toContain(
      '"active.starting" -> "errored" [label="CRASH / assignCrash\\l' +
        'error: runOnStart / assignFailure\\lafter startTimeout / assignTimeout\\l"];',
    );
  });

  it("is DOT that Graphviz lays out without a warning", async () => {
    const viz = await instance();
    for (const machine of [pluginMachine, shellMachine]) {
      const result = viz.render(toDot(describeMachine(machine)), { format: "svg" });
      expect(result.status).toBe("success");
      expect(result.errors).toEqual([]);
    }
  });

  it("renders well-formed SVG naming every state, without a browser", async () => {
    const files = await renderDiagrams("svg");
    expect([...files.keys()]).toEqual(["plugin.machine.svg", "shell.machine.svg"]);
    const plugin = files.get("plugin.machine.svg")!;
    const shell = files.get("shell.machine.svg")!;
    for (const svg of [plugin, shell]) {
      expect(svg.startsWith("<svg")).toBe(true);
      expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
      expectBalancedXml(svg);
    }
    for (const state of Object.keys(pluginMachine.root.states)) expect(plugin).toContain(`>${state}</text>`);
    for (const state of [
      "idle",
      "booting",
      "auth",
      "initialising",
      "shuttingDown",
      "flushingConfig",
      "failed",
    ]) {
      expect(shell).toContain(`>${state}</text>`);
    }
    expect(plugin).toContain("after restartBackoff / clearError");
  });
});

describe("all formats together", () => {
  it("are the same on every run, with no timestamps or tool versions", async () => {
    const first = await renderDiagrams("all");
    const second = await renderDiagrams("all");
    expect([...first.keys()]).toEqual([
      "plugin.machine.dot",
      "plugin.machine.md",
      "plugin.machine.mmd",
      "plugin.machine.svg",
      "shell.machine.dot",
      "shell.machine.md",
      "shell.machine.mmd",
      "shell.machine.svg",
    ]);
    expect(second).toEqual(first);
    for (const contents of first.values()) {
      expect(contents).not.toMatch(/graphviz version|\d{4}-\d{2}-\d{2}T\d{2}:/i);
    }
  });

  it("embed the Mermaid in a ```mermaid block that GitHub renders", async () => {
    const files = await renderDiagrams("mermaid");
    expect([...files.keys()]).toEqual([
      "plugin.machine.md",
      "plugin.machine.mmd",
      "shell.machine.md",
      "shell.machine.mmd",
    ]);
    const markdown = files.get("plugin.machine.md")!;
    expect(markdown).toMatch(/^# Plugin lifecycle\n/);
    const fenced = markdown.match(/```mermaid\n([\s\S]*?)```/)?.[1];
    expect(fenced).toBe(pluginMermaid);
    // The .mmd carries a header naming its source and how to regenerate it, as Mermaid comments.
    expect(files.get("plugin.machine.mmd")).toMatch(
      /^%% Generated from src\/machines\/plugin\.machine\.ts by `npm run graph`.*\n%% .*\nstateDiagram-v2\n/,
    );
  });

  it("rejects an unknown format with the ones it accepts", async () => {
    await expect(renderDiagrams("png" as "svg")).rejects.toThrow(
      "hangar graph: unknown format 'png'. Use one of: mermaid, dot, svg, all.",
    );
  });
});
