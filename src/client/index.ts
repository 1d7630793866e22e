// The browser side of hangar's WebSocket IPC bridge: a page invokes plugin handlers and hears their events.
// Runs as a plain ES module in any page (no Node imports, no dependencies); see docs/ipc.md.
import type { ServerFrame } from "../ipc/ws-protocol.js";

/** How a connection ended. */
export interface HangarCloseInfo {
  /** The WebSocket close code: 1000 after `close()`, 1001 when the shell shuts down, 1006 when the link broke. */
  code: number;
  reason: string;
}

/**
 * One connection to a shell's IPC bridge. It does not reconnect: when it closes, every pending invoke is
 * rejected, `closed` resolves, and a new `connectHangar()` is the way back.
 */
export interface HangarConnection {
  /**
   * Calls the handler a plugin registered with `ctx.ipc.handle` (channel fully prefixed: `plugin:<id>:<ch>`),
   * as `ipcRenderer.invoke` would. Payload and result cross as JSON. Calls made before the socket opens are
   * sent once it does. Rejects with Electron's wording: `Error invoking remote method '<ch>': <cause>`.
   */
  invoke(channel: string, payload?: unknown): Promise<unknown>;
  /** Receives what a plugin `ctx.ipc.send`s on `channel`. Returns the unsubscribe function. */
  on(channel: string, listener: (payload: unknown) => void): () => void;
  /** Closes the connection and rejects every pending invoke at once. Idempotent. */
  close(): void;
  /** Resolves when the connection has closed, for whatever reason. */
  readonly closed: Promise<HangarCloseInfo>;
}

interface Pending {
  channel: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const IPC_PATH = "/_hangar/ipc";

/** The bridge's URL on the server that served the current page. */
function defaultUrl(): string {
  const location = (globalThis as { location?: { href: string } }).location;
  if (!location) {
    throw new TypeError(
      "connectHangar() needs a URL outside a page, e.g. 'ws://127.0.0.1:2066/_hangar/ipc'.",
    );
  }
  const url = new URL(IPC_PATH, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

/**
 * Opens a connection to a hangar shell's IPC bridge. `url` defaults to `/_hangar/ipc` on the page's own server,
 * which is also the origin the shell accepts without configuration.
 */
export function connectHangar(url: string = defaultUrl()): HangarConnection {
  const socket = new WebSocket(url);
  const pending = new Map<number, Pending>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const unsent: string[] = [];
  let nextId = 1;
  let ended: HangarCloseInfo | null = null;
  let resolveClosed: (info: HangarCloseInfo) => void = () => {};
  const closed = new Promise<HangarCloseInfo>((resolve) => {
    resolveClosed = resolve;
  });

  const invokeError = (channel: string, cause: string): Error =>
    new Error(`Error invoking remote method '${channel}': ${cause}`);

  function end(info: HangarCloseInfo): void {
    if (ended) return;
    ended = info;
    const cause =
      info.code === 1000
        ? "the connection was closed before a result arrived"
        : `the connection to the hangar shell closed (code ${info.code}) before a result arrived. The shell may ` +
          "have stopped, or refused this page (its Origin must be the shell's own or in server.allowedOrigins).";
    for (const [id, call] of pending) {
      pending.delete(id);
      call.reject(invokeError(call.channel, cause));
    }
    unsent.length = 0;
    resolveClosed(info);
  }

  function deliver(channel: string, payload: unknown): void {
    const set = listeners.get(channel);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(payload);
      } catch (error) {
        // One faulty listener must not starve the others; the page's error reporting still sees it.
        reportListenerError(error);
      }
    }
  }

  socket.addEventListener("open", () => {
    for (const text of unsent.splice(0)) socket.send(text);
  });
  socket.addEventListener("close", (event) => end({ code: event.code, reason: event.reason }));
  socket.addEventListener("message", (event) => {
    if (typeof event.data !== "string") return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(event.data) as ServerFrame;
    } catch {
      console.error("hangar: the shell sent a frame that is not JSON; ignored.");
      return;
    }
    if (frame.type === "event") {
      deliver(frame.channel, frame.payload);
      return;
    }
    if (frame.type !== "result") return;
    if (frame.id === null) {
      // Only a frame this client failed to form gets an id-less answer: a bug worth seeing in the console.
      if (!frame.ok) console.error(`hangar: the shell refused a frame: ${frame.error}`);
      return;
    }
    const call = pending.get(frame.id);
    if (!call) return;
    pending.delete(frame.id);
    if (frame.ok) call.resolve(frame.value);
    else call.reject(invokeError(call.channel, frame.error));
  });

  return Object.freeze({
    closed,

    invoke(channel: string, payload?: unknown): Promise<unknown> {
      if (ended) {
        return Promise.reject(invokeError(channel, `the connection is closed (code ${ended.code})`));
      }
      const id = nextId++;
      let text: string;
      try {
        text = JSON.stringify({ type: "invoke", id, channel, payload });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        return Promise.reject(invokeError(channel, `the payload cannot be sent as JSON (${reason})`));
      }
      return new Promise<unknown>((resolve, reject) => {
        pending.set(id, { channel, resolve, reject });
        if (socket.readyState === WebSocket.OPEN) socket.send(text);
        else unsent.push(text);
      });
    },

    on(channel: string, listener: (payload: unknown) => void): () => void {
      let set = listeners.get(channel);
      if (!set) {
        set = new Set();
        listeners.set(channel, set);
      }
      // A wrapper, so the same function subscribed twice gets two independent subscriptions.
      const entry = (payload: unknown) => listener(payload);
      set.add(entry);
      return () => {
        set.delete(entry);
        if (set.size === 0 && listeners.get(channel) === set) listeners.delete(channel);
      };
    },

    close(): void {
      if (!ended) end({ code: 1000, reason: "closed by the page" });
      if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN)
        socket.close(1000);
    },
  });
}

function reportListenerError(error: unknown): void {
  const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
  if (typeof report === "function") report(error);
  else console.error("hangar: an IPC listener threw:", error);
}
