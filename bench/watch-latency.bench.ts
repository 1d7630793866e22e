// Edit-to-new-code latency of `hangar run --watch` for a TypeScript plugin: from writing the file to the
// first HTTP answer from the new code, against the baseline a user has without --watch (stop the process,
// start `hangar run` again, wait for the same answer). Both through the real CLI in a child process.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchResult, quickMode } from "./types.js";

const bin = fileURLToPath(new URL("../bin/hangar.js", import.meta.url));

/** A TypeScript plugin answering its `version`: types in the source, so the TypeScript transform runs. */
function source(version: number): string {
  return `interface Answer { version: number }
const answer: Answer = { version: ${version} };
export async function onStart(ctx: { server: { registerRouter(path: string, router: unknown): void } }): Promise<void> {
  ctx.server.registerRouter("/api/edited", (req: { url: string }, res: { json(body: Answer): void }, next: () => void) =>
    req.url === "/version" ? res.json(answer) : next(),
  );
}
export async function onStop(): Promise<void> {}
`;
}

interface Shell {
  child: ChildProcess;
  url: Promise<string>;
}

function startShell(folder: string, watch: boolean, cwd: string): Shell {
  const child = spawn(
    process.execPath,
    [bin, "run", folder, "--port", "0", "--json", "--log-level", "warn", ...(watch ? ["--watch"] : [])],
    { cwd, stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"event":"summary".*?"url":"([^"]+)"/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once("exit", () => reject(new Error(`hangar run exited early:\n${out}`)));
  });
  return { child, url };
}

async function stopShell(shell: Shell): Promise<void> {
  const exited = new Promise((resolve) => shell.child.once("exit", resolve));
  shell.child.kill("SIGINT");
  await exited;
}

/** Polls until the route answers `version`; resolves with the time that took from `since`. */
async function until(url: string, version: number, since: number): Promise<number> {
  for (;;) {
    try {
      const response = await fetch(`${url}/api/edited/version`);
      if (response.ok && ((await response.json()) as { version: number }).version === version) {
        return performance.now() - since;
      }
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function run(): Promise<BenchResult[]> {
  const edits = quickMode() ? 2 : 15;
  const restarts = quickMode() ? 1 : 5;
  const root = await mkdtemp(path.join(os.tmpdir(), "hangar-watch-bench-"));
  const folder = path.join(root, "edited");
  await mkdir(path.join(folder, "background"), { recursive: true });
  await writeFile(
    path.join(folder, "plugin.json"),
    JSON.stringify({ id: "edited", version: "1.0.0", background: { entryModule: "background/index.ts" } }),
  );
  const entry = path.join(folder, "background/index.ts");
  let version = 0;
  await writeFile(entry, source(version));
  try {
    const watched: number[] = [];
    const shell = startShell(folder, true, root);
    const url = await shell.url;
    await until(url, version, performance.now());
    for (let i = 0; i < edits; i += 1) {
      version += 1;
      const since = performance.now();
      await writeFile(entry, source(version));
      watched.push(await until(url, version, since));
      // Quiet between edits, as between a person's saves.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await stopShell(shell);

    const restarted: number[] = [];
    for (let i = 0; i < restarts; i += 1) {
      version += 1;
      const since = performance.now();
      await writeFile(entry, source(version));
      const fresh = startShell(folder, false, root);
      restarted.push(await until(await fresh.url, version, since));
      await stopShell(fresh);
    }

    const value = median(watched);
    const baseline = median(restarted);
    return [
      {
        group: "watch latency",
        name: `edit → new code served (median of ${edits})`,
        value,
        unit: "ms",
        baseline,
        ratio: value / baseline,
        better: "lower",
        note: `--watch: min ${Math.round(Math.min(...watched))}, max ${Math.round(Math.max(...watched))} ms (200 ms of it is the quiet period); baseline: restart hangar run`,
      },
    ];
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
