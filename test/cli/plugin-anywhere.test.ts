// SPEC §1 through the real CLI (bin/hangar.js → dist/, in a child process): the README's TypeScript plugin in a
// folder outside any Node project, with `npm init -y`'s package.json (no "type") and no node_modules, imports
// hangar/sdk and express from the shell and serves a route; `hangar validate` names a missing package's fix.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("../..", import.meta.url));
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "hangar-anywhere-"));
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

async function writePlugin(folder: string, files: Record<string, string>): Promise<void> {
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(folder, file)), { recursive: true });
    await writeFile(path.join(folder, file), content);
  }
}

function hangar(args: string[]): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [path.join(repo, "bin/hangar.js"), ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  return { child, output: () => output, exited };
}

describe("a plugin folder outside any Node project", () => {
  it("runs the README's TypeScript plugin with the shell's hangar/sdk and express", async () => {
    const plugins = path.join(dir, "plugins");
    await writePlugin(path.join(plugins, "hello"), {
      "package.json": JSON.stringify({ name: "hello", version: "1.0.0", main: "index.js" }),
      "plugin.json": JSON.stringify({
        id: "hello",
        version: "1.0.0",
        background: { entryModule: "background/index.ts" },
      }),
      "background/index.ts": `import { createPlugin } from "hangar/sdk";
import express from "express";
import { greeting } from "./greeting.js";

export default createPlugin({
  async onStart(ctx) {
    const router = express.Router();
    router.get("/hello", (_req, res) => {
      res.json({ success: true, data: greeting("pilot") });
    });
    ctx.server.registerRouter("/api/hello", router);
  },
  async onStop() {},
});
`,
      "background/greeting.ts": 'export const greeting = (who: string): string => "hello, " + who;\n',
    });
    const run = hangar(["run", "--port", "0", "--json", "--data-dir", path.join(dir, "data"), plugins]);
    let summary: { url?: string; plugins?: { id: string; state: string; error?: unknown }[] } | undefined;
    for (let waited = 0; summary === undefined && waited < 25_000; waited += 50) {
      summary = run
        .output()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as { event?: string })
        .find((record) => record.event === "summary") as typeof summary;
      if (summary === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(summary, run.output()).toBeDefined();
    expect(
      summary?.plugins?.map((p) => [p.id, p.state]),
      run.output(),
    ).toEqual([["hello", "running"]]);
    const response = await fetch(`${summary?.url}/api/hello/hello`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ success: true, data: "hello, pilot" });
    expect(run.output()).not.toContain("hangar-generation");
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
  }, 60_000);

  it("hangar validate names a missing package and the npm install that fixes it", async () => {
    const folder = path.join(dir, "needs-dep");
    await writePlugin(folder, {
      "plugin.json": JSON.stringify({
        id: "needs-dep",
        version: "1.0.0",
        background: { entryModule: "index.mjs" },
      }),
      "index.mjs":
        'import dayjs from "dayjs";\nexport function onStart() { dayjs(); }\nexport function onStop() {}\n',
    });
    const run = hangar(["validate", folder]);
    expect(await run.exited).not.toBe(0);
    expect(run.output()).toContain("dayjs");
    expect(run.output()).toContain(`npm install dayjs" in ${folder}`);
  }, 60_000);
});
