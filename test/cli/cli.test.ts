// The `hangar` binary as a user runs it: real child processes of `node bin/hangar.js` (which runs dist/).
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Running, records, start, waitFor, waitForEvent } from "../support/processes.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const examples = join(root, "examples/plugins");

/** A running `hangar` process and everything it has printed so far. */
type Hangar = Running;

function hangar(args: string[], env: Record<string, string> = {}): Hangar {
  return start(process.execPath, ["bin/hangar.js", ...args], { cwd: root, env });
}

/** Runs `hangar` to completion. */
async function hangarRun(args: string[], env: Record<string, string> = {}) {
  const run = hangar(args, env);
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

interface SummaryPlugin {
  id: string;
  state: string;
  background: boolean;
  error?: { code: string; message: string };
}

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "hangar-cli-"));
});

const running: Hangar[] = [];
afterEach(async () => {
  for (const run of running.splice(0)) {
    if (run.child.exitCode === null) run.child.kill("SIGKILL");
    await run.exited;
  }
  await rm(dir, { recursive: true, force: true });
});

/** Writes a plugin folder with a plain-JS background module. */
async function writePlugin(
  parent: string,
  id: string,
  module: string,
  manifest: object = {},
): Promise<string> {
  const folder = join(parent, id);
  await mkdir(join(folder, "background"), { recursive: true });
  await writeFile(
    join(folder, "plugin.json"),
    JSON.stringify({
      id,
      version: "1.0.0",
      background: { entryModule: "background/index.mjs" },
      ...manifest,
    }),
  );
  await writeFile(join(folder, "background/index.mjs"), module);
  return folder;
}

describe("hangar validate", () => {
  it("accepts the example plugins and exits 0", async () => {
    const { code, stdout } = await hangarRun(["validate", examples]);
    expect(code).toBe(0);
    for (const id of ["fleet-board", "flight-tracker", "pilot-notes", "livery-gallery"]) {
      expect(stdout).toContain(`✓ ${id}`);
    }
    expect(stdout).toContain("All 4 plugins are valid.");
  });

  it("says so in the singular for one valid plugin", async () => {
    const { code, stdout } = await hangarRun(["validate", join(examples, "fleet-board")]);
    expect(code).toBe(0);
    expect(stdout).toContain("The plugin is valid.");
    expect(stdout).not.toContain("All 1 plugins");
  });

  it("names the broken plugin and its problem, and exits 1", async () => {
    await writePlugin(dir, "good", "export async function onStart() {}\nexport async function onStop() {}\n");
    await writePlugin(dir, "no-stop", "export async function onStart() {}\n");
    await mkdir(join(dir, "bad-json"));
    await writeFile(join(dir, "bad-json", "plugin.json"), '{ "id": "bad-json", ');

    const { code, stdout } = await hangarRun(["validate", dir]);
    expect(code).toBe(1);
    expect(stdout).toContain("✓ good");
    expect(stdout).toMatch(/✗ no-stop[^\n]*\n\s+HANGAR_MODULE_CONTRACT: [^\n]*onStop/);
    expect(stdout).toMatch(/✗ bad-json[^\n]*\n\s+HANGAR_MANIFEST_UNREADABLE: /);
    expect(stdout).toContain("2 of 3 plugins have problems.");
  });

  it("reports createPlugin without onStop as HANGAR_MODULE_CONTRACT naming the missing export, at the call", async () => {
    const folder = await writePlugin(
      dir,
      "sdk-no-stop",
      'import { createPlugin } from "hangar/sdk";\n\nexport default createPlugin({ async onStart() {} });\n',
    );
    const { code, stdout } = await hangarRun(["validate", folder]);
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /✗ sdk-no-stop[^\n]*\n\s+HANGAR_MODULE_CONTRACT: [^\n]*calls createPlugin with an invalid module; onStop is missing\. Export default createPlugin\(\{ onStart, onStop \}\)[^\n]*\n\s+at background\/index\.mjs:3:\d+\n/,
    );
  });

  it("names the file and line of an error thrown while importing a helper", async () => {
    const folder = await writePlugin(
      dir,
      "helper-throws",
      'import { table } from "./helpers.mjs";\nexport async function onStart() { void table; }\nexport async function onStop() {}\n',
    );
    await writeFile(
      join(folder, "background/helpers.mjs"),
      '\nexport const table = JSON.parse("{bad json");\n',
    );
    const { code, stdout } = await hangarRun(["validate", folder]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/HANGAR_MODULE_IMPORT: [^\n]*\n\s+at background\/helpers\.mjs:2:\d+\n/);
    const json = await hangarRun(["validate", folder, "--json"]);
    expect(json.stdout).toContain('"at":"background/helpers.mjs:2:');
  });

  it("prints the results as JSON with --json", async () => {
    await writePlugin(dir, "no-stop", "export async function onStart() {}\n");
    const { code, stdout } = await hangarRun(["validate", "--json", dir]);
    expect(code).toBe(1);
    const [result] = records(stdout);
    expect(result).toMatchObject({
      ok: false,
      plugins: [{ id: "no-stop", ok: false, problems: [{ code: "HANGAR_MODULE_CONTRACT" }] }],
    });
  });

  it("exits 2 for a plugin path that does not exist", async () => {
    const { code, stderr } = await hangarRun(["validate", join(dir, "nowhere")]);
    expect(code).toBe(2);
    expect(stderr).toContain("HANGAR_SHELL_OPTIONS");
    expect(stderr).toContain("nowhere");
  });
});

