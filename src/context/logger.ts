// The shell's logger on pino: per-plugin loggers tagged with the plugin id, human or JSON lines, secrets redacted.
import { type DestinationStream, pino } from "pino";
import { redactSecrets } from "../base/redact.js";
import type { PluginLogger } from "../sdk/types.js";
import { describeThrown, safeThrown } from "../thrown.js";

/** How records are written: `pretty` for people (one line each, `[plugin-id]` prefix), `json` for machines. */
export type LogFormat = "pretty" | "json";

/** The lowest level written; `silent` writes nothing. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** Where log lines go. Writes must be synchronous so that nothing is lost when the process exits. */
export interface LogDestination {
  write(chunk: string): unknown;
  /** Set when the destination is a terminal; colours are used only then. */
  readonly isTTY?: boolean;
}

export interface LogOptions {
  /** Default `pretty`. */
  format?: LogFormat;
  /** Default `info`. */
  level?: LogLevel;
  /** Default: a synchronous writer to process.stdout. */
  destination?: LogDestination;
  /**
   * Strings that must never appear in output, read again for every line (e.g. the live auth token).
   * Each is replaced by `[redacted]`, in its raw and its JSON-escaped form.
   */
  secrets?: () => Iterable<string>;
}

/** Logger for the shell itself. `data` fields are merged into the record; a `pluginId` field tags it like a plugin's. */
export interface ShellLogger {
  debug(message: string, data?: Record<string, unknown>): void;
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** The shell's logging: one pino instance, one logger per plugin, one for the shell. */
export interface HangarLogger {
  /** A logger whose records carry `pluginId` and `tag`; frozen, so a plugin cannot replace its methods. */
  forPlugin(pluginId: string): PluginLogger;
  readonly shell: ShellLogger;
  /** Writes out anything the destination buffers. */
  flush(): void;
}

const levels = ["debug", "info", "warn", "error"] as const;
type Method = (typeof levels)[number];

/** Creates the shell's logger. Every line passes through secret redaction just before it is written. */
export function createLogger(options: LogOptions = {}): HangarLogger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  const isTTY = options.destination ? options.destination.isTTY === true : process.stdout.isTTY === true;
  const colors = isTTY && !process.env.NO_COLOR;
  const format = options.format ?? "pretty";
  const secrets = options.secrets ?? (() => []);

  // pino hands us its serialised JSON line; we (optionally) prettify it, then redact, then write.
  const stream: DestinationStream = {
    write(line: string) {
      const out = format === "pretty" ? formatPretty(line, colors) : line;
      destination.write(redact(out, secrets));
    },
  };
  // Errors in records are serialised by serializeFields/serializeErrors below; pino's default `err` serializer
  // would serialise that result again and call its type "Object".
  const root = pino(
    { level: options.level ?? "info", base: undefined, serializers: { err: (value: unknown) => value } },
    stream,
  );

  const shell = Object.freeze(
    Object.fromEntries(
      levels.map((level) => [
        level,
        (message: string, data?: Record<string, unknown>) => {
          if (!root.isLevelEnabled(level)) return;
          root[level](data === undefined ? {} : serializeFields(data), String(message));
        },
      ]),
    ) as Record<Method, ShellLogger[Method]>,
  );

  return Object.freeze({
    forPlugin(pluginId: string): PluginLogger {
      return Object.freeze(
        Object.fromEntries(
          levels.map((level) => [
            level,
            (tag: string, message: string, ...data: unknown[]) => {
              if (!root.isLevelEnabled(level)) return;
              const record: Record<string, unknown> = { pluginId, tag: String(tag) };
              if (data.length > 0) record.data = serializeErrors(data);
              root[level](record, String(message));
            },
          ]),
        ) as Record<Method, PluginLogger[Method]>,
      );
    },
    shell,
    flush() {
      const target = destination as { flushSync?: () => void };
      if (typeof target.flushSync === "function") target.flushSync();
    },
  });
}

function serializeFields(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) out[key] = serializeErrors(value);
  return out;
}

/**
 * Replaces every Error inside plain objects and arrays with pino's serialised form (type, message, stack,
 * causes), since JSON.stringify would turn it into `{}`. Other values are left for pino's safe stringify.
 */
