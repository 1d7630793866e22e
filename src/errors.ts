// Every error hangar raises: a stable `HANGAR_*` code and a sentence naming the plugin, the phase and the fix.
// docs/errors.md documents each code; keep the two in step.

/** All error codes hangar raises. Public: users match on them. */
export const ErrorCodes = {
  // manifest and loading (phase `load`)
  HANGAR_MANIFEST_UNREADABLE: "plugin.json is missing or is not valid JSON",
  HANGAR_MANIFEST_INVALID: "plugin.json does not match the schema",
  HANGAR_MANIFEST_DUPLICATE_ID: "two plugin folders declare the same id",
  HANGAR_ENTRY_OUTSIDE_PLUGIN: "background.entryModule resolves outside the plugin folder",
  HANGAR_ENTRY_NOT_FOUND: "background.entryModule does not exist",
  HANGAR_MODULE_IMPORT: "the entry module threw or failed to compile while being imported",
  HANGAR_MODULE_CONTRACT: "the entry module does not export onStart/onStop functions",
  HANGAR_LOAD_FAILED: "loading failed for another reason",
  HANGAR_LOAD_TIMEOUT: "importing the entry module did not settle within the load timeout",
  // dependencies (phase `dependency`)
  HANGAR_DEPENDENCY_MISSING: "dependsOn names a plugin that does not exist or has no background module",
  HANGAR_DEPENDENCY_FAILED: "a plugin named in dependsOn is not running",
  HANGAR_DEPENDENCY_CYCLE: "dependsOn forms a cycle",
  // lifecycle phases
  HANGAR_START_FAILED: "onStart threw or rejected",
  HANGAR_START_TIMEOUT: "onStart did not settle within the start timeout",
  HANGAR_STOP_FAILED: "onStop threw or rejected",
  HANGAR_STOP_TIMEOUT: "onStop did not settle within the stop timeout",
  HANGAR_RESUME_FAILED: "onResume threw or rejected",
  HANGAR_RESUME_TIMEOUT: "onResume did not settle within the resume timeout",
  HANGAR_SHUTDOWN_TIMEOUT: "the whole shutdown exceeded its budget",
  // supervision and containment (phase `run`, SPEC §11–§12)
  HANGAR_PLUGIN_CRASHED: "the plugin's code threw or rejected outside any hook, or its worker died",
  HANGAR_PLUGIN_UNRESPONSIVE:
    "an isolated plugin's event loop did not answer within the unresponsive timeout",
  HANGAR_PROCESS_EXIT: "plugin code called process.exit(); it was refused",
  HANGAR_RESTART_LIMIT: "the plugin crashed more often than its restart policy allows",
  // context services
  HANGAR_CONTEXT_DISPOSED: "a registration was attempted on a disposed plugin context",
  HANGAR_ROUTE_NAMESPACE: "a router was registered outside /api/{pluginId}",
  HANGAR_IPC_CHANNEL: "an IPC channel name is empty or malformed",
  HANGAR_IPC_UNCLONEABLE: "an IPC payload cannot be structured-cloned",
  HANGAR_IPC_SENDER: "an IPC invoke came from a renderer frame whose origin is not allowed",
  HANGAR_CONFIG_KEY: "a config key is empty or reserved",
  HANGAR_CONFIG_VALUE: "a config value is not plain JSON data",
  HANGAR_CONFIG_CORRUPT: "a config file could not be parsed and was moved aside",
  HANGAR_CONFIG_READ: "a config file exists but could not be read (permissions, I/O error)",
  HANGAR_CONFIG_WRITE: "a config file could not be written",
  // shell
  HANGAR_PORT_IN_USE: "the server port is taken by another process",
  HANGAR_SERVER_LISTEN: "the server could not listen for another reason",
  HANGAR_AUTH_FAILED: "the auth provider threw; the shell continues unauthenticated",
  HANGAR_AUTH_TIMEOUT: "the auth provider did not answer in time; the shell continues unauthenticated",
  HANGAR_SHELL_OPTIONS: "createShell was given invalid options",
  HANGAR_SHELL_STATE: "a shell method was called in a state that does not allow it",
  HANGAR_PLUGIN_UNKNOWN: "a shell method or route named a plugin id the shell does not have",
  HANGAR_INTERNAL: "a defect in hangar itself",
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** Lifecycle phases a plugin can fail in (SPEC §4). */
export type PluginPhase = "load" | "dependency" | "start" | "resume" | "stop" | "run";

/** The code used for a failure in a phase when the cause carries no `HANGAR_*` code of its own. */
export const phaseCodes: Record<PluginPhase, ErrorCode> = {
  load: "HANGAR_LOAD_FAILED",
  dependency: "HANGAR_DEPENDENCY_FAILED",
  start: "HANGAR_START_FAILED",
  resume: "HANGAR_RESUME_FAILED",
  stop: "HANGAR_STOP_FAILED",
  run: "HANGAR_PLUGIN_CRASHED",
};

export interface HangarErrorOptions {
  pluginId?: string;
  phase?: PluginPhase;
  cause?: unknown;
}

/** An error with a stable code. `message` is a full sentence that says what to do. */
export class HangarError extends Error {
  readonly code: ErrorCode;
  readonly pluginId: string | undefined;
  readonly phase: PluginPhase | undefined;

  constructor(code: ErrorCode, message: string, options: HangarErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HangarError";
    this.code = code;
    this.pluginId = options.pluginId;
    this.phase = options.phase;
  }
}

/** True when `value` carries one of hangar's codes (a HangarError, or an error that crossed a boundary). */
export function hasHangarCode(value: unknown): value is { code: ErrorCode; message: string } {
  if (typeof value !== "object" || value === null) return false;
  const code = (value as { code?: unknown }).code;
  return typeof code === "string" && Object.hasOwn(ErrorCodes, code);
}

/** The message of anything thrown, without assuming it is an Error. */
export function messageOf(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
