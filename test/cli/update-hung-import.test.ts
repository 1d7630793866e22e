// An update starts each plugin as soon as it and its dependsOn have loaded, as start-up does (issue 12; fresh
// findings item 3): one plugin whose re-import hangs on a top-level await holds up only itself and the plugins
// that depend on it, not the others of the same update for its whole load timeout. Through the real CLI: `hangar
// run` in a child process, and `hangar update` in another while the routes are probed.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cliWorkspacePerTest, expectHungImportOutcome } from "../support/plugins.js";
import { type Running, records, sleep, waitForEvent } from "../support/processes.js";

/** The hung re-import's limit: long, so that the other plugins' reload and start fit well inside it. */
const HUNG_LOAD_TIMEOUT_MS = 15_000;

const fixture = cliWorkspacePerTest({ HANGAR_SERVER_TOKEN: undefined });
const hangar = (args: string[]): Running => fixture.hangar(args);

/** A plugin with a route GET /api/<id>/hi that answers with its id and its module instance. */
const routed = (id: string) => `const instance = Math.random();
export async function onStart(ctx) {
  ctx.server.registerRouter("/api/${id}", (req, res, next) =>
    req.url === "/hi" ? res.json({ id: "${id}", instance }) : next(),
  );
}
export async function onStop() {}`;

type PluginRow = { id: string; state: string; error?: { phase: string; code: string; message: string } };

/** GET `route`: its status and JSON body (null when it is not JSON); a refused connection is status 0. */
async function probe(
  url: string,
  route: string,
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  // Bounded: a busy plugin's route waits up to 5 s for it to settle; the loop below would rather ask again.
  const response = await fetch(new URL(route, url), { signal: AbortSignal.timeout(1000) }).catch(() => null);
  if (!response) return { status: 0, body: null };
  const body = (await response.json().catch(() => null)) as Record<string, unknown> | null;
  return { status: response.status, body };
}

/** The plugin's state in GET /api/_shell/plugins/<id>. */
async function stateOf(url: string, id: string): Promise<unknown> {
  const { body } = await probe(url, `/api/_shell/plugins/${id}`);
  return body?.state;
}

describe("hangar update with a re-import that hangs (fresh findings, item 3)", () => {
  it("starts the other updated plugins while one import hangs; only its dependent waits for it", async () => {
    const { ws } = fixture;
    await ws.write({ id: "good", source: routed("good") });
    await ws.write({
      id: "good-dependent",
      source: routed("good-dependent"),
      manifest: { dependsOn: ["good"] },
    });
    const hungFolder = await ws.write({
      id: "hung",
      source: routed("hung"),
      manifest: { background: { loadTimeoutMs: HUNG_LOAD_TIMEOUT_MS } },
    });
    await ws.write({
      id: "hung-dependent",
      source: routed("hung-dependent"),
      manifest: { dependsOn: ["hung"] },
    });

    const shell = hangar([
      "run",
      "plugins",
      "--port",
      "0",
      "--json",
      "--data-dir",
      path.join(ws.root, "data"),
    ]);
    const summary = (await waitForEvent(shell, "summary")) as { url: string; plugins: PluginRow[] };
    expect(summary.plugins.map((plugin) => [plugin.id, plugin.state])).toEqual([
      ["good", "running"],
      ["good-dependent", "running"],
      ["hung", "running"],
      ["hung-dependent", "running"],
    ]);
    const before = await probe(summary.url, "/api/good/hi");
    expect(before.status).toBe(200);

    // The new code of `hung` never finishes its import.
    const entry = path.join(hungFolder, "background/index.mjs");
    await writeFile(entry, `await new Promise(() => {});\n${await readFile(entry, "utf8")}`);
    const port = new URL(summary.url).port;
    const ids = ["good", "good-dependent", "hung", "hung-dependent"];
    const update = hangar(["update", ...ids, "--port", port, "--json"]);

    // Both good plugins answer from their new module instance while the update still waits on the hung import.
    const answered = new Map<string, Record<string, unknown>>();
    while (answered.size < 2 && update.child.exitCode === null) {
      for (const id of ["good", "good-dependent"]) {
        if (answered.has(id)) continue;
        const { status, body } = await probe(summary.url, `/api/${id}/hi`);
        if (status === 200 && body && (id !== "good" || body.instance !== before.body?.instance)) {
          answered.set(id, body);
        }
      }
      if (answered.size < 2) await sleep(50);
    }
    expect([...answered.keys()].sort(), "the update ended before the good plugins answered").toEqual([
      "good",
      "good-dependent",
    ]);
    // They answered while the hung import was still in flight (before the fix, only once its limit ran out), and
    // the hung plugin's dependent waits for it instead of starting on the old module of what it depends on.
    expect(await stateOf(summary.url, "hung")).toBe("loading");
    let dependent = await stateOf(summary.url, "hung-dependent");
    while (dependent === "loading" && update.child.exitCode === null) {
      await sleep(50);
      dependent = await stateOf(summary.url, "hung-dependent");
    }
    expect(dependent).toBe("loaded");
    expect(await stateOf(summary.url, "hung")).toBe("loading");
    expect(update.child.exitCode).toBeNull();

    // The update settles once the hung import's limit has run out, with the hung plugin and its dependent errored.
    expect(await update.exited, update.stderr()).toBe(0);
    const result = records(update.stdout())[0] as { event: string; plugins: PluginRow[] };
    expectHungImportOutcome(result.plugins);

    shell.child.kill("SIGINT");
    expect(await shell.exited).toBe(0);
  }, 90_000);
});
