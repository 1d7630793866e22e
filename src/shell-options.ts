// Validates createShell's options and fills in the defaults of SPEC §4–§5, with errors that name the field.
import path from "node:path";
import * as z from "zod/mini";
import { originOf } from "./base/origin.js";
import { createError, type HangarError } from "./errors.js";
import { nearMiss } from "./manifest/near-miss.js";
import { englishErrors } from "./manifest/zod-messages.js";
import { DEFAULT_BODY_LIMIT } from "./server/body-policy.js";
import { checkSessionToken } from "./server/session-token.js";
import type { ShellOptions } from "./shell.js";

const positiveMs = z.optional(z.number().check(z.int(), z.positive()));

/** Exactly an origin as browsers send it (the one origin validator: src/base/origin.ts), never `*` or `null`. */
const isOrigin = (origin: string): boolean => origin !== "null" && originOf(origin) === origin;

// zod/mini: the same checks and messages as zod's classic API in a twentieth of the code (src/manifest/schema.ts).
const optionsSchema = z.object({
  plugins: z.optional(z.array(z.string().check(z.minLength(1)))),
  dataDir: z.optional(z.string().check(z.minLength(1))),
  server: z.optional(
    z.object({
      host: z.optional(z.string().check(z.minLength(1))),
      port: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(65535))),
      allowedOrigins: z.optional(
        z.array(
          z.string().check(
            z.refine(isOrigin, {
              message:
                "must be an origin such as http://localhost:5173 or app://shell (scheme, host and port only; " +
                "never '*' or 'null')",
            }),
          ),
        ),
      ),
      token: z.optional(z.string()),
      bodyLimit: z.optional(z.number().check(z.int(), z.positive())),
    }),
  ),
  auth: z.optional(
    z.custom<{ init: unknown }>((v) => typeof (v as { init?: unknown })?.init === "function", {
      message: "must be an object with an init() function",
    }),
  ),
  ipc: z.optional(
    z.custom(
      (v) =>
        ["handle", "removeHandler", "send"].every(
          (k) => typeof (v as Record<string, unknown>)?.[k] === "function",
        ),
      {
        message: "must implement handle, removeHandler and send",
      },
    ),
  ),
  config: z.optional(
    z.custom(
      (v) => ["store", "flush"].every((k) => typeof (v as Record<string, unknown>)?.[k] === "function"),
      {
        message: "must implement store and flush",
      },
    ),
  ),
  timeouts: z.optional(
    z.object({
      load: positiveMs,
      start: positiveMs,
      stop: positiveMs,
      resume: positiveMs,
      auth: positiveMs,
      shutdown: positiveMs,
      unresponsive: positiveMs,
    }),
  ),
  isolation: z.optional(z.enum(["none", "worker"])),
  isolationHost: z.optional(
    z.custom((v) => typeof (v as { spawn?: unknown })?.spawn === "function", {
      message: "must be an isolation host, such as utilityProcessHost(utilityProcess) from hangar/electron",
    }),
  ),
  inspect: z.optional(z.unknown()),
  shellPage: z.optional(z.boolean()),
  containProcessErrors: z.optional(z.boolean()),
  log: z.optional(
    z.object({
      format: z.optional(z.enum(["pretty", "json"])),
      level: z.optional(z.enum(["debug", "info", "warn", "error", "silent"])),
      destination: z.optional(z.custom((v) => typeof (v as { write?: unknown })?.write === "function")),
    }),
  ),
});

export const defaultTimeouts = {
  load: 10_000,
  start: 10_000,
  stop: 5_000,
  resume: 10_000,
  auth: 10_000,
  shutdown: 15_000,
  unresponsive: 5_000,
};

/** Option names createShell reads, per level, for a did-you-mean on a misspelt one (`plugin`, `allowedOrigin`). */
const KNOWN_OPTIONS: Record<string, readonly string[]> = {
  "": [...Object.keys(optionsSchema.shape), "inspector", "containProcessErrors", "isolation"],
  server: ["host", "port", "allowedOrigins", "token", "bodyLimit"],
  timeouts: ["load", "start", "stop", "resume", "auth", "shutdown", "unresponsive"],
  log: ["format", "level", "destination", "secrets"],
};

/** A HANGAR_SHELL_OPTIONS error for the first option name one edit away from a known one. */
function misspeltOption(options: ShellOptions): HangarError | null {
  for (const [level, known] of Object.entries(KNOWN_OPTIONS)) {
    const value = level === "" ? options : (options as Record<string, unknown>)[level];
    if (typeof value !== "object" || value === null) continue;
    for (const key of Object.keys(value)) {
      const match = nearMiss(key, known);
      if (match === undefined) continue;
      const where = level === "" ? "" : `${level}.`;
      return createError("HANGAR_SHELL_OPTIONS", "unknownOption", {
        option: `${where}${key}`,
        suggestion: `${where}${match}`,
      });
    }
  }
  return null;
}

/** createShell's options with every default applied. */
export function parseShellOptions(options: ShellOptions) {
  const misspelt = misspeltOption(options);
  if (misspelt) throw misspelt;
  const parsed = optionsSchema.safeParse(options, { error: englishErrors });
  if (!parsed.success) {
    throw createError("HANGAR_SHELL_OPTIONS", "invalid", { issues: z.prettifyError(parsed.error) });
  }
  const timeouts = { ...defaultTimeouts, ...options.timeouts };
  return {
    plugins: (options.plugins ?? ["./plugins"]).map((dir) => path.resolve(dir)),
    dataDir: path.resolve(options.dataDir ?? "./.hangar"),
    server: {
      host: options.server?.host ?? "127.0.0.1",
      port: options.server?.port ?? 2066,
      allowedOrigins: options.server?.allowedOrigins ?? [],
      token: options.server?.token === undefined ? null : checkSessionToken(options.server.token),
      bodyLimit: options.server?.bodyLimit ?? DEFAULT_BODY_LIMIT,
    },
    auth: options.auth ?? { init: async () => ({ token: null }) },
    pluginTimeouts: {
      load: timeouts.load,
      start: timeouts.start,
      stop: timeouts.stop,
      resume: timeouts.resume,
    },
    authTimeout: timeouts.auth,
    shutdownTimeout: timeouts.shutdown,
    /** How long an isolated plugin's event loop may stay silent before its worker is ended (SPEC §12). */
    unresponsiveTimeout: timeouts.unresponsive,
    /** Where plugins run unless their plugin.json says otherwise (SPEC §12). */
    isolation: options.isolation ?? "none",
    /** Where isolated plugins run; undefined: worker threads. */
    isolationHost: options.isolationHost,
    /** In-flight HTTP requests get this long to finish once plugins have stopped. */
    closeGraceMs: Math.min(5_000, Math.max(100, Math.floor(timeouts.shutdown / 3))),
    log: options.log ?? {},
    containProcessErrors: options.containProcessErrors ?? true,
  };
}
