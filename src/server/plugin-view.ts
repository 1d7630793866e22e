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
   * Resolves with the plugin's status once it is no longer `loading`, `starting` or `resuming`
   * (or `stopping` on its way back to `starting`), or when `timeoutMs` passes, whichever is first.
   */
  waitUntilSettled(pluginId: string, timeoutMs: number): Promise<PluginStatus | undefined>;
}
