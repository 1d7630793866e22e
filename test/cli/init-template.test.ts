// The plugin `hangar init` writes, run as it is by `hangar run` (child processes, a temp folder outside the
// repository): its log line names the plugin once, in the prefix the shell adds.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, expect, it } from "vitest";
import { type Running, run, start, waitFor } from "../support/processes.js";

const bin = fileURLToPath(new URL("../../bin/hangar.js", import.meta.url));

let dir: string;
let shell: Running | null = null;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "hangar-init-"));
});
afterEach(async () => {
  shell?.child.kill("SIGKILL");
  await shell?.exited;
  shell = null;
  await rm(dir, { recursive: true, force: true });
});

it("the generated plugin's start line carries its id once, in the shell's [id] prefix", async () => {
  const init = await run(process.execPath, [bin, "init", "echo-tower"], { cwd: dir });
  expect(init.code, init.stderr).toBe(0);
  shell = start(process.execPath, [bin, "run", "echo-tower", "--port", "0"], { cwd: dir });
  const line = await waitFor(shell, (out) => out.split("\n").find((l) => l.includes("started {")));
  expect(line).toMatch(/ INFO {2}\[echo-tower\] lifecycle: started \{"starts":1\}$/);
  expect(line.split("echo-tower")).toHaveLength(2);
  shell.child.kill("SIGINT");
  expect(await shell.exited).toBe(0);
});

it("prints next steps that paste as they are, for a folder name a shell must quote", async () => {
  const init = await run(process.execPath, [bin, "init", "Bad Name's"], { cwd: dir });
  expect(init.code, init.stderr).toBe(0);
  expect(init.stdout).toContain(`hangar run 'Bad Name'\\''s' --watch`);
  expect(init.stdout).toContain(`cd 'Bad Name'\\''s' && npm link hangar`);
});
