// Writing visualizations/ and catching stale diagrams: real files in a temp dir, and the npm script's entry as a child process.
import { spawn } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkDiagrams, describeStaleDiagrams, writeDiagrams } from "../../src/graph/write-diagrams.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "hangar-graph-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the `npm run graph` entry point (`node --import tsx src/graph/cli-entry.ts`) to completion. */
function graphScript(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/graph/cli-entry.ts", ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

describe("writeDiagrams", () => {
  it("writes every format into a new directory and returns the paths, sorted", async () => {
    const out = join(dir, "nested", "visualizations");
    const written = await writeDiagrams({ format: "all", outDir: out });
    const names = [
      "plugin.machine.dot",
      "plugin.machine.md",
      "plugin.machine.mmd",
      "plugin.machine.svg",
      "shell.machine.dot",
      "shell.machine.md",
      "shell.machine.mmd",
      "shell.machine.svg",
    ];
    expect(written).toEqual(names.map((name) => join(out, name)));
    expect((await readdir(out)).sort()).toEqual(names);
    expect(await readFile(join(out, "shell.machine.svg"), "utf8")).toMatch(/^<svg/);
  });

  it("writes only the asked format and leaves other files alone", async () => {
    await writeFile(join(dir, "notes.txt"), "mine");
    const written = await writeDiagrams({ format: "dot", outDir: dir });
    expect(written).toEqual([join(dir, "plugin.machine.dot"), join(dir, "shell.machine.dot")]);
    expect((await readdir(dir)).sort()).toEqual(["notes.txt", "plugin.machine.dot", "shell.machine.dot"]);
  });
});

describe("checkDiagrams", () => {
  it("passes on fresh output, even with CRLF line endings", async () => {
    await writeDiagrams({ outDir: dir });
    const mmd = join(dir, "plugin.machine.mmd");
    await writeFile(mmd, (await readFile(mmd, "utf8")).replace(/\n/g, "\r\n"));
    expect(await checkDiagrams(dir)).toEqual({ ok: true, changed: [], missing: [], extra: [] });
  });

  it("lists a modified, a missing and a no-longer-generated file", async () => {
    await writeDiagrams({ outDir: dir });
    const mmd = join(dir, "plugin.machine.mmd");
    await writeFile(
      mmd,
      (await readFile(mmd, "utf8")).replace("starting --> errored", "starting --> running"),
    );
    await unlink(join(dir, "shell.machine.svg"));
    await writeFile(join(dir, "old.machine.dot"), "digraph {}");
    await writeFile(join(dir, "README.txt"), "not a diagram");
    const check = await checkDiagrams(dir);
    expect(check).toEqual({
      ok: false,
      changed: [mmd],
      missing: [join(dir, "shell.machine.svg")],
      extra: [join(dir, "old.machine.dot")],
    });
    const message = describeStaleDiagrams(check, dir);
    expect(message).toContain(`changed: ${mmd}`);
    expect(message).toContain("run: npm run graph");
  });

  it("reports every file missing when the directory does not exist", async () => {
    const check = await checkDiagrams(join(dir, "absent"));
    expect(check.ok).toBe(false);
    expect(check.missing).toHaveLength(8);
  });
});

describe("npm run graph / graph:check entry", () => {
  it("passes on a copy of the committed visualizations/, and fails once a file in it is edited", async () => {
    await cp(join(root, "visualizations"), dir, { recursive: true });
    const fresh = await graphScript(["--check", "--out", dir]);
    expect(fresh.stderr).toBe("");
    expect(fresh.code).toBe(0);

    const dot = join(dir, "shell.machine.dot");
    await writeFile(dot, `${await readFile(dot, "utf8")}// edited by hand\n`);
    const stale = await graphScript(["--check", "--out", dir]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(`changed: ${dot}`);
    expect(stale.stderr).toContain("run: npm run graph");
  });

  it("regenerates every file into --out", async () => {
    const generated = await graphScript(["--out", dir]);
    expect(generated.code).toBe(0);
    expect(generated.stdout).toContain(`wrote ${join(dir, "shell.machine.svg")}`);
    expect(await readdir(dir)).toHaveLength(8);
  });

  it("refuses an unknown --format", async () => {
    const result = await graphScript(["--format", "png", "--out", dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown --format 'png'. Use one of: mermaid, dot, svg, all.");
    expect(await readdir(dir)).toEqual([]);
  });
});
