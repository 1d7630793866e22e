// What `hangar run`, `hangar update` and `hangar validate` tell a plugin author, through the real CLI in child
// processes: stacks and fields of every plugin failure, names kept, a table that survives multi-line errors,
// did-you-mean for near-miss names, the session token, allowed origins, the log level and POST /api/_shell/update.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cliWorkspacePerTest } from "../support/plugins.js";
import { records, waitFor, waitForEvent } from "../support/processes.js";

const TOKEN = "test-session-token-0123456789";

const fixture = cliWorkspacePerTest();
const hangar = fixture.hangar;

/** Runs `hangar` to completion: its exit code and output. */
async function hangarRun(args: string[], env: Record<string, string | undefined> = {}) {
  const child = hangar(args, env);
  const code = await child.exited;
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

type Summary = { url: string; plugins: Array<Record<string, unknown>> };

const good = (id: string) =>
  `export async function onStart(ctx) {
  ctx.logger.debug("probe", "debug line of ${id}");
  ctx.server.registerRouter("/api/${id}", (req, res, next) => (req.url === "/hi" ? res.json({ id: "${id}" }) : next()));
}
export async function onStop() {}`;

/** Plugins with the faults a new author meets. */
async function writeFaultyPlugins(): Promise<void> {
  await fixture.ws.write({
    id: "thrower",
    source: `function explode() {
  throw new Error("first line of the failure\\nsecond line of the failure");
}
export async function onStart() { explode(); }
export async function onStop() {}`,
  });
  await fixture.ws.write({
    id: "broken-import",
    version: "2.3.4",
    manifest: { name: "Broken Import" },
    source: `throw new Error("top-level failure");\nexport async function onStart() {}\nexport async function onStop() {}`,
  });
  await fixture.ws.write({ id: "typo", manifest: { dependOn: ["thrower"] }, source: good("typo") });
}

describe("hangar run: plugin failures a person can act on", () => {
  it("--json: each failure has state, phase, code and the plugin's stack; status keeps a valid manifest's name", async () => {
    await writeFaultyPlugins();
    const shell = hangar(["run", "plugins", "--port", "0", "--json"]);
    const summary = (await waitForEvent(shell, "summary")) as Summary;
    const failure = records(shell.stdout()).find(
      (record) => record.pluginId === "thrower" && record.state === "errored",
    ) as { phase: string; code: string; err: { stack: string } };
    expect(failure).toMatchObject({ phase: "start", code: "HANGAR_START_FAILED" });
    expect(failure.err.stack).toMatch(/at explode \(.*thrower[/\\]background[/\\]index\.mjs(\?[^:]*)?:2:9\)/);

    const imported = records(shell.stdout()).find(
      (record) => record.pluginId === "broken-import" && record.state === "errored",
    ) as { phase: string; err: { stack: string } };
    expect(imported.phase).toBe("load");
    expect(imported.err.stack).toContain("top-level failure");
    expect(summary.plugins.find((plugin) => plugin.id === "broken-import")).toMatchObject({
      version: "2.3.4",
      name: "Broken Import",
      state: "errored",
    });
  });

  it("pretty: the stack follows the failure line; the table keeps one row per plugin; a misspelt key gets a did-you-mean", async () => {
    await writeFaultyPlugins();
    const shell = hangar(["run", "plugins", "--port", "0"]);
    const out = await (async () => {
      for (;;) {
        if (shell.stdout().includes("Listening on")) return shell.stdout();
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    expect(out).toMatch(/\[thrower\] errored in phase start:[^\n]*first line[\s\S]*?\n\s+at explode \(/);
    const table = out.slice(out.indexOf("ID  "), out.indexOf("\n\n", out.indexOf("ID  ")));
    const rows = table.split("\n").slice(1).filter(Boolean);
    expect(rows.map((row) => row.split(/\s+/)[0])).toEqual(["broken-import", "thrower", "typo"]);
    expect(rows[1]).toContain("first line of the failure … (more in the log)");
    expect(out).toMatch(
      /WARN\s+\[typo\] manifest: plugin.json has a key "dependOn" .*Did you mean "dependsOn"\?/,
    );
  });

  it("--log-level debug shows ctx.logger.debug; the default (info) does not", async () => {
    await fixture.ws.write({ id: "chatty", source: good("chatty") });
    const debug = hangar(["run", "plugins", "--port", "0", "--log-level", "debug"]);
    const quiet = hangar(["run", "plugins", "--port", "0", "--data-dir", "quiet-data"]);
    for (const shell of [debug, quiet]) {
      for (let i = 0; i < 400 && !shell.stdout().includes("Listening on"); i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
    expect(debug.stdout()).toContain("debug line of chatty");
    expect(quiet.stdout()).toContain("Listening on");
    expect(quiet.stdout()).not.toContain("debug line of chatty");
  });
});

describe("hangar run: the session token stays out of machine-read output", () => {
  it("--json never prints it (token from HANGAR_SERVER_TOKEN); the pretty output prints it once, in the Shell page line", async () => {
    await fixture.ws.write({ id: "alpha", source: good("alpha") });
    const json = hangar(["run", "plugins", "--port", "0", "--json"], { HANGAR_SERVER_TOKEN: TOKEN });
    const summary = (await waitForEvent(json, "summary")) as Summary & { shellPage: string };
    expect(summary.shellPage).toBe(`${summary.url}/`);
    json.child.kill("SIGINT");
    expect(await json.exited).toBe(0);
    expect(json.stdout()).toContain('"event":"stopped"');
    expect(json.stdout() + json.stderr()).not.toContain(TOKEN);

    const pretty = hangar(["run", "plugins", "--port", "0", "--token", TOKEN]);
    const out = await waitFor(pretty, (stdout) => (stdout.includes("IPC bridge:") ? stdout : undefined));
    const withToken = out.split("\n").filter((line) => line.includes(TOKEN));
    expect(withToken).toEqual([
      expect.stringMatching(/^Shell page: http:\/\/[^/]+\/#token=test-session-token-0123456789$/),
    ]);
    pretty.child.kill("SIGINT");
    expect(await pretty.exited).toBe(0);
    expect(pretty.stdout().split(TOKEN).length - 1).toBe(1);
  });
});

describe("hangar update and POST /api/_shell/update", () => {
  it("needs the token when the shell has one; honours --allow-origin; refuses a foreign Origin; reports no shell", async () => {
    await fixture.ws.write({ id: "alpha", source: good("alpha") });
    const shell = hangar([
      "run",
      "plugins",
      "--port",
      "0",
      "--json",
      "--token",
      TOKEN,
      "--allow-origin",
      "http://localhost:5173",
    ]);
    const summary = (await waitForEvent(shell, "summary")) as Summary;
    const port = new URL(summary.url).port;

    const refused = await hangarRun(["update", "--port", port], { HANGAR_SERVER_TOKEN: undefined });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused the update \(HTTP 401\).*pass --token/);

    const updated = await hangarRun(["update", "alpha", "--port", port, "--json"], {
      HANGAR_SERVER_TOKEN: TOKEN,
    });
    expect(updated.code, updated.stderr).toBe(0);
    expect(records(updated.stdout)[0]).toMatchObject({
      event: "updated",
      changed: ["alpha"],
      plugins: [expect.objectContaining({ id: "alpha", state: "running" })],
    });

    // A typo in an id is not a success: the others are updated, the command says which id is unknown.
    const typo = await hangarRun(["update", "alpah", "--port", port], { HANGAR_SERVER_TOKEN: TOKEN });
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/has no plugin 'alpah'; it updated the others\. Its plugins: alpha\./);

    const post = (headers: Record<string, string>, body = "{}") =>
      fetch(`${summary.url}/api/_shell/update`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
        body,
      });
    const allowed = await post({ origin: "http://localhost:5173" });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(((await allowed.json()) as Array<{ id: string }>).map((plugin) => plugin.id)).toEqual(["alpha"]);
    expect((await post({ origin: "http://evil.example" })).status).toBe(403);
    expect((await post({ "content-type": "text/plain" })).status).toBe(415);
    const bad = await post({}, JSON.stringify({ changed: "alpha" }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain("'changed' must be an array");

    shell.child.kill("SIGINT");
    expect(await shell.exited).toBe(0);
    const gone = await hangarRun(["update", "--port", port]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/No hangar shell answers at .*Start one with 'hangar run'/);
    expect(gone.stderr).not.toMatch(/\n\s+at /); // what to do, without a stack of the command itself
  });

  it("run --inspect with a token lets the inspector act", async () => {
    await fixture.ws.write({ id: "alpha", source: good("alpha") });
    const shell = hangar(["run", "plugins", "--port", "0", "--json", "--inspect", "--token", TOKEN]);
    const summary = (await waitForEvent(shell, "summary")) as Summary & { inspector: string };
    const page = new URL(summary.inspector);
    const action = await fetch(`${page.origin}${page.pathname}/api/actions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-hangar-inspector-token": page.searchParams.get("token")!,
      },
      body: JSON.stringify({ type: "update" }),
    });
    expect(await action.json()).toEqual({ success: true });
  });
});

describe("hangar validate and near-miss names", () => {
  it("a single plugin folder with a dependency it cannot see passes with a warning; a folder of plugins fails", async () => {
    const folder = await fixture.ws.write({
      id: "needy",
      manifest: { dependsOn: ["elsewhere"] },
      source: good("needy"),
    });
    const one = await hangarRun(["validate", folder]);
    expect(one.stdout).toContain("warning HANGAR_DEPENDENCY_MISSING");
    expect(one.code).toBe(0);
    const all = await hangarRun(["validate", "plugins"]);
    expect(all.stdout).toContain("    HANGAR_DEPENDENCY_MISSING");
    expect(all.code).toBe(1);
  });

  it("names the near-miss: a background key, an entry file", async () => {
    await fixture.ws.write({
      id: "timed",
      manifest: { background: { startTimeoutMS: 100 } },
      source: good("timed"),
    });
    const entry = await fixture.ws.write({
      id: "entry",
      entry: "background/index.mjs",
      source: good("entry"),
    });
    const manifest = path.join(entry, "plugin.json");
    await writeFile(
      manifest,
      JSON.stringify({ id: "entry", version: "1.0.0", background: { entryModule: "background/index.js" } }),
    );
    const result = await hangarRun(["validate", "plugins"]);
    expect(result.stdout).toMatch(/unknown key "startTimeoutMS"\. Did you mean "startTimeoutMs"\?/);
    expect(result.stdout).toMatch(
      /"background\/index\.js" does not exist .*Did you mean "background\/index\.mjs"\?/,
    );
  });
});

describe("hangar run: a plugin UI the shell page cannot mount", () => {
  it("warns in the terminal, per plugin, in the words of hangar validate; the plugins still run", async () => {
    await fixture.ws.write({
      id: "unbuilt",
      manifest: { ui: { entry: "ui/dist/index.js" } },
      source: good("unbuilt"),
    });
    await fixture.ws.write({
      id: "escaping",
      manifest: { ui: { entry: "../other/ui.js" } },
      source: good("escaping"),
    });
    const source = await fixture.ws.write({
      id: "source",
      manifest: { ui: { entry: "ui/index.tsx" } },
      source: good("source"),
    });
    await mkdir(path.join(source, "ui"), { recursive: true });
    await writeFile(path.join(source, "ui", "index.tsx"), "export default function Ui() { return null; }\n");
    const built = await fixture.ws.write({
      id: "built",
      manifest: { ui: { entry: "ui/index.js" } },
      source: good("built"),
    });
    await mkdir(path.join(built, "ui"), { recursive: true });
    await writeFile(path.join(built, "ui", "index.js"), "export default function Ui() { return null; }\n");

    const validated = await hangarRun(["validate", "plugins"]);
    const shell = hangar(["run", "plugins", "--port", "0"]);
    // The warnings follow the summary: wait for all three lines.
    const out = await (async () => {
      for (;;) {
        if (shell.stdout().match(/^warning .*\n/gm)?.length === 3) return shell.stdout();
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    const warnings = out.split("\n").filter((line) => line.startsWith("warning "));
    expect(warnings).toHaveLength(3);
    for (const id of ["unbuilt", "escaping", "source"]) {
      const line = warnings.find((warning) => warning.includes(`Plugin '${id}'`)) ?? "";
      // The same sentence hangar validate prints for that plugin.
      const said = validated.stdout.split("\n").find((text) => text.includes(`Plugin '${id}'`)) ?? "(none)";
      expect(line).toContain(said.replace(/^\s*(?:warning )?HANGAR_[A-Z_]+: /, ""));
      expect(line).toContain("The shell page shows the plugin without its UI.");
    }
    expect(warnings.join("\n")).toContain(
      `warning HANGAR_ENTRY_NOT_FOUND: Plugin 'unbuilt': plugin.json's ui.entry "ui/dist/index.js" does not exist: build the UI`,
    );
    expect(warnings.join("\n")).toContain(
      `Plugin 'escaping': plugin.json's ui.entry "../other/ui.js" leads outside`,
    );
    expect(warnings.join("\n")).toContain(
      `Plugin 'source': plugin.json's ui.entry "ui/index.tsx" is not a .js or .mjs`,
    );
    expect(out).not.toContain("Plugin 'built'");
    // Every plugin runs all the same: only its UI is missing from the page.
    expect(out.match(/\brunning\b/g)?.length ?? 0).toBeGreaterThanOrEqual(4);
    shell.child.kill("SIGINT");
    expect(await shell.exited).toBe(0);
  });
});
