// The WebSocket IPC bridge against a real shell on port 0, a real plugin and `ws` as the client: protocol,
// Host/Origin refusals, limits, fan-out and slow clients (issue 3 §2, docs/ipc.md).
import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWebSocketIpc, type WebSocketIpc } from "../../src/ipc/websocket.js";
import type { EventFrame, ServerFrame } from "../../src/ipc/ws-protocol.js";
import type { Shell } from "../../src/shell.js";
import { until } from "../server/harness.js";
import { type CapturedLog, createWorkspace, testShell, type Workspace } from "../support/plugins.js";
import { connect, refusalOf, type TestClient } from "./websocket-client.js";

const towerSource = `
export async function onStart(ctx) {
  ctx.ipc.handle("ping", (payload) => ({ pong: payload }));
  ctx.ipc.handle("nothing", () => undefined);
  ctx.ipc.handle("fail", async () => { throw new Error("flight plan rejected"); });
  ctx.ipc.handle("bigint", () => 10n);
  ctx.ipc.handle("big", (size) => "x".repeat(size));
  ctx.ipc.handle("send-bigint", () => ctx.ipc.send("odd", { n: 10n }));
  ctx.ipc.handle("emit", ({ from, count, size }) => {
    for (let i = 0; i < count; i++) ctx.ipc.send("tick", { seq: from + i, pad: "x".repeat(size ?? 0) });
    return count;
  });
}
export async function onStop() {}
`;

const KiB = 1024;
const allowedOrigin = "http://localhost:5173";

let ws: Workspace;
let shell: Shell;
let log: CapturedLog;
let port: number;
let url: string;
const opened: TestClient[] = [];

beforeAll(async () => {
  ws = await createWorkspace();
  await ws.write({ id: "tower", source: towerSource });
  const made = testShell(ws, {
    ipc: createWebSocketIpc({ maxPayloadBytes: 64 * KiB, maxBufferedBytes: 256 * KiB }),
    server: { port: 0, allowedOrigins: [allowedOrigin] },
  });
  shell = made.shell;
  log = made.log;
  await shell.start();
  port = Number(new URL(shell.status().server.url!).port);
  url = `ws://127.0.0.1:${port}/_hangar/ipc`;
});

afterAll(async () => {
  for (const client of opened) client.socket.terminate();
  await shell?.stop();
  await ws?.cleanup();
});

async function open(options: Parameters<typeof connect>[1] = {}, at = url): Promise<TestClient> {
  const client = await connect(at, options);
  opened.push(client);
  return client;
}

const logged = (text: string) => log.lines.filter((line) => String(line.msg).includes(text));
const ticks = (frames: ServerFrame[]) =>
  frames.filter(
    (frame): frame is EventFrame => frame.type === "event" && frame.channel === "plugin:tower:tick",
  );
const seqOf = (frame: EventFrame) => (frame.payload as { seq: number }).seq;

