// The seam between a plugin context's `server.registerRouter` and the shell's per-request dispatcher.
import type { Disposable } from "../base/disposable.js";
import type { PluginRouter } from "../sdk/types.js";

export interface RouteRegistry {
  /**
   * Mounts `router` at `path` for `pluginId`. Throws `HANGAR_ROUTE_NAMESPACE` when `path` is not
   * `/api/{pluginId}` or below it. Disposing the result unmounts it: the next request no longer sees it.
   */
  register(pluginId: string, path: string, router: PluginRouter): Disposable;
}
