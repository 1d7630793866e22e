// The reserved IPC channels a plugin's UI uses besides the plugin's own (docs/ipc.md, "Channels for plugin UIs"):
// its config snapshot and changes, config writes, and the shell's auth state. No Node imports: browsers read it.

/** Invoke channel for config: `{ op: "snapshot", pluginId }` or `{ op: "set", pluginId, key, value }`. */
export const CONFIG_CHANNEL = "hangar:config";
/** Invoke channel answering `{ authenticated }`, and the event channel the shell pushes it on when it changes. */
export const AUTH_CHANNEL = "hangar:auth";

/** The event channel of one plugin's config changes: `hangar:config:<pluginId>`. */
export function configEventChannel(pluginId: string): string {
  return `${CONFIG_CHANNEL}:${pluginId}`;
}

/** A JSON value as config stores hold them. */
export type ConfigJson = string | number | boolean | null | ConfigJson[] | { [key: string]: ConfigJson };

/** What a UI asks on {@link CONFIG_CHANNEL}. */
export type ConfigRequest =
  | { op: "snapshot"; pluginId: string }
  | { op: "set"; pluginId: string; key: string; value: unknown };

/**
 * One plugin's whole config at a revision. `epoch` names the shell instance that numbers the revisions: a
 * restarted shell has a new one, and its revisions start again at 0.
 */
export interface ConfigSnapshot {
  pluginId: string;
  epoch: string;
  revision: number;
  values: Record<string, ConfigJson>;
}

/**
 * What the shell pushes on `hangar:config:<pluginId>` after each durable change (revision + 1 each time), and
 * what a `set` answers with: one key set or deleted, or (`kind: "reset"`, after a failed write) every value.
 */
export type ConfigChange =
  | { kind: "set"; pluginId: string; epoch: string; revision: number; key: string; value: ConfigJson }
  | { kind: "delete"; pluginId: string; epoch: string; revision: number; key: string }
  | { kind: "reset"; pluginId: string; epoch: string; revision: number; values: Record<string, ConfigJson> };

/** The shell's auth state as a UI sees it (never the token). */
export interface AuthState {
  authenticated: boolean;
}