describe("invoke", () => {
  it("calls the plugin's handler and answers with its result", async () => {
    const client = await open();
    await expect(client.invoke("plugin:tower:ping", { flight: "VA123" })).resolves.toEqual({
      type: "result",
      id: 1,
      ok: true,
      value: { pong: { flight: "VA123" } },
    });
    const nothing = await client.invoke("plugin:tower:nothing");
    expect(nothing).toMatchObject({ ok: true });
    expect("value" in nothing).toBe(false);
  });

  it("answers an unknown channel in Electron's words", async () => {
    const client = await open();
    await expect(client.invoke("plugin:tower:nope", 1)).resolves.toEqual({
      type: "result",
      id: 1,
      ok: false,
      error: "No handler registered for 'plugin:tower:nope'",
    });
  });

  it("sends a failing handler's error as text and logs it as one failure record", async () => {
    const client = await open();
    await expect(client.invoke("plugin:tower:fail")).resolves.toMatchObject({
      ok: false,
      error: "Error: flight plan rejected",
    });
    const record = log.lines.find((line) => line.pluginId === "tower" && line.level === 50);
    expect(record).toMatchObject({ phase: "request", code: "HANGAR_IPC_HANDLER_FAILED" });
    expect(record?.msg).toContain("IPC handler 'fail' failed");
    expect(JSON.stringify(record)).toContain("flight plan rejected");
  });

  it("answers a result that cannot be JSON with an error, not a crash", async () => {
    const client = await open();
    const result = await client.invoke("plugin:tower:bigint");
    expect(result).toMatchObject({ ok: false });
    expect(result.ok === false && result.error).toMatch(/'plugin:tower:bigint'.*cannot be sent as JSON/);
    await expect(client.invoke("plugin:tower:ping", 2)).resolves.toMatchObject({ ok: true });
  });

  it("answers a result nested too deep with the nesting limit, and warns on the 1st and 10th of a repeat only", async () => {
    const client = await open();
    // A client's 5,000-deep payload that the handler echoes: too deep for JSON on the shell's main thread.
    const deep = "[".repeat(5000) + "]".repeat(5000);
    for (let id = 1001; id <= 1012; id++) {
      client.sendRaw(`{"type":"invoke","id":${id},"channel":"plugin:tower:ping","payload":${deep}}`);
    }
    await until(
      () => client.frames.filter((frame) => frame.type === "result" && frame.id! > 1000).length === 12,
    );
    const answers = client.frames.filter((frame) => frame.type === "result" && frame.id! > 1000);
    for (const answer of answers) {
      expect(answer.type === "result" && answer.ok === false && answer.error).toMatch(
        /^The handler for 'plugin:tower:ping' returned a value that cannot be sent as JSON \(it is nested deeper than 1,000 levels\)/,
      );
    }
    const warnings = logged("The handler for 'plugin:tower:ping' returned a value");
    expect(warnings.map((line) => line.refusedSoFar)).toEqual([1, 10]);
    expect(warnings[0]).toMatchObject({ pluginId: "tower", channel: "plugin:tower:ping" });
    expect(String(warnings[0]?.msg)).not.toContain("Maximum call stack");
    await expect(client.invoke("plugin:tower:ping", 2)).resolves.toMatchObject({ ok: true });
  });

  it("refuses, at the plugin's call, a send whose payload cannot be JSON", async () => {
    const client = await open();
    const result = await client.invoke("plugin:tower:send-bigint");
    expect(result.ok === false && result.error).toMatch(
      /^TypeError: The payload sent on 'plugin:tower:odd' cannot be sent as JSON over the WebSocket IPC bridge/,
    );
    expect(client.frames.some((frame) => frame.type === "event")).toBe(false);
  });

  it("keeps concurrent invokes apart by id", async () => {
    const client = await open();
    const results = await Promise.all([1, 2, 3, 4].map((n) => client.invoke("plugin:tower:ping", n)));
    expect(results.map((result) => result.ok && result.value)).toEqual(
      [1, 2, 3, 4].map((n) => ({ pong: n })),
    );
  });
});

describe("malformed frames", () => {
  it("answers each with an error result (id null when unknown) and keeps the connection", async () => {
    const client = await open();
    const cases: Array<[string | Buffer, number | null, RegExp]> = [
      ["{not json", null, /not valid JSON/],
      ["[1,2]", null, /expected a JSON object/],
      ['"invoke"', null, /expected a JSON object/],
      ['{"type":"subscribe","id":7,"channel":"plugin:tower:ping"}', 7, /Unknown frame type 'subscribe'/],
      ['{"type":"result","id":8,"ok":true}', 8, /Unknown frame type 'result'/],
      ['{"id":9}', 9, /Unknown frame type missing/],
      ['{"type":"invoke","channel":"plugin:tower:ping"}', null, /'id' must be a number/],
      ['{"type":"invoke","id":"10","channel":"plugin:tower:ping"}', null, /'id' must be a number/],
      ['{"type":"invoke","id":11,"channel":42}', 11, /'channel' must be a non-empty string/],
      [Buffer.from([1, 2, 3]), null, /Binary frames are not supported/],
    ];
    for (const [frame, id, error] of cases) {
      const before = client.frames.length;
      client.sendRaw(frame);
      const answer = await client.next((f) => client.frames.indexOf(f) >= before);
      expect(answer, String(frame)).toMatchObject({ type: "result", id, ok: false });
      expect(answer.type === "result" && !answer.ok && answer.error, String(frame)).toMatch(error);
    }
    await expect(client.invoke("plugin:tower:ping", "still here")).resolves.toMatchObject({ ok: true });
    expect(shell.status().state).toBe("running");
  });

  it("closes a connection that sends a frame over the size limit with 1009, and only that one", async () => {
    const other = await open();
    const client = await open();
    client.sendRaw(
      JSON.stringify({ type: "invoke", id: 1, channel: "plugin:tower:ping", payload: "x".repeat(65 * KiB) }),
    );
    await expect(client.closed).resolves.toBe(1009);
    expect(logged("larger than 65536 bytes")).toHaveLength(1);
    await expect(other.invoke("plugin:tower:ping", "fine")).resolves.toMatchObject({ ok: true });
    // A frame just under the limit is served.
    const near = await open();
    await expect(near.invoke("plugin:tower:ping", "x".repeat(60 * KiB))).resolves.toMatchObject({ ok: true });
  });
});

