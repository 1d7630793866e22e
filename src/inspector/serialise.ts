// Turns anything an actor holds (contexts, events, outputs, errors) into bounded, redacted plain JSON for the inspector.
import { REDACTED, redactSecrets } from "../base/redact.js";
import type { Json } from "./client/protocol.js";

/** How much of a value the serialiser keeps. Every bound exists so one odd value cannot flood the feed. */
export interface SerialiseLimits {
  /** Objects and arrays nested deeper than this become `{ $type: "truncated", reason: "depth" }`. */
  maxDepth: number;
  /** Longer strings are cut, with a note of how much was cut. */
  maxStringLength: number;
  /** Stacks get more room than other strings: they are what a bug report needs. */
  maxStackLength: number;
  /** Entries kept per object, array, map or set. */
  maxEntries: number;
  /** Values visited per call: a wide graph of shared objects cannot blow up the output. */
  maxNodes: number;
}

export const defaultSerialiseLimits: SerialiseLimits = {
  maxDepth: 8,
  maxStringLength: 2_000,
  maxStackLength: 8_000,
  maxEntries: 100,
  maxNodes: 5_000,
};

/** What replaces a redacted value (the one redactor's marker). */
export { REDACTED };

/**
 * Keys whose values are never shown: auth tokens and their kin. Matches `token`, `authToken`,
 * `api_key`, `password`, `Authorization`, `cookie`, ... in any case.
 */
const SECRET_KEY = /token|secret|passw(or)?d|authori[sz]ation|api[-_]?key|cookie|credential|private[-_]?key/i;

export interface SerialiseOptions {
  limits?: Partial<SerialiseLimits>;
  /** Current secret values (the auth token): any string containing one has it replaced by `[redacted]`. */
  secrets?: readonly string[];
}

/**
 * A plain-JSON description of `value` that never throws: cycles, functions, symbols, bigints, Errors
 * (with stack, code and cause), Maps, Sets, Dates, typed arrays, actor references, throwing getters and
 * class instances are all described rather than lost; every size is bounded by the limits; values under
 * secret-looking keys and occurrences of `secrets` are replaced by `[redacted]`.
 */
