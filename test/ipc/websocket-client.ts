// A `ws` client for the IPC bridge tests: records every frame the shell sends and awaits the ones a test needs.
import WebSocket from "ws";
import type { ResultFrame, ServerFrame } from "../../src/ipc/ws-protocol.js";

export interface Refusal {
  status: number;
  body: string;
}

export interface TestClient {
  readonly socket: WebSocket;
  /** Every frame received so far, in order. */
  readonly frames: ServerFrame[];
  /** Sends raw text (or a binary frame) as it is, malformed or not. */
  sendRaw(data: string | Buffer): void;
  /** Sends an invoke and resolves with its result frame. */
  invoke(channel: string, payload?: unknown): Promise<ResultFrame>;
  /** Resolves with the first frame (already received or still to come) that matches. */
  next(match: (frame: ServerFrame) => boolean): Promise<ServerFrame>;
  /** Resolves with the close code once the connection has closed. */
  readonly closed: Promise<number>;
  /** Resolves with the close code and the reason the server gave once the connection has closed. */
  readonly closedWith: Promise<{ code: number; reason: string }>;
}

/** Opens a connection; resolves when it is open, rejects with the HTTP refusal when the upgrade is refused. */
export function connect(
  url: string,
  options: { origin?: string; host?: string; headers?: Record<string, string> } = {},
): Promise<TestClient> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.host !== undefined) headers.host = options.host;
  const socket = new WebSocket(url, {
    headers,
    ...(options.origin !== undefined ? { origin: options.origin } : {}),
    maxPayload: 100 * 1024 * 1024,
  });
  const frames: ServerFrame[] = [];
  const waiters = new Set<{
    match: (frame: ServerFrame) => boolean;
    resolve: (frame: ServerFrame) => void;
  }>();
  let nextId = 1;
  const closedWith = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once("close", (code, reason) => resolve({ code, reason: String(reason) })),
  );
  const closed = closedWith.then(({ code }) => code);
  socket.on("message", (data) => {
    const frame = JSON.parse(String(data)) as ServerFrame;
    frames.push(frame);
    for (const waiter of [...waiters]) {
      if (waiter.match(frame)) {
        waiters.delete(waiter);
        waiter.resolve(frame);
      }
    }
  });

  const client: TestClient = {
    socket,
    frames,
    closed,
    closedWith,
    sendRaw: (data) => socket.send(data, { binary: typeof data !== "string" }),
    next(match) {
      const seen = frames.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.add({ match, resolve }));
    },
    async invoke(channel, payload) {
      const id = nextId++;
      const result = client.next((frame) => frame.type === "result" && frame.id === id);
      socket.send(JSON.stringify({ type: "invoke", id, channel, payload }));
      return (await result) as ResultFrame;
    },
  };

  return new Promise((resolve, reject) => {
    socket.once("open", () => resolve(client));
    socket.once("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => {
        const refusal: Refusal = { status: res.statusCode ?? 0, body };
        reject(Object.assign(new Error(`refused with ${refusal.status}`), { refusal }));
        socket.terminate();
      });
    });
    socket.once("error", reject);
  });
}

/** The refusal a connect() rejected with. */
export async function refusalOf(attempt: Promise<TestClient>): Promise<Refusal> {
  try {
    const client = await attempt;
    client.socket.close();
  } catch (error) {
    const refusal = (error as { refusal?: Refusal }).refusal;
    if (refusal) return refusal;
    throw error;
  }
  throw new Error("the connection was accepted, but a refusal was expected");
}
