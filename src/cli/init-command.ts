// `hangar init <dir>`: writes a new plugin folder that `hangar validate` accepts and `hangar run` runs as it is.
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { makeDirectory } from "../base/directories.js";
import { createError } from "../errors.js";
import { PLUGIN_ID_PATTERN } from "../manifest/schema.js";
import { type ExitCode, ExitCodes, type Output } from "./output.js";

/** Options of `hangar init`, as parsed by commander. */
export interface InitOptions {
  /** The plugin's id. Default: derived from the folder's name. */
  id?: string;
}

/**
 * Writes plugin.json, background/index.ts (a route and an IPC handler, on `hangar/sdk`), a lifecycle test on
 * `hangar/testing` for `node --test`, a package.json and a tsconfig.json into `dir` (created when missing).
 * @throws HangarError `HANGAR_SHELL_OPTIONS` when `dir` holds files already or the id is not a valid plugin id.
 */
export async function initCommand(dir: string, options: InitOptions, output: Output): Promise<ExitCode> {
  const folder = path.resolve(dir);
  const id = options.id ?? idFromFolder(path.basename(folder));
  if (!PLUGIN_ID_PATTERN.test(id)) {
    throw createError("HANGAR_SHELL_OPTIONS", "initId", { id });
  }
  const existing = await readdir(folder).catch(() => []);
  if (existing.length > 0) {
    throw createError("HANGAR_SHELL_OPTIONS", "initNotEmpty", {
      folder,
      entries: `${existing.slice(0, 3).join(", ")}${existing.length > 3 ? ", …" : ""}`,
    });
  }
  const files = templates(id);
  for (const [name, text] of Object.entries(files)) {
    await makeDirectory(path.dirname(path.join(folder, name)));
    await writeFile(path.join(folder, name), text, { flag: "wx" });
  }
  // Quoted for a POSIX shell when it has to be, so the next steps below can be pasted as they are.
  const shown = shellWord(path.relative(process.cwd(), folder) || ".");
  output.event(
    "init",
    { folder, id, files: Object.keys(files) },
    [
      `Created plugin '${id}' in ${shown}:`,
      ...Object.keys(files).map((name) => `  ${name}`),
      "",
      "Next:",
      `  hangar run ${shown} --watch     # serves http://127.0.0.1:2066/api/${id}/hello, reloads on save`,
      `  cd ${shown} && npm link hangar && npm test   # types for your editor, and the lifecycle test`,
    ].join("\n"),
  );
  return ExitCodes.ok;
}

/** `text` as one POSIX shell word: as it is when it is safe, else in single quotes (a `'` inside as `'\''`). */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

/** A folder name made into a plugin id: lowercase, runs of other characters become one dash. */
function idFromFolder(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64);
}

/** The files of a new plugin, by path inside its folder. */
function templates(id: string): Record<string, string> {
  const title = id
    .split("-")
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join(" ");
  return {
    "plugin.json": `${JSON.stringify(
      { id, version: "0.1.0", name: title, background: { entryModule: "background/index.ts" } },
      null,
      2,
    )}\n`,
    "background/index.ts": `// The background module of '${id}': hangar calls onStart when the shell starts it and onStop before it stops.
// \`hangar/sdk\` and \`express\` are provided by the shell that runs this plugin: nothing to install.
import { Router } from "express";
import { createPlugin } from "hangar/sdk";

export default createPlugin({
  async onStart(ctx) {
    const router = Router();
    // GET http://127.0.0.1:2066/api/${id}/hello
    router.get("/hello", (_req, res) => {
      res.json({ message: "hello from ${id}" });
    });
    ctx.server.registerRouter("/api/${id}", router);
    // A renderer invokes channel 'plugin:${id}:ping' (hangar/client: connection.invoke(...)).
    ctx.ipc.handle("ping", async () => "pong");
    const starts = (await ctx.config.get<number>("starts", 0)) ?? 0;
    // After each await, onStart may have timed out or the plugin may be stopping: its context then refuses
    // calls, so stop here (hangar/testing's timeout paths check this).
    if (ctx.signal.aborted) return;
    await ctx.config.set("starts", starts + 1);
    // The shell prefixes every line with [${id}]; the first argument tags the part of the plugin speaking.
    ctx.logger.info("lifecycle", "started", { starts: starts + 1 });
  },
  async onStop() {
    // Release what onStart acquired that is not registered through ctx (timers, sockets, watchers).
  },
});
`,
    "test/lifecycle.test.mjs": `// Drives the plugin through every lifecycle path (start, stop, OTA update, reload, timeouts, cycles) on test
// shells and fails with what to fix. Run with \`npm test\` (node --test) after \`npm link hangar\`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { testPluginLifecycle } from "hangar/testing";

test("${id} passes every lifecycle path", async () => {
  const report = await testPluginLifecycle(fileURLToPath(new URL("..", import.meta.url)));
  assert.ok(report.ok, report.format());
});
`,
    "package.json": `${JSON.stringify(
      { name: id, version: "0.1.0", private: true, type: "module", scripts: { test: "node --test" } },
      null,
      2,
    )}\n`,
    // Types for ctx and express come from the linked hangar (npm link hangar): nothing else to install.
    "tsconfig.json": `${JSON.stringify(
      {
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ["node"],
          typeRoots: ["./node_modules/hangar/node_modules/@types"],
          paths: { express: ["./node_modules/hangar/node_modules/@types/express"] },
        },
        include: ["background", "test"],
      },
      null,
      2,
    )}\n`,
    ".gitignore": "node_modules/\n.hangar/\n",
  };
}
