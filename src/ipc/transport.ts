// The seam between plugin IPC and whatever carries it: memory, Electron's ipcMain, or a WebSocket bridge.
import type { IpcPayloadEncoding } from "./json-payload.js";

/** Handles an invoke on a fully prefixed channel; receives the caller's payload. */
export type IpcHandler = (payload: unknown) => unknown;

/** Carries plugin IPC. Channels are fully prefixed (`plugin:{id}:{channel}`) by the time they get here. */
export interface IpcTransport {
  /** Registers the handler; a second handler on one channel throws `Attempted to register a second handler for '<ch>'`. */
  handle(channel: string, handler: IpcHandler): void;
  /** Removes the handler; silent when there is none. */
  removeHandler(channel: string): void;
  /** Pushes a payload to every renderer (already checked to be structured-cloneable). */
  send(channel: string, payload: unknown): void;
  /**
   * How payloads cross; default `"structured-clone"`. `"json"` (the WebSocket bridge) tells an isolated plugin's
   * worker to refuse at `ctx.ipc.send` what JSON cannot encode, with the TypeError `send` throws in-process.
   */
  readonly payloads?: IpcPayloadEncoding;
}
