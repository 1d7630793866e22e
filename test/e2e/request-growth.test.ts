// No request, with or without a token, makes the shell's log or memory grow without bound: refused Hosts,
// Origins and tokens, 404s, the inspector (its token-free asset route included), the WebSocket bridge and
// malformed bodies each cost at most a few log lines however often they are sent.
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWebSocketIpc, type Shell } from "../../src/index.js";
import { createAssetStore } from "../../src/inspector/assets.js";
import { connect, type TestClient } from "../ipc/websocket-client.js";
import { type CapturedLog, createWorkspace, testShell, type Workspace } from "../support/plugins.js";

const TOKEN = "growth-test-session-token-0123456789";
const ROUNDS = 300;
let ws: Workspace;
let shell: Shell;
let log: CapturedLog;
let port: number;

beforeAll(async () => {
  ws = await createWorkspace();
  await ws.write({
    id: "echo",
    // Refuses a malformed body as body-parser does: a 400 error with expose, passed to next().
    source: `export async function onStart(ctx) {
               ctx.server.registerRouter("/api/echo", (req, res, next) => {
                 let text = "";
                 req.on("data", (chunk) => { text += chunk; });
                 req.on("end", () => {
                   try { res.json(JSON.parse(text)); }
                   catch { next(Object.assign(new Error("Unexpected token in JSON"), { status: 400, expose: true })); }
                 });
               });
               ctx.ipc.handle("never", () => new Promise(() => {}));
             }
             export async function onStop() {}`,
  });
  const made = testShell(ws, {
    ipc: createWebSocketIpc({ maxPayloadBytes: 1024 }),
    server: { port: 0, token: TOKEN },
    inspector: true,
  });
  shell = made.shell;
  log = made.log;
  await shell.start();
  port = Number(new URL(shell.status().server.url!).port);
});

afterAll(async () => {
  await shell?.stop();
  await ws?.cleanup();
});

/** One HTTP request with exactly these headers (fetch may not set Host); resolves with the status. */
function send(path: string, headers: Record<string, string>, method = "GET", body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, method, headers: { host: `127.0.0.1:${port}`, ...headers } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Log lines written while `action` ran. */
async function linesDuring(action: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
  const before = log.lines.length;
  await action();
  return log.lines.slice(before);
}

async function repeat(times: number, each: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < times; i += 1) await each(i);
}

const auth = { authorization: `Bearer ${TOKEN}` };

describe("requests cost the log a few lines, however many are sent", () => {
  it("foreign Host headers, distinct or repeated", async () => {
    const lines = await linesDuring(() =>
      repeat(ROUNDS, (i) =>
        send("/api/_shell/health", { host: i % 2 ? "evil.example" : `evil-${i}.example` }),
      ),
    );
    // At most 20 kinds are remembered, each logged on its 1st, 10th, 100th refusal; the rest count as one.
    expect(lines.length).toBeLessThanOrEqual(20 + 3 + 3);
  });

  it("missing or wrong session tokens", async () => {
    const lines = await linesDuring(() =>
      repeat(ROUNDS, (i) => send("/api/_shell/plugins", i % 2 ? {} : { authorization: `Bearer wrong-${i}` })),
    );
    expect(lines.length).toBeLessThanOrEqual(3);
  });

  it("state-changing requests from foreign Origins", async () => {
    const lines = await linesDuring(() =>
      repeat(ROUNDS, (i) => send("/api/echo/json", { ...auth, origin: `https://evil-${i}.example` }, "POST")),
    );
    expect(lines.length).toBeLessThanOrEqual(20 + 3);
  });

  it("404s, with and without a token", async () => {
    const lines = await linesDuring(() =>
      repeat(ROUNDS, (i) => send(i % 2 ? `/nothing/${i}` : `/api/_shell/nothing/${i}`, i % 3 ? auth : {})),
    );
    expect(lines.length).toBeLessThanOrEqual(3);
  });

  it("malformed JSON bodies sent to a plugin's route", async () => {
    const body = "{ not json";
    const headers = { ...auth, "content-type": "application/json", "content-length": String(body.length) };
    const statuses: number[] = [];
    const lines = await linesDuring(() =>
      repeat(ROUNDS, async () => statuses.push(await send("/api/echo/json", headers, "POST", body))),
    );
    expect(new Set(statuses)).toEqual(new Set([400]));
    expect(lines.length).toBeLessThanOrEqual(3);
  });

  it("inspector requests without its token, and made-up asset names (a route that needs no token)", async () => {
    const lines = await linesDuring(() =>
      repeat(ROUNDS, (i) =>
        send(i % 2 ? `/_hangar/inspect/api/feed?token=wrong-${i}` : `/_hangar/inspect/assets/x${i}.js`, {}),
      ),
    );
    expect(lines.length).toBeLessThanOrEqual(3);
  });
});

describe("memory a request could grow", () => {
  it("the inspector keeps only asset files that exist, whatever names are asked for", async () => {
    const assets = createAssetStore();
    for (let i = 0; i < ROUNDS; i += 1) expect(await assets.get(`views/made-up-${i}.js`)).toBeNull();
    expect(assets.size).toBe(0);
    expect(await assets.get("index.html")).not.toBeNull();
    expect(assets.size).toBe(1);
  });

  it("the WebSocket bridge answers invokes beyond 256 in flight at once, and logs misbehaving clients a few times", async () => {
    const url = `ws://127.0.0.1:${port}/_hangar/ipc?token=${TOKEN}`;
    const client: TestClient = await connect(url);
    const answers = await Promise.all(
      Array.from({ length: 300 }, () =>
        Promise.race([client.invoke("plugin:echo:never", 1), new Promise((r) => setTimeout(r, 2_000, null))]),
      ),
    );
    const refused = answers.filter(
      (frame) => frame !== null && /Too many invokes in flight/.test(JSON.stringify(frame)),
    );
    expect(refused.length).toBe(300 - 256);
    client.socket.terminate();

    const lines = await linesDuring(() =>
      repeat(30, async () => {
        const big = await connect(url);
        big.sendRaw("x".repeat(4096));
        await big.closed;
      }),
    );
    expect(lines.filter((line) => String(line.msg).includes("larger than")).length).toBeLessThanOrEqual(3);
  });
});
