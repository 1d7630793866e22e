// The WebSocket IPC bridge's wire format (docs/ipc.md): JSON text frames `invoke`, `result` and `event`.
// No Node imports: the browser client imports these types too.

/** The path of the bridge on the shell's server. */
export const IPC_PATH = "/_hangar/ipc";

/** Client → shell: call the handler of `channel` (fully prefixed, `plugin:<id>:<ch>`). */
export interface InvokeFrame {
  type: "invoke";
  /** Chosen by the client; echoed in the result. A number, unique among the client's pending invokes. */
  id: number;
  channel: string;
  /** Any JSON value; absent means `undefined`. */
  payload?: unknown;
}

/** Shell → client: the answer to one invoke. `id` is null when the frame it answers had no usable id. */
export type ResultFrame =
  | { type: "result"; id: number; ok: true; value?: unknown }
  | { type: "result"; id: number | null; ok: false; error: string };

/** Shell → every client: what a plugin `send`s. */
export interface EventFrame {
  type: "event";
  channel: string;
  payload?: unknown;
}

/** What the shell sends. */
export type ServerFrame = ResultFrame | EventFrame;

/** A client frame, read: either an invoke to run, or the error result to answer with. */
export type DecodedClientFrame =
  | { ok: true; frame: InvokeFrame }
  | { ok: false; id: number | null; error: string };

const expected = '{"type":"invoke","id":<number>,"channel":"plugin:<id>:<channel>","payload":<any>}';

/** Reads one text frame from a client. Never throws: anything unusable becomes an error to send back. */
export function decodeClientFrame(text: string): DecodedClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, id: null, error: `Malformed frame: not valid JSON (${reason}). Send ${expected}.` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, id: null, error: `Malformed frame: expected a JSON object such as ${expected}.` };
  }
  const frame = value as Record<string, unknown>;
  const id = typeof frame.id === "number" && Number.isFinite(frame.id) ? frame.id : null;
  if (frame.type !== "invoke") {
    const type = typeof frame.type === "string" ? `'${frame.type}'` : "missing";
    return {
      ok: false,
      id,
      error: `Unknown frame type ${type}: clients send only invoke frames, ${expected}.`,
    };
  }
  if (id === null) {
    return { ok: false, id: null, error: `Malformed invoke: 'id' must be a number, as in ${expected}.` };
  }
  if (typeof frame.channel !== "string" || frame.channel.length === 0) {
    return {
      ok: false,
      id,
      error: `Malformed invoke: 'channel' must be a non-empty string such as 'plugin:my-plugin:get-status'.`,
    };
  }
  return { ok: true, frame: { type: "invoke", id, channel: frame.channel, payload: frame.payload } };
}

/**
 * The text of a successful result. Throws when `value` is not JSON-encodable (a BigInt, a cycle): the caller
 * answers with an error result instead.
 */
export function encodeValueResult(id: number, value: unknown): string {
  return JSON.stringify({ type: "result", id, ok: true, value } satisfies ResultFrame);
}

/** The text of an error result. */
export function encodeErrorResult(id: number | null, error: string): string {
  return JSON.stringify({ type: "result", id, ok: false, error } satisfies ResultFrame);
}

/** The text of an event. Throws when `payload` is not JSON-encodable. */
export function encodeEvent(channel: string, payload: unknown): string {
  return JSON.stringify({ type: "event", channel, payload } satisfies EventFrame);
}
