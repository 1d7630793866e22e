// `hangar run --inspect` as a user runs it (the built binary, a real child process): it prints the page's
// URL, and the page and every module it imports load from the installed package's dist/ and src/.
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type Running, start, waitFor, waitForEvent } from "../support/processes.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
let hangar: Running | undefined;

afterEach(() => {
  if (hangar && hangar.child.exitCode === null) hangar.child.kill("SIGKILL");
});

/** Starts `hangar run examples/plugins --port 0 --inspect ...extra` (the built binary). */
function runInspect(extra: string[]): Running {
  hangar = start(
    process.execPath,
    ["bin/hangar.js", "run", "examples/plugins", "--port", "0", "--inspect", ...extra],
    {
      cwd: root,
    },
  );
  return hangar;
}

describe("hangar run --inspect", () => {
  it("prints the inspector's URL, whose page and modules load from the built package", async () => {
    const running = runInspect(["--json"]);
    const summary = await waitForEvent(running, "summary");
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

    running.child.kill("SIGINT");
    expect(await running.exited).toBe(0);
  });

  it("prints the URL under the summary table in human output", async () => {
    const running = runInspect([]);
    const line = await waitFor(running, (stdout) => /^Inspector: (\S+)$/m.exec(stdout)?.[1]);
    expect(line).toMatch(/\/_hangar\/inspect\?token=/);
    expect((await fetch(line)).status).toBe(200);
    running.child.kill("SIGINT");
    expect(await running.exited).toBe(0);
  });
});
