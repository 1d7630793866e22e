// Validates createShell's options and fills in the defaults of SPEC §4–§5, with errors that name the field.
import path from "node:path";
import { z } from "zod";
import { originOf } from "./base/origin.js";
import { createError, type HangarError } from "./errors.js";
import { nearMiss } from "./manifest/near-miss.js";
import { DEFAULT_BODY_LIMIT } from "./server/body-policy.js";
import { checkSessionToken } from "./server/session-token.js";
import type { ShellOptions } from "./shell.js";

const positiveMs = z.number().int().positive();

/** Exactly an origin as browsers send it (the one origin validator: src/base/origin.ts), never `*` or `null`. */
const isOrigin = (origin: string): boolean => origin !== "null" && originOf(origin) === origin;

const optionsSchema = z.object({
  plugins: z.array(z.string().min(1)).optional(),
  dataDir: z.string().min(1).optional(),
  server: z
    .object({
      host: z.string().min(1).optional(),
      port: z.number().int().min(0).max(65535).optional(),
      allowedOrigins: z
        .array(
          z.string().refine(isOrigin, {
            message:
              "must be an origin such as http://localhost:5173 or app://shell (scheme, host and port only; " +
              "never '*' or 'null')",
          }),
        )
        .optional(),
      token: z.string().optional(),
      bodyLimit: z.number().int().positive().optional(),
    })
    .optional(),
  auth: z
    .custom<{ init: unknown }>((v) => typeof (v as { init?: unknown })?.init === "function", {
      message: "must be an object with an init() function",
    })
    .optional(),
  ipc: z
    .custom(
      (v) =>
        ["handle", "removeHandler", "send"].every(
          (k) => typeof (v as Record<string, unknown>)?.[k] === "function",
        ),
      {
        message: "must implement handle, removeHandler and send",
      },
    )
    .optional(),
  config: z
    .custom(
      (v) => ["store", "flush"].every((k) => typeof (v as Record<string, unknown>)?.[k] === "function"),
      {
        message: "must implement store and flush",
      },
    )
    .optional(),
  timeouts: z
    .object({
      load: positiveMs.optional(),
      start: positiveMs.optional(),
      stop: positiveMs.optional(),
      resume: positiveMs.optional(),
      auth: positiveMs.optional(),
      shutdown: positiveMs.optional(),
      unresponsive: positiveMs.optional(),
    })
    .optional(),
  isolation: z.enum(["none", "worker"]).optional(),
  isolationHost: z
    .custom((v) => typeof (v as { spawn?: unknown })?.spawn === "function", {
      message: "must be an isolation host, such as utilityProcessHost(utilityProcess) from hangar/electron",
    })
    .optional(),
  inspect: z.unknown().optional(),
  shellPage: z.boolean().optional(),
  containProcessErrors: z.boolean().optional(),
  log: z
    .object({
      format: z.enum(["pretty", "json"]).optional(),
      level: z.enum(["debug", "info", "warn", "error", "silent"]).optional(),
      destination: z.custom((v) => typeof (v as { write?: unknown })?.write === "function").optional(),
    })
    .optional(),
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
  const parsed = optionsSchema.safeParse(options);
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
