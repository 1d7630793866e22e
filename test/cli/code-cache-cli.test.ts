// The `hangar` command's V8 code cache (src/cli/code-cache.ts, launch.ts) in real child processes: which file each
// command writes and when, that a start takes the file without rewriting it, and that a file V8 refuses, or a cache
// folder that cannot be written, changes nothing a user sees.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run, sleep, start, waitForEvent } from "../support/processes.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const { version } = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as {
  version: string;
};

let dir: string;
let cacheDir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "hangar-code-cache-cli-"));
  cacheDir = path.join(dir, "code-cache");
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function hangar(args: string[], cache = cacheDir) {
  return run(process.execPath, ["bin/hangar.js", ...args], { cwd: root, env: { HANGAR_CODE_CACHE: cache } });
}

async function cacheFiles(): Promise<string[]> {
  return (await readdir(cacheDir).catch(() => [])).sort();
}

async function fileState(file: string): Promise<{ bytes: Buffer; mtimeMs: number }> {
  return { bytes: await readFile(file), mtimeMs: (await stat(file)).mtimeMs };
}

// Up to three starts of the CLI per test, on a machine that may be loaded.
describe("the hangar command's code cache", { timeout: 90_000 }, () => {
  it("`hangar --version` writes its cache file once; the next start takes it without rewriting it", async () => {
    const first = await hangar(["--version"]);
    expect(first).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
    const files = await cacheFiles();
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{32}-cli\.v8$/);
    const file = path.join(cacheDir, files[0] as string);
    const written = await fileState(file);

    const second = await hangar(["--version"]);
    expect(second).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
    // A file V8 had refused would have been written again.
    expect(await fileState(file)).toEqual(written);
    expect(await cacheFiles()).toEqual(files);
  });

  it("a file V8 refuses (made for another script) is replaced, and the command works as before", async () => {
    await hangar(["--version"]);
    const [name] = await cacheFiles();
    const file = path.join(cacheDir, name as string);
    // Well-formed: a good digest over real V8 data, but for a script of another length, which V8 refuses.
    const other = new vm.Script("(function () { return 42; })");
    other.runInThisContext();
    const foreign = other.createCachedData();
    await writeFile(file, Buffer.concat([createHash("sha256").update(foreign).digest(), foreign]));

    const refused = await hangar(["--version"]);
    expect(refused).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
    const replaced = await fileState(file);
    expect(replaced.bytes.subarray(32).equals(foreign)).toBe(false);

    expect(await hangar(["--version"])).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
    expect(await fileState(file)).toEqual(replaced);
  });

  it("`hangar run` writes its own file once it has started, and starts from it the next time", async () => {
    const plugins = path.join(dir, "plugins");
    await mkdir(path.join(plugins, "beacon", "background"), { recursive: true });
    await writeFile(
      path.join(plugins, "beacon", "plugin.json"),
      JSON.stringify({ id: "beacon", version: "1.0.0", background: { entryModule: "background/index.js" } }),
    );
    await writeFile(
      path.join(plugins, "beacon", "background", "index.js"),
      "export async function onStart(ctx) { ctx.logger.info('beacon', 'on'); }\nexport async function onStop() {}\n",
    );
    const args = [
      "bin/hangar.js",
      "run",
      plugins,
      "--port",
      "0",
      "--data-dir",
      path.join(dir, "data"),
      "--json",
    ];
    const startRun = () => start(process.execPath, args, { cwd: root, env: { HANGAR_CODE_CACHE: cacheDir } });

    const first = startRun();
    try {
      const summary = await waitForEvent(first, "summary");
      expect(summary.plugins).toEqual([expect.objectContaining({ id: "beacon", state: "running" })]);
      // Written right after the summary: generous time for a loaded machine.
      for (let waited = 0; !(await cacheFiles()).some((f) => f.endsWith("-run.v8")) && waited < 20_000; ) {
        await sleep(50);
        waited += 50;
      }
    } finally {
      first.child.kill("SIGTERM");
    }
    expect(await first.exited).toBe(0);
    const files = await cacheFiles();
    expect(files.filter((f) => f.endsWith("-run.v8"))).toHaveLength(1);
    const file = path.join(cacheDir, files.find((f) => f.endsWith("-run.v8")) as string);
    const written = await fileState(file);

    const second = startRun();
    try {
      const summary = await waitForEvent(second, "summary");
      expect(summary.plugins).toEqual([expect.objectContaining({ id: "beacon", state: "running" })]);
    } finally {
      second.child.kill("SIGTERM");
    }
    expect(await second.exited).toBe(0);
    expect(second.stderr()).toBe("");
    expect(await fileState(file)).toEqual(written);
  });

  it("a cache folder that cannot be created changes nothing: same output, no error, no file", async () => {
    const blocked = path.join(dir, "a-file");
    await writeFile(blocked, "");
    const result = await hangar(["--version"], path.join(blocked, "cache"));
    expect(result).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
    expect(await readdir(dir)).toEqual(["a-file"]);
  });

  it("under node --enable-source-maps, stack frames name hangar's sources, and no cache is written", async () => {
    // A diagram's file name taken by a folder: writeFile's EISDIR is an unexpected error, printed with its stack.
    const out = path.join(dir, "out");
    await mkdir(path.join(out, "plugin.machine.mmd"), { recursive: true });
    const result = await run(
      process.execPath,
      ["--enable-source-maps", "bin/hangar.js", "graph", "--format", "mermaid", "--out", out],
      { cwd: root, env: { HANGAR_CODE_CACHE: cacheDir } },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("EISDIR");
    expect(result.stderr).toMatch(/src\/graph\/write-diagrams\.ts:\d+/);
    expect(await cacheFiles()).toEqual([]);
  });

  it("`hangar run --help` writes no `run` file: only a start that reached its summary does", async () => {
    const result = await hangar(["run", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: hangar run");
    expect(await cacheFiles()).toEqual([]);
  });

  it("HANGAR_CODE_CACHE=off writes nothing", async () => {
    const result = await hangar(["validate", path.join(root, "examples/plugins"), "--json"], "off");
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(await readdir(dir)).toEqual([]);
  });
});
