// ctx.ipc.send with a payload the shell's JSON transport (hangar run's WebSocket bridge) cannot carry throws the same
// TypeError at the plugin's call whether the plugin runs in-process, in a worker thread or in a child process
// (docs/ipc.md) — through the real CLI in a child process, as a plugin author meets it.
import { describe, expect, it } from "vitest";
import { cliWorkspacePerTest } from "../support/plugins.js";
import { waitFor } from "../support/processes.js";

const fixture = cliWorkspacePerTest();

// Each send's outcome is logged by the plugin itself: what its try/catch saw.
const sender = `export async function onStart(ctx) {
  const cycle = { name: "loop" };
  cycle.self = cycle;
  let deep = [];
  for (let i = 0; i < 5000; i++) deep = [deep];
  const payloads = { bigint: { big: 1n }, cycle, deep, plain: { n: 1 } };
  for (const [label, payload] of Object.entries(payloads)) {
    try {
      ctx.ipc.send("tick", payload);
      ctx.logger.info("probe", "send " + label + ": returned");
    } catch (error) {
      ctx.logger.info("probe", "send " + label + ": threw " + error.name + ": " + error.message.replace(/\\s+/g, " "));
    }
  }
  ctx.logger.info("probe", "sends done");
}
export async function onStop() {}`;

/** The plugin's `send …` lines under `hangar run` with `extra` flags, once its onStart has logged them all. */
async function sendOutcomes(extra: string[]): Promise<{ lines: string[]; out: string }> {
  await fixture.ws.write({ id: "sender", source: sender });
  const running = fixture.hangar(["run", "plugins", "--port", "0", ...extra]);
  const out = await waitFor(running, (stdout) => (stdout.includes("IPC bridge:") ? stdout : undefined));
  running.child.kill("SIGINT");
  await running.exited;
  const lines = out
    .split("\n")
    .map((line) => /send (\w+): (.*)$/.exec(line))
    .filter((match) => match !== null)
    .map((match) => `${match[1]}: ${match[2]}`);
  return { lines, out };
}

describe("ctx.ipc.send of a payload JSON cannot carry, over hangar run's WebSocket bridge", () => {
  it("throws the same TypeError at the call in-process, in a worker thread and in a child process", async () => {
    const inProcess = await sendOutcomes([]);
    expect(inProcess.lines).toEqual([
      expect.stringMatching(
        /^bigint: threw TypeError: The payload sent on 'plugin:sender:tick' cannot be sent as JSON over the WebSocket IPC bridge \(.*BigInt.*\)/,
      ),
      expect.stringMatching(/^cycle: threw TypeError: .*cannot be sent as JSON .*\(.*circular.*\)/i),
      // Too deep for V8's clone: a sentence naming hangar's limit, never a bare RangeError.
      expect.stringMatching(/^deep: threw (TypeError|HangarError|Error): .*nested deeper than 1,000 levels/),
      "plain: returned",
    ]);
    for (const extra of [
      ["--isolation", "worker"],
      ["--isolation", "worker", "--isolation-host", "process"],
    ]) {
      const isolated = await sendOutcomes(extra);
      expect(isolated.lines, extra.join(" ")).toEqual(inProcess.lines);
      // Refused before posting: the shell has nothing to log about a lost push.
      expect(isolated.out).not.toContain("ipc.send('tick') failed");
    }
  }, 120_000);
});
