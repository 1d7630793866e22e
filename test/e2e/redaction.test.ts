// One redactor: every token the shell has held this run (each auth token, current or earlier, and the server
// token) is hidden in the log, in shell.status(), in GET /api/_shell/plugins, in the CLI's summary table, and in
// the inspector's exported session, even when a plugin's error quotes it or it was replaced since.
import { afterEach, beforeEach, expect, it } from "vitest";
import { formatSummary } from "../../src/cli/summary.js";
import { createMemoryIpc, type MemoryIpc, type Shell } from "../../src/index.js";
import { createWorkspace, testShell, type Workspace } from "../support/plugins.js";

const FIRST = "first-auth-token-AAAAAAAAAAAA";
const SECOND = "second-auth-token-BBBBBBBBBBBB";
const SERVER = "server-session-token-CCCCCCCCCC";

let ws: Workspace;
let shell: Shell | undefined;

beforeEach(async () => {
  ws = await createWorkspace();
  // A plugin that quotes the token it sees in its start error, and logs whatever it is asked to.
  await ws.write({
    id: "leaky",
    source: `export async function onStart(ctx) {
               ctx.ipc.handle("say", (text) => { ctx.logger.info("say", text); return true; });
               ctx.logger.info("start", "my token is " + ctx.auth.getToken());
             }
             export async function onStop() {}`,
  });
  await ws.write({
    id: "quotes",
    source: `export async function onStart(ctx) { throw new Error("auth refused for " + ctx.auth.getToken()); }
             export async function onStop() {}`,
  });
});

afterEach(async () => {
  await shell?.stop();
  shell = undefined;
  await ws.cleanup();
});

it("hides every token held this run, current and earlier, wherever the shell shows text", async () => {
  const ipc: MemoryIpc = createMemoryIpc();
  const started = testShell(ws, {
    ipc,
    auth: { init: async () => ({ token: FIRST }) },
    server: { port: 0, token: SERVER },
    inspector: true,
  });
  shell = started.shell;
  await shell.start();

  // The plugin's error quotes the first token: status, the HTTP view and the CLI summary hide it.
  const status = shell.status();
  expect(status.plugins.find((p) => p.id === "quotes")?.error?.message).toContain(
    "auth refused for [redacted]",
  );
  const body = await (
    await fetch(`${status.server.url}/api/_shell/plugins`, { headers: { authorization: `Bearer ${SERVER}` } })
  ).text();
  expect(body).toContain("[redacted]");
  const summary = formatSummary(status);

  // After setAuth and clearAuth, the earlier tokens stay hidden in new log lines.
  shell.setAuth({ token: SECOND });
  shell.clearAuth();
  await ipc.invoke("plugin:leaky:say", `old ${FIRST}, newer ${SECOND}, server ${SERVER}`);
  await ipc.invoke("plugin:leaky:say", JSON.stringify({ quoted: FIRST }));

  const session = await (await fetch(`${status.inspector!.url!.replace("?", "/api/session.jsonl?")}`)).text();
  await shell.stop();

  for (const [where, text] of [
    ["status", JSON.stringify(shell.status())],
    ["GET /api/_shell/plugins", body],
    ["CLI summary", summary],
    ["log", started.log.text()],
    ["exported session", session],
  ] as const) {
    for (const token of [FIRST, SECOND, SERVER]) expect(text, `${where} shows ${token}`).not.toContain(token);
  }
  expect(started.log.text()).toContain("old [redacted], newer [redacted], server [redacted]");
  expect(session).toContain("plugin:leaky");
});
