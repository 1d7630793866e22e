import WebSocket from "ws";
import { createMemoryIpc, createShell } from "../src/index.js";
import { createWebSocketIpc } from "../src/ipc/websocket.js";
import { IPC_PATH } from "../src/ipc/ws-protocol.js";
import { createBenchWorkspace, writeEchoIpcPlugin } from "./support/workspace.js";
import { type BenchResult, quickMode } from "./types.js";

const CHANNEL = "plugin:bench:echo";
const IN_FLIGHT = 64;
const payload = (i: number) => ({ seq: i, flight: "KLM1234", position: [52.31, 4.76], altitudeFt: 35_000 });
const echo = (value: unknown) => value;

/** Mean µs per call of `invoke`, one at a time (a round-trip each), after a warm-up. */
async function sequential(count: number, invoke: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(1_000, count); i += 1) await invoke(i);
  const started = performance.now();
  for (let i = 0; i < count; i += 1) await invoke(i);
  return ((performance.now() - started) * 1000) / count;
}

/** Mean µs per call with `IN_FLIGHT` calls outstanding at any time (throughput, not latency). */
async function pipelined(count: number, invoke: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < count) await invoke(next++);
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return ((performance.now() - started) * 1000) / count;
}

/** A minimal client of the bridge's documented protocol (docs/ipc.md). */
async function connect(url: string): Promise<{ invoke(value: unknown): Promise<unknown>; close(): void }> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let ids = 0;
  socket.on("message", (data) => {
    const frame = JSON.parse(String(data)) as { id: number; ok: boolean; value?: unknown; error?: string };
    const waiter = pending.get(frame.id);
    pending.delete(frame.id);
    if (frame.ok) waiter?.resolve(frame.value);
    else waiter?.reject(new Error(frame.error));
  });
  return {
    invoke(value) {
      const id = ++ids;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        socket.send(JSON.stringify({ type: "invoke", id, channel: CHANNEL, payload: value }));
      });
    },
    close: () => socket.close(),
  };
}

export async function run(): Promise<BenchResult[]> {
  const quick = quickMode();
  const n = quick ? 500 : 20_000;
  const rows: BenchResult[] = [];
  const row = (name: string, value: number, base: number, note: string): BenchResult => ({
    group: "IPC invoke round-trip",
    name,
    value,
    unit: "µs/invoke",
    baseline: base,
    ratio: value / base,
    better: "lower",
    note,
  });

  const direct = async (i: number) => echo(payload(i));
  const directSequential = await sequential(n, direct);
  const directPipelined = await pipelined(n, direct);

  const memory = createMemoryIpc();
  memory.handle(CHANNEL, echo);
  const viaMemory = (i: number) => memory.invoke(CHANNEL, payload(i));
  rows.push(
    row("memory, one at a time", await sequential(n, viaMemory), directSequential, "baseline: direct call"),
  );
  rows.push(
    row(
      `memory, ${IN_FLIGHT} in flight`,
      await pipelined(n, viaMemory),
      directPipelined,
      "baseline: direct call",
    ),
  );

  // The bridge on a real shell: a plugin registers the handler through its context, as a real one would.
  const ws = await createBenchWorkspace();
  await writeEchoIpcPlugin(ws.pluginsDir);
  const shell = createShell({
    plugins: [ws.pluginsDir],
    dataDir: ws.dataDir,
    server: { port: 0 },
    ipc: createWebSocketIpc(),
    log: { level: "silent" },
  });
  try {
    await shell.start();
    const url = `${shell.status().server.url!.replace(/^http/, "ws")}${IPC_PATH}`;
    const client = await connect(url);
    const viaSocket = (i: number) => client.invoke(payload(i));
    const wsCount = quick ? 200 : 10_000;
    rows.push(
      row(
        "websocket, one at a time",
        await sequential(wsCount, viaSocket),
        directSequential,
        "loopback; client in-process",
      ),
    );
    rows.push(
      row(
        `websocket, ${IN_FLIGHT} in flight`,
        await pipelined(wsCount, viaSocket),
        directPipelined,
        "loopback; client in-process",
      ),
    );
    client.close();
  } finally {
    await shell.stop();
    await ws.cleanup();
  }
  return rows;
}
