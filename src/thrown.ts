// Reading a value a plugin threw without ever throwing ourselves: a thrown value may be a Proxy (revoked, or whose
// traps throw), an Error whose `stack`/`message` getter throws, an object whose toString or Symbol.toPrimitive
// throws, or carry a message of megabytes. Everything hangar does with a thrown value in a process handler, a
// failure record or a log line goes through here first (SPEC §11: a process handler that throws is fatal).
// No Node imports: src/errors.ts uses it, and the Electron preload imports src/errors.ts. A Proxy cannot be told
// apart without node:util, so every read runs under try (a trap is plugin code and may throw).

/**
 * The most characters of a plugin-supplied message or stack hangar keeps (in a plugin's status, its log line,
 * /api/_shell/plugins): 16 kB. A longer text is cut and ends "… (N more characters)".
 */
export const MAX_THROWN_TEXT = 16 * 1024;

/** `text` cut to `max` characters, saying how many were left out. */
export function capText(text: string, max = MAX_THROWN_TEXT): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** `read()`, or `{ failed }` with what it threw when it threw (described without reading it again). */
function attempt<T>(read: () => T): { value: T } | { failed: unknown } {
  try {
    return { value: read() };
  } catch (failed) {
    return { failed };
  }
}

/** A one-line name for a value that cannot be read: its type and nothing it could run code for. */
function shapeOf(value: unknown): string {
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** The text of a primitive, never throwing (String() of a symbol works, `${symbol}` does not). */
function primitiveText(value: unknown): string {
  return typeof value === "string" ? value : String(value);
}

/** What a thrown value says about itself, read defensively; `stack` only when it is a readable string. */
export interface ThrownDescription {
  name: string;
  message: string;
  stack?: string;
  /** Why part of the value could not be read (e.g. "reading its stack threw: no stack for you"), if so. */
  unreadable?: string;
}

/**
 * Describes any thrown value without letting anything escape: getters, Proxy traps and JSON/String conversions
 * run under try. Texts are capped at {@link MAX_THROWN_TEXT}.
 */
export function describeThrown(value: unknown): ThrownDescription {
  if (typeof value !== "object" && typeof value !== "function")
    return { name: "Error", message: capText(primitiveText(value)) };
  if (value === null) return { name: "Error", message: "null" };
  const problems: string[] = [];
  /** What the first failed read threw, in words (a trap's own message says where to look). */
  let why = "";
  const field = (key: "name" | "message" | "stack"): unknown => {
    const read = attempt(() => (value as Record<string, unknown>)[key]);
    if ("value" in read) return read.value;
    problems.push(key);
    why ||= reasonOf(read.failed);
    return undefined;
  };
  const isError = attempt(() => value instanceof Error);
  const rawName = field("name");
  const rawMessage = field("message");
  const rawStack = field("stack");
  let message: string;
  // An Error says its message; anything else is shown as JSON (or its String()), as a log would show it.
  if ("value" in isError && isError.value) message = typeof rawMessage === "string" ? rawMessage : "";
  else {
    const json = attempt(() => JSON.stringify(value));
    if ("value" in json && typeof json.value === "string") message = json.value;
    else {
      const text = attempt(() => String(value));
      message =
        "value" in text && typeof text.value === "string" ? text.value : `${shapeOf(value)} was thrown`;
    }
  }
  const description: ThrownDescription = {
    name: typeof rawName === "string" && rawName !== "" ? capText(rawName, 200) : "Error",
    message: capText(message),
  };
  if (typeof rawStack === "string") description.stack = capStack(rawStack, message);
  if (problems.length > 0) description.unreadable = `reading its ${problems.join(", ")} threw: ${why}`;
  return description;
}

/** The message of what a read threw, itself read under try and capped: `proxy trap`, or `it threw again`. */
function reasonOf(failed: unknown): string {
  const text = attempt(() => (failed instanceof Error ? failed.message : String(failed)));
  return "value" in text && typeof text.value === "string" ? capText(text.value, 200) : "it threw again";
}

/** A stack whose first lines repeat a long message: the message part is cut like the message, then the frames. */
function capStack(stack: string, message: string): string {
  if (stack.length <= MAX_THROWN_TEXT) return stack;
  const frames = stack.indexOf("\n    at ");
  if (message.length > MAX_THROWN_TEXT && frames !== -1)
    return `${capText(stack.slice(0, frames))}${capText(stack.slice(frames))}`;
  return capText(stack);
}

/**
 * `value` itself when hangar can read it safely (a primitive, or an object whose name, message and stack read
 * without throwing, none longer than {@link MAX_THROWN_TEXT}); otherwise a plain Error carrying its description,
 * so every later step (attribution, the failure record, the log) reads a well-behaved value. The copy keeps a
 * string or number `code`.
 */
export function safeThrown(value: unknown): unknown {
  if (typeof value === "string") return value.length <= MAX_THROWN_TEXT ? value : capText(value);
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return value;
  const fits = attempt(() => {
    const { name, message, stack } = value as Record<string, unknown>;
    const short = (text: unknown) => typeof text !== "string" || text.length <= MAX_THROWN_TEXT;
    // String(value) is what a log or template would do with a non-Error; it must not throw either.
    return (
      short(name) && short(message) && short(stack) && (value instanceof Error || String(value) !== null)
    );
  });
  if ("value" in fits && fits.value) return value;
  const description = describeThrown(value);
  const copy = new Error(
    description.unreadable ? `${description.message} (${description.unreadable})` : description.message,
  );
  copy.name = description.name;
  copy.stack =
    description.stack ??
    `${description.name}: ${copy.message}\n    (no stack: the thrown value is not an Error, or its stack could not be read)`;
  const code = attempt(() => (value as { code?: unknown }).code);
  if ("value" in code && (typeof code.value === "string" || typeof code.value === "number"))
    Object.assign(copy, { code: code.value });
  return copy;
}

/** The `stack` property of a thrown value when it is a readable string, else undefined; never throws. */
export function stackOf(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const read = attempt(() => (value as { stack?: unknown }).stack);
  return "value" in read && typeof read.value === "string" ? read.value : undefined;
}