describe("Host and Origin checks on the upgrade", () => {
  it("refuses a foreign Host with 403, as HTTP does (DNS rebinding)", async () => {
    for (const host of [`evil.example:${port}`, "127.0.0.1:1", `127.0.0.1.nip.io:${port}`]) {
      const refusal = await refusalOf(connect(url, { host }));
      expect(refusal.status, host).toBe(403);
      expect(JSON.parse(refusal.body)).toEqual({
        success: false,
        error: expect.stringContaining(`'${host}'`),
      });
    }
    expect(logged("foreign Host").length).toBeGreaterThan(0);
  });

  it("refuses a cross-site page (Origin http://evil.example) and the null origin with 403", async () => {
    for (const origin of [
      "http://evil.example",
      "null",
      `http://127.0.0.1:${port + 1}`,
      `https://127.0.0.1:${port}`,
    ]) {
      const refusal = await refusalOf(connect(url, { origin }));
      expect(refusal.status, origin).toBe(403);
      expect(JSON.parse(refusal.body).error, origin).toContain("server.allowedOrigins");
    }
    const records = logged("cross-site WebSocket hijacking");
    expect(records.map((record) => record.origin)).toContain("http://evil.example");
  });

  it("accepts the server's own origins, listed origins, and clients that send no Origin", async () => {
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, allowedOrigin, undefined]) {
      const client = await open(origin === undefined ? {} : { origin });
      await expect(
        client.invoke("plugin:tower:ping", origin ?? "none"),
        String(origin),
      ).resolves.toMatchObject({
        ok: true,
      });
    }
    const viaLocalhost = await open({}, `ws://localhost:${port}/_hangar/ipc`);
    await expect(viaLocalhost.invoke("plugin:tower:ping")).resolves.toMatchObject({ ok: true });
  });

  it("answers an upgrade to any other path with 404", async () => {
    const refusal = await refusalOf(connect(`ws://127.0.0.1:${port}/api/tower/socket`));
    expect(refusal.status).toBe(404);
    expect(JSON.parse(refusal.body).error).toContain("/_hangar/ipc");
  });
});

