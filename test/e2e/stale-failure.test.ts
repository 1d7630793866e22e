// A plugin's failure record carries that failure's own error, never an older one's; and its status timings are
// those of the generation it is in (an author's findings: a start timeout logged with the stack of an earlier,
// unrelated throw; "errored 1 ms" in START for a plugin that failed at load).
import { expect, it } from "vitest";
import { testShell, workspacePerTest } from "../support/plugins.js";

const fixture = workspacePerTest();

const throwing = `export async function onStart() { throw new Error("first failure"); }
export async function onStop() {}\n`;
const hanging = `export async function onStart() { await new Promise(() => {}); }
export async function onStop() {}\n`;

it("a start timeout after an earlier throw is logged without the earlier error", async () => {
  const manifest = { background: { startTimeoutMs: 500 } };
  await fixture.ws.write({ id: "p", manifest, source: throwing });
  const { shell, log } = testShell(fixture.ws);
  fixture.shells.push(shell);
  await shell.start();
  const first = log.lines.find((line) => line.pluginId === "p" && line.state === "errored");
  expect((first?.err as { message: string } | undefined)?.message).toBe("first failure");

  await fixture.ws.write({ id: "p", manifest, source: hanging });
  await shell.update({ changed: ["p"] });
  const timeout = log.lines.find((line) => line.code === "HANGAR_START_TIMEOUT");
  expect(timeout).toMatchObject({ pluginId: "p", state: "errored", phase: "start" });
  expect(timeout).not.toHaveProperty("err");
  expect(JSON.stringify(timeout)).not.toContain("first failure");
}, 30_000);

it("a plugin that fails at load has no timings from the generation before", async () => {
  await fixture.ws.write({
    id: "p",
    source: "export async function onStart() {}\nexport async function onStop() {}\n",
  });
  const { shell } = testShell(fixture.ws);
  fixture.shells.push(shell);
  await shell.start();
  expect(shell.status().plugins[0]?.timings.startMs).toEqual(expect.any(Number));

  await fixture.ws.write({ id: "p", source: `throw new Error("broken import");\n` });
  await shell.update({ changed: ["p"] });
  const status = shell.status().plugins[0]!;
  expect(status).toMatchObject({ state: "errored", error: { phase: "load" } });
  expect(status.timings).toMatchObject({ loadMs: null, startMs: null });
}, 30_000);

it("an invalid plugin.json is logged with its clear message only, not the schema library's issue dump", async () => {
  const folder = await fixture.ws.write({
    id: "p",
    source: "export async function onStart() {}\nexport async function onStop() {}\n",
  });
  const { writeFile } = await import("node:fs/promises");
  await writeFile(`${folder}/plugin.json`, JSON.stringify({ id: "p", version: "x" }));
  const { shell, log } = testShell(fixture.ws);
  fixture.shells.push(shell);
  await shell.start();
  const record = log.lines.find((line) => line.code === "HANGAR_MANIFEST_INVALID");
  expect(record).toMatchObject({ pluginId: "p", state: "errored", phase: "load" });
  expect(String(record?.msg)).toContain('"x" is not a semver version');
  expect(record).not.toHaveProperty("err");
}, 30_000);
