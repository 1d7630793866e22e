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
  /**
   * Resolves when the connection has closed for good: for whatever reason, or, with `reconnect`, only after
   * `close()`.
   */
  readonly closed: Promise<HangarCloseInfo>;
  /** `connecting` (also while waiting to reconnect), `open`, or `closed` (for good). */
  readonly state: HangarConnectionState;
  /**
   * Told each time `state` changes; with `reconnect`, an `open` after the first means the link was broken
   * and events may have been missed (hangar/react re-reads config then). Returns the unsubscribe function.
   */
  onStateChange(listener: (state: HangarConnectionState) => void): () => void;
  /**
   * How many `on` listeners `channel` has; without `channel`, every listener of this connection (`on` and
   * `onStateChange`). For checking that a page cleans up after itself.
   */
  listenerCount(channel?: string): number;
  /** The bridge's URL (`ws://…/_hangar/ipc`), without a token. */
  readonly url: string;
}

/** Where a {@link HangarConnection} is. */
export type HangarConnectionState = "connecting" | "open" | "closed";

/** Options of {@link connectHangar}. */
export interface ConnectHangarOptions {
  /**
   * Open a new socket whenever the link breaks (the shell restarted, the network blinked), waiting 250 ms,
   * then twice as long each failed try, up to `maxDelayMs` (default 5 000). Listeners stay subscribed across
   * links; invokes pending when a link breaks are rejected (whether they ran is unknown), invokes made while
   * reconnecting wait for the next link. Default: off, one link only.
   */
  reconnect?: boolean | { maxDelayMs?: number };
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
 * which is also the origin the shell accepts without configuration. A `?token=` in `url` is kept for every
 * link and left out of `connection.url`.
 */
export function connectHangar(
  url: string = defaultUrl(),
  options: ConnectHangarOptions = {},
): HangarConnection {
  if (typeof (globalThis as { WebSocket?: unknown }).WebSocket !== "function") {
    throw new TypeError(
      "connectHangar() needs a global WebSocket, as in a browser, Electron's renderer or Node ≥ 22. Node 20 has " +
        "none: run node with --experimental-websocket, or set globalThis.WebSocket (e.g. from the 'ws' package) " +
        "before connecting.",
    );
  }
  const reconnect = options.reconnect ?? false;
  const maxDelayMs = typeof reconnect === "object" ? (reconnect.maxDelayMs ?? 5_000) : 5_000;
  const pending = new Map<number, Pending>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const stateListeners = new Set<(state: HangarConnectionState) => void>();
  const unsent: string[] = [];
  let nextId = 1;
  let ended: HangarCloseInfo | null = null;
  let state: HangarConnectionState = "connecting";
  let socket: WebSocket;
  let retryDelay = 250;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let resolveClosed: (info: HangarCloseInfo) => void = () => {};
  const closed = new Promise<HangarCloseInfo>((resolve) => {
    resolveClosed = resolve;
  });
  const shownUrl = withoutToken(url);

  const invokeError = (channel: string, cause: string): Error =>
    new Error(`Error invoking remote method '${channel}': ${cause}`);

  function setState(next: HangarConnectionState): void {
    if (state === next) return;
    state = next;
    for (const listener of [...stateListeners]) {
      try {
        listener(next);
      } catch (error) {
        reportListenerError(error);
      }
    }
  }

  /** Rejects the invokes in flight on a link that is gone. */
  function failPending(info: HangarCloseInfo): void {
    const cause =
      info.code === 1000
        ? "the connection was closed before a result arrived"
        : info.code === 1009
          ? "the connection to the hangar shell closed (code 1009) before a result arrived: a message was larger " +
            "than the shell's limit (maxPayloadBytes of createWebSocketIpc, default 1 MiB). Send smaller messages."
          : info.reason
            ? `the connection to the hangar shell closed (code ${info.code}: ${info.reason}) before a result arrived.`
            : `the connection to the hangar shell closed (code ${info.code}) before a result arrived. The shell may ` +
              "have stopped, or refused this page (its Origin must be the shell's own or in server.allowedOrigins).";
    for (const [id, call] of pending) {
      pending.delete(id);
      call.reject(invokeError(call.channel, cause));
    }
  }

  function end(info: HangarCloseInfo): void {
    if (ended) return;
    ended = info;
    clearTimeout(retryTimer);
    failPending(info);
    unsent.length = 0;
    setState("closed");
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

  function open(): void {
    const link = new WebSocket(url);
    socket = link;
    link.addEventListener("open", () => {
      if (link !== socket || ended) return;
      retryDelay = 250;
      for (const text of unsent.splice(0)) link.send(text);
      setState("open");
    });
    link.addEventListener("close", (event) => {
      if (link !== socket) return;
      const info = { code: event.code, reason: event.reason };
      if (!reconnect || ended) {
        end(info);
        return;
      }
      failPending(info);
      setState("connecting");
      retryTimer = setTimeout(open, retryDelay);
      retryDelay = Math.min(retryDelay * 2, maxDelayMs);
    });
    link.addEventListener("message", (event) => {
      if (link !== socket || typeof event.data !== "string") return;
      receive(event.data);
    });
  }

  function receive(data: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
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
  }

  open();

  return Object.freeze({
    closed,
    url: shownUrl,

    get state() {
      return state;
    },

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

    onStateChange(listener: (state: HangarConnectionState) => void): () => void {
      const entry = (next: HangarConnectionState) => listener(next);
      stateListeners.add(entry);
      return () => {
        stateListeners.delete(entry);
      };
    },

    listenerCount(channel?: string): number {
      if (channel !== undefined) return listeners.get(channel)?.size ?? 0;
      let count = stateListeners.size;
      for (const set of listeners.values()) count += set.size;
      return count;
    },

    close(): void {
      if (!ended) end({ code: 1000, reason: "closed by the page" });
      if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN)
        socket.close(1000);
    },
  });
}

/** The URL with any `token` query parameter removed, fit to show. */
function withoutToken(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.searchParams.delete("token");
    return parsed.href;
  } catch {
    return url;
  }
}

function reportListenerError(error: unknown): void {
  const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
  if (typeof report === "function") report(error);
  else console.error("hangar: an IPC listener threw:", error);
}