export function toJson(value: unknown, options: SerialiseOptions = {}): Json {
  const limits = { ...defaultSerialiseLimits, ...options.limits };
  const secrets = options.secrets ?? [];
  const ancestors: object[] = [];
  let nodes = 0;

  const text = (input: string, max: number): string => {
    let result = input;
    if (secrets.length > 0) result = redactSecrets(result, secrets);
    if (result.length <= max) return result;
    return `${result.slice(0, max)}… (${result.length - max} more characters)`;
  };

  const visit = (input: unknown, depth: number): Json => {
    nodes += 1;
    if (nodes > limits.maxNodes) return { $type: "truncated", reason: "size" };
    switch (typeof input) {
      case "string":
        return text(input, limits.maxStringLength);
      case "number":
        return Number.isFinite(input)
          ? Object.is(input, -0)
            ? 0
            : input
          : { $type: "number", value: String(input) };
      case "boolean":
        return input;
      case "undefined":
        return { $type: "undefined" };
      case "bigint":
        return { $type: "bigint", value: input.toString() };
      case "symbol":
        return { $type: "symbol", description: text(input.description ?? "", limits.maxStringLength) };
      case "function":
        return { $type: "function", name: text(input.name || "(anonymous)", limits.maxStringLength) };
    }
    if (input === null) return null;
    const object = input as object;
    if (ancestors.includes(object)) return { $type: "circular" };
    if (depth >= limits.maxDepth) return { $type: "truncated", reason: "depth" };
    ancestors.push(object);
    try {
      return describeObject(object, depth);
    } catch (error) {
      // A Proxy or exotic object that throws on inspection: say so instead of failing the whole record.
      return { $type: "unreadable", message: text(messageOf(error), limits.maxStringLength) };
    } finally {
      ancestors.pop();
    }
  };

  const entries = (pairs: Iterable<[string, unknown]>, depth: number): { [key: string]: Json } => {
    const result: { [key: string]: Json } = {};
    let count = 0;
    let more = 0;
    for (const [key, item] of pairs) {
      if (count >= limits.maxEntries) {
        more += 1;
        continue;
      }
      count += 1;
      // A key named `__proto__` must become a property, not replace the result's prototype.
      Object.defineProperty(result, text(key, limits.maxStringLength), {
        value: isSecretKey(key, item) ? REDACTED : visit(item, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    if (more > 0) result.$more = more;
    return result;
  };

  const list = (items: Iterable<unknown>, depth: number): Json[] => {
    const result: Json[] = [];
    let more = 0;
    for (const item of items) {
      if (result.length >= limits.maxEntries) more += 1;
      else result.push(visit(item, depth + 1));
    }
    if (more > 0) result.push({ $type: "more", count: more });
    return result;
  };

  const describeObject = (object: object, depth: number): Json => {
    if (object instanceof Error) return describeError(object, depth);
    if (Array.isArray(object)) return list(object, depth);
    if (object instanceof Date) {
      return Number.isNaN(object.getTime())
        ? { $type: "date", iso: null }
        : { $type: "date", iso: object.toISOString() };
    }
    if (object instanceof Map) {
      const pairs = [...object.entries()].map(([key, item]): [unknown, unknown] =>
        typeof key === "string" && isSecretKey(key, item) ? [key, REDACTED] : [key, item],
      );
      return { $type: "map", size: object.size, entries: list(pairs, depth) };
    }
    if (object instanceof Set)
      return { $type: "set", size: object.size, values: list(object.values(), depth) };
    if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) {
      return { $type: "bytes", class: object.constructor.name, length: object.byteLength };
    }
    if (object instanceof Promise) return { $type: "promise" };
    if (object instanceof WeakMap || object instanceof WeakSet || object instanceof WeakRef) {
      return { $type: "weak", class: object.constructor.name };
    }
    if (isActorRef(object)) {
      return { $type: "actor", id: stringOrNull(readField(object, "id")), key: String(object.sessionId) };
    }
    const prototype = Object.getPrototypeOf(object) as object | null;
    const own = entries(readableEntries(object), depth);
    if (prototype === null || prototype === Object.prototype) return own;
    // A class instance: its own fields, and its class so a reader knows it is not plain data.
    const name = (prototype as { constructor?: { name?: unknown } }).constructor?.name;
    return {
      $type: "object",
      class: typeof name === "string" && name ? name : "(anonymous class)",
      value: own,
    };
  };

  const describeError = (error: Error, depth: number): Json => {
    const fields = error as Error & { code?: unknown; phase?: unknown; pluginId?: unknown };
    const result: { [key: string]: Json } = {
      $type: "error",
      name: text(String(readField(error, "name") ?? "Error"), limits.maxStringLength),
      message: text(String(readField(error, "message") ?? ""), limits.maxStringLength),
    };
    for (const key of ["code", "phase", "pluginId"] as const) {
      const field = readField(fields, key);
      if (typeof field === "string" || typeof field === "number")
        result[key] = text(String(field), limits.maxStringLength);
    }
    const stack = readField(error, "stack");
    if (typeof stack === "string") result.stack = text(stack, limits.maxStackLength);
    const errors = readField(error, "errors");
    if (Array.isArray(errors)) result.errors = list(errors, depth);
    const cause = readField(error, "cause");
    if (cause !== undefined) result.cause = visit(cause, depth + 1);
    return result;
  };

  return visit(value, 0);
}

/** True for a key whose value must not be shown; null, booleans and numbers say nothing secret and stay. */
function isSecretKey(key: string, value: unknown): boolean {
  if (!SECRET_KEY.test(key)) return false;
  return !(value === null || value === undefined || typeof value === "boolean" || typeof value === "number");
}

/** Own enumerable string-keyed properties; a throwing getter becomes a description of its error. */
function* readableEntries(object: object): Iterable<[string, unknown]> {
  for (const key of Object.keys(object)) {
    let item: unknown;
    try {
      item = (object as Record<string, unknown>)[key];
    } catch (error) {
      item = { $type: "unreadable", message: messageOf(error) };
    }
    yield [key, item];
  }
}

function readField(object: object, key: string): unknown {
  try {
    return (object as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** XState actor references are live objects with a system behind them: only their identity is useful. */
function isActorRef(object: object): object is { sessionId: unknown } {
  const candidate = object as { sessionId?: unknown; send?: unknown; getSnapshot?: unknown };
  return (
    typeof candidate.sessionId === "string" &&
    typeof candidate.send === "function" &&
    typeof candidate.getSnapshot === "function"
  );
}

function stringOrNull(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return "(unprintable error)";
  }
}
