// The authoring loop as the README's "Start a plugin project" tells it, from an empty folder outside the
// repository, every step through the real CLI in child processes: npm link, hangar init, validate,
// run --watch, an edit served without a restart, HTTP and the WebSocket IPC bridge, hangar update, npm test.
// Both ways (HANGAR_TEST_ISOLATION): `hangar run --isolation worker` serves the plugin from its worker thread.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../ipc/websocket-client.js";
import { testIsolation } from "../support/plugins.js";
import { type Running, run, sleep, start, waitForEvent } from "../support/processes.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));

let home: string;
let prefix: string;
let env: Record<string, string>;
let shell: Running | null = null;

beforeAll(async () => {
  home = await mkdtemp(path.join(tmpdir(), "hangar-author-"));
  // A global npm prefix of our own, so `npm link` does not touch this machine's global packages.
  prefix = path.join(home, "npm-global");
  env = {
    npm_config_prefix: prefix,
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
    PATH: `${path.join(prefix, "bin")}${path.delimiter}${process.env.PATH}`,
  };
  // README: `npm link` in the clone. --ignore-scripts: vitest's global setup has just built dist/, which is
  // what `prepare` would do again.
  const linked = await run("npm", ["link", "--ignore-scripts"], { cwd: repo, env });
  expect(linked.code, linked.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  shell?.child.kill("SIGKILL");
  await rm(home, { recursive: true, force: true });
});

describe("Start a plugin project (README)", () => {
  it("scaffolds, runs with --watch, serves edits, answers over HTTP and IPC, updates and tests", async () => {
    const projects = path.join(home, "projects");
    await run("mkdir", ["-p", projects], { cwd: home });

    const init = await run("hangar", ["init", "hello-plugin"], { cwd: projects, env });
    expect(init.code, init.stderr).toBe(0);
    const folder = path.join(projects, "hello-plugin");
    expect(folder.startsWith(repo)).toBe(false);

    const validate = await run("hangar", ["validate", "hello-plugin"], { cwd: projects, env });
    expect(validate.stdout + validate.stderr).toContain("✓ hello-plugin");
    expect(validate.code).toBe(0);

    shell = start(
      "hangar",
      ["run", "hello-plugin", "--watch", "--port", "0", "--json", "--isolation", testIsolation],
      {
        cwd: projects,
        env,
      },
    );
    const summary = (await waitForEvent(shell, "summary")) as {
      url: string;
      ipc: string;
      plugins: Array<{ id: string; state: string; worker?: object }>;
    };
    expect(summary.plugins).toEqual([expect.objectContaining({ id: "hello-plugin", state: "running" })]);
    // Isolated, the plugin runs in a worker thread of its own (status shows it); in-process, it has none.
    expect(summary.plugins[0]?.worker !== undefined).toBe(testIsolation === "worker");
    const hello = `${summary.url}/api/hello-plugin/hello`;
    expect(await (await fetch(hello)).json()).toEqual({ message: "hello from hello-plugin" });

    // Over the WebSocket IPC bridge, as a UI would.
    const client = await connect(summary.ipc);
    expect(await client.invoke("plugin:hello-plugin:ping")).toMatchObject({ ok: true, value: "pong" });
    client.socket.close();

    // Edit the route; the same process serves the new code.
    const source = path.join(folder, "background/index.ts");
    await writeFile(source, (await readFile(source, "utf8")).replace("hello from", "edited by"));
    let answer: unknown;
    // 10 s; isolated, the reload boots the plugin's new worker: 60 s on a loaded machine.
    for (let tries = 0; tries < (testIsolation === "worker" ? 600 : 100); tries += 1) {
      answer = await (await fetch(hello)).json();
      if ((answer as { message?: string }).message?.startsWith("edited by")) break;
      await sleep(100);
    }
    expect(answer).toEqual({ message: "edited by hello-plugin" });
    expect(shell.child.exitCode).toBeNull();

    const port = new URL(summary.url).port;
    const update = await run("hangar", ["update", "hello-plugin", "--port", port], { cwd: projects, env });
    expect(update.code, update.stderr).toBe(0);
    expect(update.stdout).toMatch(/hello-plugin\s+0\.1\.0\s+running/);

    shell.child.kill("SIGINT");
    expect(await shell.exited).toBe(0);
    shell = null;

    // The rest does not involve `hangar run`'s isolation (the generated test runs hangar/testing with the
    // plugin.json's isolation, in-process), so the isolated project does not repeat it.
    if (testIsolation === "worker") return;

    // README: `npm link hangar` in the plugin folder, then `npm test` (node --test on hangar/testing).
    const link = await run("npm", ["link", "hangar"], { cwd: folder, env });
    expect(link.code, link.stderr).toBe(0);
    const test = await run("npm", ["test"], { cwd: folder, env });
    expect(test.stdout + test.stderr).toMatch(/pass 1/);
    expect(test.code).toBe(0);

    // The generated tsconfig types ctx and express from the linked hangar alone.
    const tsc = await run(process.execPath, [path.join(repo, "node_modules/typescript/bin/tsc"), "-p", "."], {
      cwd: folder,
      env,
    });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.code).toBe(0);
  }, 300_000);
});