describe("hangar run", () => {
  it("lets a plugin that imports hangar itself check the shell's errors with instanceof HangarError", async () => {
    // The CLI is a bundle: `hangar` imported by the plugin is another copy of the class.
    const folder = await writePlugin(
      dir,
      "checks",
      `import { HangarError } from "hangar";
export async function onStart(ctx) {
  let caught;
  try { ctx.server.registerRouter("/api/elsewhere", (req, res) => res.end()); } catch (error) { caught = error; }
  ctx.logger.info("probe", "checked", {
    shellError: caught instanceof HangarError,
    code: caught?.code,
    plainError: new Error("x") instanceof HangarError,
  });
}
export async function onStop() {}
`,
    );
    const run = hangar(["run", "--port", "0", "--json", "--data-dir", join(dir, "data"), folder]);
    running.push(run);
    await waitForEvent(run, "summary");
    const probe = records(run.stdout()).find(
      (record) => record.pluginId === "checks" && record.tag === "probe",
    );
    expect(probe?.data).toEqual([{ shellError: true, code: "HANGAR_ROUTE_NAMESPACE", plainError: false }]);
  });

  it("says in hangar's words why a top-level await keeps each generation in memory, and what to do", async () => {
    const folder = await writePlugin(dir, "waits", "", {
      background: { entryModule: "background/index.ts" },
    });
    await writeFile(
      join(folder, "background/index.ts"),
      "const ready: boolean = await Promise.resolve(true);\nexport async function onStart() { void ready; }\nexport async function onStop() {}\n",
    );
    const run = hangar(["run", "--port", "0", "--json", "--data-dir", join(dir, "data"), folder]);
    running.push(run);
    await waitForEvent(run, "summary");
    const warning = records(run.stdout()).find(
      (record) => record.pluginId === "waits" && String(record.msg).includes("loaded as an ES module"),
    );
    expect(warning?.level).toBe(40);
    expect(String(warning?.msg)).toMatch(
      /because it uses top-level await\. Node keeps every ES module until the process ends, so each reload .* adds another copy .* move top-level awaits into onStart/,
    );
    expect(String(warning?.msg)).not.toMatch(/cjs|output format|esbuild/i);
  });

  it("serves the examples, then stops them gracefully on SIGINT and exits 0", async () => {
    const run = hangar(["run", "--port", "0", "--json", "--data-dir", dir, examples]);
    running.push(run);
    const summary = await waitForEvent(run, "summary");
    const plugins = summary.plugins as SummaryPlugin[];
    expect(Object.fromEntries(plugins.map((p) => [p.id, p.state]))).toEqual({
      "fleet-board": "running",
      "flight-tracker": "running",
      "pilot-notes": "running",
      "livery-gallery": "inactive",
    });

    const response = await fetch(`${summary.url}/api/fleet-board/fleet/G-HGRD`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ success: true, data: { tail: "G-HGRD", type: "B787-9" } });

    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
    const lines = records(run.stdout());
    // flight-tracker's onStop logs this through its plugin logger: the plugin was really stopped.
    expect(lines.some((line) => JSON.stringify(line).includes("Stopped tracking HGR101"))).toBe(true);
    expect(lines.at(-1)).toMatchObject({ event: "stopped" });
    // Shutdown closed the server.
    await expect(fetch(`${summary.url}/api/_shell/health`)).rejects.toThrow();
  });

  it("prints a summary table and the URL, and stops on SIGTERM", async () => {
    await writePlugin(
      dir,
      "crashy",
      'export async function onStart() { throw new Error("no database"); }\nexport async function onStop() {}\n',
    );
    const run = hangar([
      "run",
      "--port",
      "0",
      "--data-dir",
      join(dir, "data"),
      examples,
      join(dir, "crashy"),
    ]);
    running.push(run);
    const url = await waitFor(run, (stdout) => /Listening on (http:\/\/\S+)/.exec(stdout)?.[1]);
    const table = run.stdout();
    expect(table).toMatch(/ID\s+VERSION\s+STATE\s+START\s+ERROR/);
    expect(table).toMatch(/fleet-board\s+1\.4\.0\s+running\s+\d+ ms/);
    expect(table).toMatch(/livery-gallery\s+1\.2\.0\s+inactive\s+—/);
    expect(table).toMatch(/crashy\s+1\.0\.0\s+errored\s+\S.*HANGAR_START_FAILED: .*no database/);

    const health = await fetch(`${url}/api/_shell/health`);
    expect(health.status).toBe(200);
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
  });

  it("forces exit with 130 on a second signal while a plugin is still stopping", async () => {
    await writePlugin(
      dir,
      "slow-stop",
      "export async function onStart() {}\nexport function onStop() { return new Promise(() => {}); }\n",
    );
    const run = hangar([
      "run",
      "--port",
      "0",
      "--json",
      "--data-dir",
      join(dir, "data"),
      join(dir, "slow-stop"),
    ]);
    running.push(run);
    await waitForEvent(run, "summary");
    run.child.kill("SIGINT");
    await waitForEvent(run, "stopping");
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(130);
    expect(records(run.stdout()).some((record) => record.event === "stopped")).toBe(false);
  });

  it("gives plugins the token from HANGAR_AUTH_TOKEN and never prints it", async () => {
    const token = "tok-9f3a61c2e7";
    await writePlugin(
      dir,
      "whoami",
      `export async function onStart(ctx) {
        ctx.logger.info("whoami", "token is " + ctx.auth.getToken());
        ctx.server.registerRouter("/api/whoami", (req, res) => res.json({ token: ctx.auth.getToken() }));
      }
      export async function onStop() {}\n`,
    );
    const run = hangar(
      ["run", "--port", "0", "--json", "--data-dir", join(dir, "data"), join(dir, "whoami")],
      {
        HANGAR_AUTH_TOKEN: token,
      },
    );
    running.push(run);
    const summary = await waitForEvent(run, "summary");
    const response = await fetch(`${summary.url}/api/whoami`);
    expect(await response.json()).toEqual({ token });
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toContain("token is ");
    expect(run.stdout() + run.stderr()).not.toContain(token);
  });

  it("exits 1 naming the port when it is already in use", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const address = blocker.address();
    const port = typeof address === "object" && address ? address.port : 0;
    try {
      const { code, stderr } = await hangarRun(["run", "--port", String(port), "--data-dir", dir, examples]);
      expect(code).toBe(1);
      expect(stderr).toContain("HANGAR_PORT_IN_USE");
      expect(stderr).toContain(String(port));
    } finally {
      blocker.close();
    }
  });

  it.each([["70000"], ["-1"], ["http"]])("exits 2 for --port %s", async (port) => {
    const { code, stderr } = await hangarRun(["run", "--port", port, examples]);
    expect(code).toBe(2);
    expect(stderr).toContain("--port");
    expect(stderr).toContain("0 to 65535");
  });

  it("exits 2 for a plugin path that does not exist", async () => {
    const { code, stderr } = await hangarRun(["run", "--port", "0", "--data-dir", dir, join(dir, "nowhere")]);
    expect(code).toBe(2);
    expect(stderr).toContain("HANGAR_SHELL_OPTIONS");
    expect(stderr).toContain("nowhere");
  });

  it("exits 2 for an unknown option", async () => {
    const { code, stderr } = await hangarRun(["run", "--prot", "2066"]);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown option '--prot'");
  });
});

