// `hangar run --inspect` as a user runs it (the built binary, a real child process): it prints the page's
// URL, and the page and every module it imports load from the installed package's dist/ and src/.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
let child: ChildProcess | undefined;

afterEach(() => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
});

/** Starts `hangar run --inspect` and resolves with its JSON summary once it is running. */
function runInspect(
  extra: string[],
): Promise<{ summary: Record<string, unknown>; exited: Promise<number | null> }> {
  const proc = spawn(
    process.execPath,
    ["bin/hangar.js", "run", "examples/plugins", "--port", "0", "--inspect", ...extra],
    {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child = proc;
  const exited = new Promise<number | null>((resolve) => proc.on("close", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    proc.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    proc.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      for (const line of stdout.split("\n")) {
        if (!line.startsWith("{")) continue;
        const record = JSON.parse(line) as Record<string, unknown>;
        if (record.event === "summary") resolve({ summary: record, exited });
      }
    });
    void exited.then((code) =>
      reject(new Error(`hangar exited with ${code} before its summary:\n${stdout}\n${stderr}`)),
    );
  });
}

describe("hangar run --inspect", () => {
  it("prints the inspector's URL, whose page and modules load from the built package", async () => {
    const { summary, exited } = await runInspect(["--json"]);
    const url = String(summary.inspector);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/_hangar\/inspect\?token=[A-Za-z0-9_-]{43}$/);

    const page = await fetch(url);
    expect(page.status).toBe(200);
    const origin = new URL(url).origin;
    // dist/ holds the compiled modules; each import of the page's module graph must resolve.
    const queue = ["main.js"];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const name = queue.shift() as string;
      if (seen.has(name)) continue;
      seen.add(name);
      const response = await fetch(`${origin}/_hangar/inspect/assets/${name}`);
      expect(response.status, name).toBe(200);
      const text = await response.text();
      expect(text, name).not.toContain("sourceMappingURL");
      for (const match of text.matchAll(/from "(\.{1,2}\/[^"]+)"/g)) {
        queue.push(new URL(match[1] as string, `http://x/${name}`).pathname.slice(1));
      }
    }
    expect(seen.size).toBeGreaterThan(8);
    expect((await fetch(`${origin}/_hangar/inspect/assets/inspector.css`)).status).toBe(200);

    child?.kill("SIGINT");
    expect(await exited).toBe(0);
  });

  it("prints the URL under the summary table in human output", async () => {
    const proc = spawn(
      process.execPath,
      ["bin/hangar.js", "run", "examples/plugins", "--port", "0", "--inspect"],
      {
        cwd: root,
        env: { ...process.env, NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child = proc;
    const exited = new Promise<number | null>((resolve) => proc.on("close", (code) => resolve(code)));
    let stdout = "";
    const line = await new Promise<string>((resolve, reject) => {
      proc.stdout?.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        const found = /^Inspector: (\S+)$/m.exec(stdout);
        if (found) resolve(found[1] as string);
      });
      void exited.then(() => reject(new Error(`hangar exited early:\n${stdout}`)));
    });
    expect(line).toMatch(/\/_hangar\/inspect\?token=/);
    expect((await fetch(line)).status).toBe(200);
    proc.kill("SIGINT");
    expect(await exited).toBe(0);
  });
});