function serializeErrors(value: unknown, seen: Set<object> = new Set()): unknown {
  if (typeof value !== "object" || value === null || seen.has(value)) return value;
  // A logged value may be anything a plugin threw: one that throws when read (a Proxy, a getter, a cause) is
  // logged as what can be read of it, and a megabytes-long message is cut (src/base/thrown.ts).
  try {
    return serializeReadable(value, seen);
  } catch {
    const { name, message, stack } = describeThrown(value);
    return { type: name, message, stack: stack ?? `${name}: ${message}` };
  }
}

function serializeReadable(value: object, seen: Set<object>): unknown {
  if (value instanceof Error) {
    // The error itself, or its copy when reading it throws or it is too long.
    return pino.stdSerializers.err(safeThrown(value) as Error);
  }
  if (Array.isArray(value)) {
    seen.add(value);
    const copy = value.map((item) => serializeErrors(item, seen));
    seen.delete(value);
    return copy;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  seen.add(value);
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    Object.defineProperty(copy, key, {
      value: serializeErrors(item, seen),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  seen.delete(value);
  return copy;
}

/** The line with every secret redacted (src/base/redact.ts), or a notice when the secrets cannot be read. */
function redact(line: string, secrets: () => Iterable<string>): string {
  let list: Iterable<string>;
  try {
    list = [...secrets()];
  } catch {
    // Without the secrets we cannot know what to hide: write that a line was dropped, not the line.
    return `${JSON.stringify({ level: 50, time: Date.now(), msg: "log line dropped: the secrets callback threw" })}\n`;
  }
  return redactSecrets(line, list);
}

// Plain ANSI foreground codes: we decide about colour ourselves (util.styleText would consult process.stdout).
const ansi = { gray: 90, blue: 34, green: 32, yellow: 33, red: 31, cyan: 36 } as const;
type Color = keyof typeof ansi;

const levelNames: Record<number, { label: string; color: Color }> = {
  10: { label: "TRACE", color: "gray" },
  20: { label: "DEBUG", color: "blue" },
  30: { label: "INFO", color: "green" },
  40: { label: "WARN", color: "yellow" },
  50: { label: "ERROR", color: "red" },
  60: { label: "FATAL", color: "red" },
};

interface SerializedErrorLike {
  type: string;
  message: string;
  stack: string;
  [key: string]: unknown;
}

function isSerializedError(value: unknown): value is SerializedErrorLike {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.type === "string" && typeof v.message === "string" && typeof v.stack === "string";
}

/**
 * One line per record: `12:00:01.123 INFO  [plugin-id] Tag: message data…`. An Error's stack follows on
 * indented lines, because a stack squeezed onto one line cannot be read.
 */
function formatPretty(line: string, colors: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const paint = (color: Color, text: string) => (colors ? `\u001b[${ansi[color]}m${text}\u001b[39m` : text);
  const { level, time, msg, pluginId, tag, data, ...fields } = record;
  const levelInfo = levelNames[typeof level === "number" ? level : 30] ?? {
    label: String(level),
    color: "gray",
  };

  const parts: string[] = [paint("gray", formatTime(typeof time === "number" ? time : Date.now()))];
  parts.push(paint(levelInfo.color, levelInfo.label.padEnd(5)));
  if (typeof pluginId === "string") parts.push(paint("cyan", `[${pluginId}]`));
  const tagText = typeof tag === "string" && tag.length > 0 ? `${tag}: ` : "";
  parts.push(`${tagText}${typeof msg === "string" ? msg : ""}`);

  const errors: SerializedErrorLike[] = [];
  const shown = (value: unknown): string | undefined => {
    if (isSerializedError(value)) {
      errors.push(value);
      return undefined;
    }
    return typeof value === "string" ? value : safeJson(value);
  };
  if (Array.isArray(data)) {
    for (const item of data) {
      const text = shown(item);
      if (text !== undefined) parts.push(text);
    }
  } else if (data !== undefined) {
    fields.data = data;
  }
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (isSerializedError(value)) errors.push(value);
    else rest[key] = value;
  }
  if (Object.keys(rest).length > 0) parts.push(safeJson(rest));

  let out = parts.join(" ");
  for (const error of errors) {
    const { type: _type, message: _message, stack, ...extra } = error;
    out += `\n${indent(stack)}`;
    if (Object.keys(extra).length > 0) out += `\n${indent(safeJson(extra))}`;
  }
  return `${out}\n`;
}

function formatTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
