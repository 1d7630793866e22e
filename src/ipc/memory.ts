// The default IPC transport: in-process, behaving like Electron's ipcMain/ipcRenderer pair (same errors, cloned payloads).
import { type Subscription, toSubscription } from "../base/disposable.js";
import { createHandlerRegistry } from "./handler-registry.js";
import type { IpcTransport } from "./transport.js";

/** The in-memory transport, plus the renderer's side: `invoke` as ipcRenderer.invoke, `on` as ipcRenderer.on. */
export interface MemoryIpc extends IpcTransport {
  /**
   * Calls the handler of `channel` as a renderer would. Payload and result are structured-cloned as they
   * cross. Rejects with Electron's wording: `Error invoking remote method '<ch>': <cause>`.
   */
  invoke(channel: string, payload?: unknown): Promise<unknown>;
  /**
   * Receives what the main side `send`s on `channel`. Each listener gets its own structured clone, delivered
   * asynchronously (as across a process boundary). Returns a Subscription: call it, or dispose it, to unsubscribe.
   */
  on(channel: string, listener: (payload: unknown) => void): Subscription;
}

export interface MemoryIpcOptions {
  /** Told when a listener throws; `send` and the other listeners are unaffected. Default: console.error. */
  onListenerError?: (error: unknown, channel: string) => void;
}

/** Creates an in-memory transport. */
export function createMemoryIpc(options: MemoryIpcOptions = {}): MemoryIpc {
  const handlers = createHandlerRegistry();
  const listeners = new Map<string, Set<{ listener: (payload: unknown) => void }>>();
  const onListenerError =
    options.onListenerError ??
    ((error: unknown, channel: string) =>
      console.error(`hangar: a listener for IPC channel '${channel}' threw:`, error));

  return Object.freeze({
    handle: handlers.handle,
    removeHandler: handlers.removeHandler,

    send(channel: string, payload: unknown): void {
      // One snapshot at the call, as Electron serialises at send(); later mutation by the sender changes nothing.
      const snapshot = structuredClone(payload);
      const entries = listeners.get(channel);
      if (!entries || entries.size === 0) return;
      for (const entry of [...entries]) {
        queueMicrotask(() => {
          if (!entries.has(entry)) return; // unsubscribed before delivery
          try {
            entry.listener(structuredClone(snapshot));
          } catch (error) {
            onListenerError(error, channel);
          }
        });
      }
    },

    async invoke(channel: string, payload?: unknown): Promise<unknown> {
      // Cloning happens in the renderer before anything crosses: an uncloneable payload never reaches main.
      const sent = structuredClone(payload);
      // Cross the "process boundary": the handler never runs inside the caller's synchronous code.
      await Promise.resolve();
      const handler = handlers.get(channel);
      if (!handler) {
        throw new Error(`Error invoking remote method '${channel}': No handler registered for '${channel}'`);
      }
      let result: unknown;
      try {
        result = structuredClone(await handler(sent));
      } catch (error) {
        // Only the text crosses, as in Electron (main sends `error.toString()`), never the error object.
        throw new Error(`Error invoking remote method '${channel}': ${describe(error)}`);
      }
      return result;
    },

    on(channel: string, listener: (payload: unknown) => void): Subscription {
      let entries = listeners.get(channel);
      if (!entries) {
        entries = new Set();
        listeners.set(channel, entries);
      }
      const entry = { listener };
      entries.add(entry);
      return toSubscription(() => {
        entries.delete(entry);
        if (entries.size === 0 && listeners.get(channel) === entries) listeners.delete(channel);
      });
    },
  });
}

function describe(error: unknown): string {
  try {
    return String(error);
  } catch {
    return "an error that has no string form";
  }
}