describe("events", () => {
  it("fans every send out to every connected client, in order", async () => {
    const first = await open();
    const second = await open();
    await expect(first.invoke("plugin:tower:emit", { from: 0, count: 5 })).resolves.toMatchObject({
      value: 5,
    });
    for (const client of [first, second]) {
      await client.next((frame) => frame.type === "event" && seqOf(frame) === 4);
      expect(ticks(client.frames).map(seqOf)).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it("drops events for a client that stops reading, keeps serving the others, and says so in the log", async () => {
    const fast = await open();
    const slow = await open();
    slow.socket.pause(); // stops reading: the shell's send backlog for it grows
    const batches = 200;
    const perBatch = 4;
    // The fast client paces the plugin: each batch (128 KiB) is read before the next is sent.
    for (let batch = 0; batch < batches; batch += 1) {
      await fast.invoke("plugin:tower:emit", { from: batch * perBatch, count: perBatch, size: 32 * KiB });
    }
    const sent = batches * perBatch;
    expect(ticks(fast.frames).map(seqOf)).toEqual([...Array(sent).keys()]);
    expect(logged("reads too slowly")).toHaveLength(1);

    slow.socket.resume();
    // A result arrives after everything queued before it: once it is here, the backlog is drained.
    await slow.invoke("plugin:tower:ping");
    await fast.invoke("plugin:tower:emit", { from: sent, count: 1 });
    await slow.next((frame) => frame.type === "event" && seqOf(frame) === sent);

    const [caughtUp] = logged("caught up");
    const dropped = Number(caughtUp?.droppedEvents);
    const received = ticks(slow.frames).map(seqOf).slice(0, -1);
    expect(dropped).toBeGreaterThan(0);
    expect(received.length + dropped).toBe(sent);
    expect(received).toEqual([...received].sort((a, b) => a - b)); // what arrives keeps its order
    expect(slow.socket.readyState).toBe(slow.socket.OPEN);
    // 200 paced batches of 128 KiB: up to 13 s in full-suite runs here, so not the 30 s default.
  }, 90_000);

  it("disconnects a client whose unread results pass twice the backlog limit", async () => {
    const stuck = await open();
    stuck.socket.pause();
    for (let i = 0; i < 400; i += 1) {
      stuck.socket.send(
        JSON.stringify({ type: "invoke", id: i, channel: "plugin:tower:big", payload: 64 * KiB }),
      );
    }
    await until(() => logged("it is not reading").length > 0);
    expect(logged("it is not reading")[0]?.msg).toContain("limit 524288");
    stuck.socket.resume();
    await expect(stuck.closed).resolves.toBe(1006);
    const healthy = await open();
    await expect(healthy.invoke("plugin:tower:ping")).resolves.toMatchObject({ ok: true });
  });
});

describe("session token (server.token)", () => {
  it("requires the token on the upgrade, as a Bearer header or ?token=, and never logs it", async () => {
    const local = await createWorkspace();
    const token = "hangar-session-token-0123456789abcdef";
    const { shell: own, log: ownLog } = testShell(local, {
      ipc: createWebSocketIpc(),
      server: { port: 0, token },
    });
    try {
      await local.write({ id: "tower", source: towerSource });
      await own.start();
      const at = `${own.status().server.url!.replace("http", "ws")}/_hangar/ipc`;
      for (const attempt of [at, `${at}?token=wrong-token-0123456789`, `${at}?token=${token.slice(0, -1)}`]) {
        const refusal = await refusalOf(connect(attempt));
        expect(refusal.status, attempt).toBe(401);
        expect(JSON.parse(refusal.body).error).toContain("server.token");
      }
      const viaQuery = await connect(`${at}?token=${token}`);
      const viaHeader = await connect(at, { headers: { authorization: `Bearer ${token}` } });
      for (const client of [viaQuery, viaHeader]) {
        await expect(client.invoke("plugin:tower:ping")).resolves.toMatchObject({ ok: true });
        client.socket.close();
      }
      expect(ownLog.text()).toContain("without the session token");
      expect(ownLog.text()).not.toContain(token.slice(8));
    } finally {
      await own.stop();
      await local.cleanup();
    }
  });
});

describe("lifecycle", () => {
  it("closes clients with 1001 on shutdown without holding it up, and refuses a second attach", async () => {
    const local = await createWorkspace();
    try {
      await local.write({ id: "tower", source: towerSource });
      const ipc: WebSocketIpc = createWebSocketIpc();
      const { shell: own } = testShell(local, { ipc });
      await own.start();
      const at = `${own.status().server.url!.replace("http", "ws")}/_hangar/ipc`;
      const clients = [await connect(at), await connect(at)];
      await expect(clients[0]!.invoke("plugin:tower:ping")).resolves.toMatchObject({ ok: true });
      await own.stop();
      for (const client of clients) await expect(client.closed).resolves.toBe(1001);
      expect(own.status().state).toBe("stopped");
      expect(() =>
        ipc.attach(createServer(), { isAllowedHost: () => true, isAllowedOrigin: () => true }),
      ).toThrow(/already closed/);
    } finally {
      await local.cleanup();
    }
  });

  it("serves 64 connections by default and closes the 65th with 1013 and a reason, logging refusals sparingly", async () => {
    const local = await createWorkspace();
    const clients: TestClient[] = [];
    try {
      await local.write({ id: "tower", source: towerSource });
      const { shell: own, log: ownLog } = testShell(local, { ipc: createWebSocketIpc() });
      await own.start();
      const at = `${own.status().server.url!.replace("http", "ws")}/_hangar/ipc`;
      for (let i = 0; i < 64; i++) clients.push(await connect(at));
      const extra = await connect(at);
      await expect(extra.closedWith).resolves.toEqual({
        code: 1013,
        reason: "hangar IPC bridge is full (64 connections); close one or try again later",
      });
      // The 64 served connections are untouched by the refusal.
      await expect(clients[0]!.invoke("plugin:tower:ping", 1)).resolves.toMatchObject({ ok: true });
      await expect(clients[63]!.invoke("plugin:tower:ping", 2)).resolves.toMatchObject({ ok: true });
      // A flood of refused connections: one log line for the 1st and one for the 10th, not one each.
      for (let i = 0; i < 19; i++) await (await connect(at)).closed;
      const refusals = ownLog.lines.filter((line) => String(line.msg).includes("(maxConnections)"));
      expect(refusals.map((line) => line.refusedSoFar)).toEqual([1, 10]);
      // A freed place is taken again (once the server has seen the close: retried until then).
      const leaving = clients.pop()!;
      leaving.socket.close();
      await leaving.closed;
      let served = false;
      for (let attempt = 0; attempt < 50 && !served; attempt++) {
        const next = await connect(at);
        served = await Promise.race([
          next.closed.then(() => false),
          next.invoke("plugin:tower:ping").then(() => true),
        ]);
        if (served) clients.push(next);
      }
      expect(served).toBe(true);
      await own.stop();
    } finally {
      for (const client of clients) client.socket.terminate();
      await local.cleanup();
    }
  });

  it("refuses invalid limits with the option named", () => {
    expect(() => createWebSocketIpc({ maxConnections: 0 })).toThrow(
      /maxConnections: 0; pass a positive whole number of connections/,
    );
    expect(() => createWebSocketIpc({ maxPayloadBytes: 0 })).toThrow(/maxPayloadBytes: 0/);
    expect(() => createWebSocketIpc({ maxBufferedBytes: 1.5 })).toThrow(/maxBufferedBytes: 1.5/);
  });
});
