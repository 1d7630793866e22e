// What the HTTP server needs to know about plugins; the shell provides it, so the server imports no machine.
import type { PluginStatus, ShellState } from "../status.js";

export interface PluginView {
  shellState(): ShellState;
  /** Every plugin, in discovery order. */
  list(): PluginStatus[];
  get(pluginId: string): PluginStatus | undefined;
  /**
   * Just the plugin's state (undefined for an unknown id): what the request dispatcher reads per request,
   * without building a whole PluginStatus. Optional; `get(id)?.state` is used when absent.
   */
  stateOf?(pluginId: string): PluginStatus["state"] | undefined;
  /**
   * `POST /api/_shell/plugins/{id}/restart`: shell.restartPlugin. Resolves with the settled status, or
   * undefined for an unknown id; rejects with a HangarError (e.g. HANGAR_SHELL_STATE).
   */
  restart(pluginId: string): Promise<PluginStatus | undefined>;
  /** True while the plugin is on its way to running by itself (the machine's `busy` tag): a request waits. */
  isBusy(pluginId: string): boolean;
  /**
   * Resolves with the plugin's status once it is no longer busy (loading, loaded, starting, resuming,
   * restarting or reloading in an update, waiting to restart after a crash), or when `timeoutMs` passes.
   */
  waitUntilSettled(pluginId: string, timeoutMs: number): Promise<PluginStatus | undefined>;
}
