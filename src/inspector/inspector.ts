// The shell's offline inspector (SPEC §9, issue 5 §1): a flight recorder of every actor plus the routes that
// serve the live page at /_hangar/inspect. createShell builds one when `inspector` is set.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type express from "express";
import type { InspectionEvent, Observer } from "xstate";
import { redactSecrets } from "../base/redact.js";
import { createError, type HangarError } from "../errors.js";
import type { WorkerStatus } from "../status.js";
import { createAssetStore } from "./assets.js";
import type { InspectorAction } from "./client/protocol.js";
import { createMachineDiagrams, diagramMachineIds } from "./machine-diagrams.js";
import { createFlightRecorder, type FlightRecorder, type RedactHook } from "./recorder.js";
import { createInspectorRoutes, INSPECTOR_PATH } from "./routes.js";

/** `createShell({ inspector })`: `true` for the defaults, or these options. */
export interface InspectorOptions {
  /**
   * The per-session token the page URL carries. Default: 32 random bytes, base64url, new for every shell.
   * Give one only when something else must know it in advance; at least 16 URL-safe characters.
   */
  token?: string;
  /** Let the page update the shell, restart plugins and send events to actors. Default false: watch only. */
  allowActions?: boolean;
  /**
   * Runs on every context, event payload, output and error before it is recorded, after the built-in
   * redaction (secret-looking keys and the auth token become `[redacted]`). Return what may be shown.
   */
  redact?: RedactHook;
}

/** What the shell gives its inspector. */
export interface InspectorHooks {
  /** Current secret values (the auth token): scrubbed from every recorded string. */
  secrets: () => readonly string[];
  /** Applies an update (`shell.update({ changed })`), for the restart and update actions. */
  update: (changed: string[]) => Promise<void>;
  logger: { warn(message: string, data?: object): void; error(message: string, data?: object): void };
  /**
   * Each isolated plugin's running worker, by plugin id (thread id, heap, heartbeat lag: docs/isolation.md).
   * The page polls it while live: a worker lives outside the actor snapshots the recorder keeps.
   */
  workers?: () => Record<string, WorkerStatus>;
}

/** A shell's inspector. */
export interface ShellInspector {
  /** The recorder's inspection observer: the shell adds it to every actor it creates. */
  readonly observer: Observer<InspectionEvent>;
  /** Routes under /_hangar/inspect, mounted behind the server's Host and CORS checks. */
  readonly router: express.Router;
  readonly recorder: FlightRecorder;
  /** The page's URL, token included, on a server listening at `serverUrl`; null while it is not listening. */
  pageUrl(serverUrl: string | null): string | null;
  /** Ends every live feed: called when the server starts closing, so open pages do not hold it up. */
  closeFeeds(): void;
}

/** URL-safe token characters (RFC 3986 unreserved): the token travels in a query string. */
const TOKEN_SYNTAX = /^[A-Za-z0-9\-._~]{16,}$/;

/**
 * Builds the inspector for `createShell({ inspector })`.
 * @throws HangarError `HANGAR_SHELL_OPTIONS` when the options are malformed.
 */
export function createInspector(options: true | InspectorOptions, hooks: InspectorHooks): ShellInspector {
  const settings = checkOptions(options);
  const token = settings.token ?? randomBytes(32).toString("base64url");
  const recorder = createFlightRecorder({
    machines: diagramMachineIds,
    secrets: () => [...hooks.secrets(), token],
    allowActions: settings.allowActions === true,
    hangarVersion: packageVersion(),
    onError: (error) =>
      hooks.logger.error("The inspector could not record an inspection event", {
        error: error instanceof Error ? error.message : String(error),
      }),
    ...(settings.redact ? { redact: settings.redact } : {}),
  });

  const act = async (action: InspectorAction): Promise<void> => {
    if (action.type === "update") return hooks.update([]);
    const actor = recorder.rootActor(action.actor);
    if (!actor) {
      throw createError("HANGAR_SHELL_STATE", "inspectorActor", { actor: action.actor });
    }
    if (action.type === "restart") {
      if (!actor.id.startsWith("plugin:")) {
        throw createError("HANGAR_SHELL_STATE", "inspectorRestart", { actor: action.actor });
      }
      return hooks.update([actor.id.slice("plugin:".length)]);
    }
    actor.send(action.event);
  };

  const routes = createInspectorRoutes({
    token,
    recorder,
    assets: createAssetStore(),
    diagrams: createMachineDiagrams(),
    allowActions: settings.allowActions === true,
    act,
    logger: hooks.logger,
    redact: (text) => redactSecrets(text, [...hooks.secrets(), token]),
    workers: hooks.workers ?? (() => ({})),
  });

  return {
    observer: recorder.observer,
    router: routes.router,
    recorder,
    pageUrl: (serverUrl) =>
      serverUrl === null ? null : `${serverUrl}${INSPECTOR_PATH}?token=${encodeURIComponent(token)}`,
    closeFeeds: routes.closeFeeds,
  };
}

function checkOptions(options: unknown): InspectorOptions {
  if (options === true) return {};
  const problem = (detail: string): HangarError =>
    createError("HANGAR_SHELL_OPTIONS", "inspector", { problem: detail });
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw problem("it must be true or an object");
  }
  const { token, allowActions, redact, ...rest } = options as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0)
    throw problem(`unknown field${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}`);
  // The value itself is never echoed: it is meant to be a secret.
  if (token !== undefined && (typeof token !== "string" || !TOKEN_SYNTAX.test(token))) {
    throw problem("token must be at least 16 characters from A-Z a-z 0-9 - . _ ~ (it travels in the URL)");
  }
  if (allowActions !== undefined && typeof allowActions !== "boolean")
    throw problem("allowActions must be a boolean");
  if (redact !== undefined && typeof redact !== "function") throw problem("redact must be a function");
  return options as InspectorOptions;
}

/** hangar's own version, shown in the page and in session files; package.json is two levels up from src/ and dist/. */
function packageVersion(): string {
  try {
    const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === "string" ? version : "unknown";
  } catch {
    return "unknown";
  }
}