describe("hangar graph", () => {
  it("writes the Mermaid diagrams of both machines into --out", async () => {
    const out = join(dir, "diagrams");
    const { code, stdout } = await hangarRun(["graph", "--format", "mermaid", "--out", out]);
    expect(code).toBe(0);
    expect(stdout).toContain(join(out, "plugin.machine.mmd"));
    expect(await readFile(join(out, "plugin.machine.mmd"), "utf8")).toContain("stateDiagram-v2");
    expect(await readFile(join(out, "shell.machine.mmd"), "utf8")).toContain("shuttingDown");
  });

  it("exits 2 for an unknown --format", async () => {
    const { code, stderr } = await hangarRun(["graph", "--format", "png", "--out", dir]);
    expect(code).toBe(2);
    expect(stderr).toContain("mermaid, dot, svg, all");
  });

  it("ends with HANGAR_FOLDER_UNWRITABLE for an --out that cannot be created (it spun forever under a dangling link)", async () => {
    await symlink(join(dir, "gone"), join(dir, "dangling"));
    const { code, stderr } = await hangarRun(["graph", "--out", join(dir, "dangling", "diagrams")]);
    expect(code).toBe(1);
    expect(stderr).toContain("error HANGAR_FOLDER_UNWRITABLE: The diagrams folder");
    expect(stderr).toContain("Give --out a folder this process may create and write.");
  });
});

describe("a data folder that cannot be created", () => {
  // Node 20's recursive mkdir never returns where a folder exists but cannot hold the child (procfs, a dangling
  // link): `hangar run` spun at 100 % CPU before it printed anything.
  const places = [
    ["under a dangling symbolic link", () => join(dir, "dangling", "data")],
    ...(process.platform === "linux"
      ? ([
          ["in /proc", () => `/proc/hangar-test-${process.pid}`],
          ["an existing /proc folder that cannot hold the lock", () => "/proc/self"],
        ] as const)
      : []),
  ] as const;
  it.each(places)("%s: hangar run exits 1 naming the folder and --data-dir", async (_where, folder) => {
    await symlink(join(dir, "gone"), join(dir, "dangling"));
    const { code, stderr } = await hangarRun(["run", "--port", "0", "--data-dir", folder(), examples]);
    expect(code).toBe(1);
    expect(stderr).toContain(
      `error HANGAR_FOLDER_UNWRITABLE: The data folder ${folder()} cannot be created or written`,
    );
    expect(stderr).toContain("Give --data-dir / dataDir a folder this process may create and write.");
  });
});
