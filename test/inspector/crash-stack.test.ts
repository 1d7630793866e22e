// The inspector's errors view shows a crash's stack as it does a failed hook's: the CRASH event carries the
// stack of the plugin's own error (an author's finding: HANGAR_PLUGIN_CRASHED had no "stack" toggle).
import { afterEach, expect, it } from "vitest";
import type { Shell } from "../../src/index.js";
import type { InspectorRecord } from "../../src/inspector/client/protocol.js";
import { modelOf } from "../../src/inspector/client/session.js";
import { createFlightRecorder } from "../../src/inspector/recorder.js";
import { createWorkspace, testShell, type Workspace } from "../support/plugins.js";

let ws: Workspace | undefined;
let shell: Shell | undefined;
afterEach(async () => {
  await shell?.stop();
  await ws?.cleanup();
});

it.each(["none", "worker"] as const)(
  "a crash's error entry has the plugin's stack (isolation %s)",
  async (isolation) => {
    ws = await createWorkspace();
    await ws.write({
      id: "crasher",
      manifest: { background: { restart: { policy: "never" } } },
      source: `function explode() { throw new Error("timer boom"); }
export async function onStart() { setTimeout(explode, 100); }
export async function onStop() {}\n`,
    });
    const recorder = createFlightRecorder({ machines: ["shell", "plugin"] });
    ({ shell } = testShell(ws, { inspect: recorder.observer, isolation }));
    await shell.start();
    const deadline = Date.now() + 30_000;
    while (shell.status().plugins[0]?.state !== "errored" && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 25));
    const records = recorder.window().lines.map((line) => JSON.parse(line) as InspectorRecord);
    const errors = modelOf(records).errors.filter((error) => error.actorId === "plugin:crasher");
    expect(errors[0]).toMatchObject({ phase: "run", code: "HANGAR_PLUGIN_CRASHED" });
    expect(errors[0]?.stack).toMatch(/timer boom[\s\S]*explode[\s\S]*crasher/);
  },
  60_000,
);
