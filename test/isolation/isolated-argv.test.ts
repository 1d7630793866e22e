// An isolated plugin reads the shell's command line in process.argv, as it would in-process: a worker thread alone
// has `[node]`, a forked process `[node, worker-main.js]` (docs/isolation.md, "Context"). Through the real CLI in a
// child process, an in-process and an isolated plugin side by side, on each headless host.
import { describe, expect, it } from "vitest";
import { cliWorkspacePerTest } from "../support/plugins.js";
import { waitForEvent } from "../support/processes.js";

const fixture = cliWorkspacePerTest();

/** A plugin whose route answers the process.argv its code sees. */
const argvPlugin = (id: string) => `
export async function onStart(ctx) {
  ctx.server.registerRouter("/api/${id}", (req, res) => res.json({ argv: process.argv }));
}
export async function onStop() {}
`;

describe.each(["thread", "process"])("with --isolation-host %s", (host) => {
  it("an isolated plugin's process.argv is the shell's command line, as in-process", async () => {
    const patient = { loadTimeoutMs: 120_000, startTimeoutMs: 60_000 };
    await fixture.ws.write({
      id: "inside",
      source: argvPlugin("inside"),
      manifest: { background: { ...patient, isolation: "none" } },
    });
    await fixture.ws.write({
      id: "isolated",
      source: argvPlugin("isolated"),
      manifest: { background: { ...patient, isolation: "worker" } },
    });
    const cli = fixture.hangarRun(["--isolation-host", host]);
    const { url } = (await waitForEvent(cli, "summary")) as { url: string };
    const read = async (id: string) =>
      ((await (await fetch(`${url}/api/${id}`)).json()) as { argv: string[] }).argv;
    const inside = await read("inside");
    const isolated = await read("isolated");
    // The shell's own command line: node, bin/hangar.js, then what the user typed.
    expect(inside.slice(2)).toEqual([
      "run",
      fixture.ws.pluginsDir,
      "--json",
      "--port",
      "0",
      "--data-dir",
      fixture.ws.dataDir,
      "--isolation-host",
      host,
    ]);
    expect(inside[1]).toMatch(/bin[/\\]hangar\.js$/);
    expect(isolated).toEqual(inside);
  }, 120_000);
});
