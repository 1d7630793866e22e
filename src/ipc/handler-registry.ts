// The handler table every in-process transport keeps: one handler per fully prefixed channel, refused
// twice with Electron's own wording, so plugins see the same error on every transport.
import type { IpcHandler, IpcTransport } from "./transport.js";

/** The `handle`/`removeHandler` half of an IpcTransport, plus a lookup for the transport's invoke path. */
export interface HandlerRegistry extends Pick<IpcTransport, "handle" | "removeHandler"> {
  get(channel: string): IpcHandler | undefined;
}

export function createHandlerRegistry(): HandlerRegistry {
  const handlers = new Map<string, IpcHandler>();
  return {
    handle(channel, handler) {
      if (handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      handlers.set(channel, handler);
    },
    removeHandler(channel) {
      handlers.delete(channel);
    },
    get: (channel) => handlers.get(channel),
  };
}
