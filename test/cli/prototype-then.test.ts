// Ctrl+C after an in-process plugin set Object.prototype.then: every promise resolved with an object would call it
// (a thenable hijack), and the shutdown ended in a raw TypeError from hangar's own code (or hung). The shell now
// takes the patch off before it stops: onStop runs, the CLI says "Stopped." and exits 0 (docs/lifecycle.md).
// Through the real CLI in a child process: the fault reaches the whole process.
import { describe, expect, it } from "vitest";
import { cliWorkspacePerTest } from "../support/plugins.js";
import { records, waitForEvent } from "../support/processes.js";

const fixture = cliWorkspacePerTest();

/** A plugin whose route sets Object.prototype.then to `then` (source of a function), as a stray polyfill might. */
const patcher = (then: string) => `
export async function onStart(ctx) {
  ctx.server.registerRouter("/api/patcher", (req, res) => {
    Object.defineProperty(Object.prototype, "then", { configurable: true, writable: true, value: ${then} });
    res.end("patched");
  });
  ctx.signal.addEventListener("abort", () => ctx.logger.info("patcher", "context disposed"));
}
export async function onStop() { console.log("patcher onStop ran"); }
`;

describe.each([
  ["resolves every object as something else", "function (resolve) { resolve('hijacked'); }"],
  ["never settles", "function () {}"],
])("a plugin's Object.prototype.then that %s", (_what, then) => {
  it("Ctrl+C still stops the shell in order and exits 0", async () => {
    await fixture.ws.write({ id: "patcher", source: patcher(then) });
    const cli = fixture.hangarRun(["--isolation", "none"]);
    const { url } = (await waitForEvent(cli, "summary")) as { url: string };
    expect(await (await fetch(`${url}/api/patcher`)).text()).toBe("patched");
    cli.child.kill("SIGINT");
    const code = await Promise.race([cli.exited, new Promise((r) => setTimeout(() => r("hung"), 30_000))]);
    const out = cli.stdout();
    expect(code, `${out}\n${cli.stderr()}`).toBe(0);
    const lines = records(out);
    expect(lines.filter((line) => line.event === "error")).toEqual([]);
    expect(lines.find((line) => line.event === "stopped")).toMatchObject({ clean: true });
    expect(out).toContain("patcher onStop ran");
    expect(lines.some((line) => line.pluginId === "patcher" && line.msg === "context disposed")).toBe(true);
    const warning = lines.find((line) => /Object\.prototype\.then/.test(String(line.msg)));
    expect(String(warning?.msg)).toMatch(
      /^Plugin code set Object\.prototype\.then .* hangar removed it before stopping\. Fix: never add `then`/,
    );
    expect(cli.stderr()).not.toMatch(/TypeError/);
  }, 60_000);
});
