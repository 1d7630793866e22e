// The one check of a payload a JSON transport (the WebSocket bridge) must carry, so an isolated plugin's worker
// throws at ctx.ipc.send exactly what the bridge throws in-process, before anything is posted.

import { messageOf } from "../errors.js";
import { NESTING_LIMIT_TEXT, nestedDeeperThan } from "./nesting.js";

/**
 * How an {@link IpcTransport}'s payloads cross: `"json"` (the WebSocket bridge: what JSON cannot encode is
 * refused at send) or `"structured-clone"` (memory, Electron).
 */
export type IpcPayloadEncoding = "json" | "structured-clone";

/** Why JSON could not encode `value`: `error`'s message, or the nesting limit for V8's bare stack overflow. */
export function jsonFailureReason(value: unknown, error: unknown): string {
  return error instanceof RangeError && nestedDeeperThan(value)
    ? `it is ${NESTING_LIMIT_TEXT}`
    : messageOf(error);
}

/** The TypeError `send` throws for a payload JSON cannot encode; `error` is what JSON.stringify threw. */
export function jsonPayloadError(channel: string, payload: unknown, error: unknown): TypeError {
  const reason = jsonFailureReason(payload, error);
  return new TypeError(
    `The payload sent on '${channel}' cannot be sent as JSON over the WebSocket IPC bridge ` +
      `(${reason}). Send plain JSON data: no BigInt, no cycles, nothing ${NESTING_LIMIT_TEXT}.`,
    { cause: error },
  );
}

/** Throws {@link jsonPayloadError} unless JSON can encode `payload` (NaN, a Date, a Map encode, lossily). */
export function assertJsonPayload(channel: string, payload: unknown): void {
  try {
    JSON.stringify(payload);
  } catch (error) {
    throw jsonPayloadError(channel, payload, error);
  }
}
