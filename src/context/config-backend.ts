// The seam between a plugin's config store and where its values live (files under dataDir, or electron-store).
import type { PluginConfigStore } from "../sdk/types.js";

/** Called when a store recovers from a problem the plugin's owner should see (e.g. a corrupt file moved aside). */
export type ConfigWarningListener = (pluginId: string, message: string) => void;

/** Where plugin config lives. One store per plugin id, kept for the life of the backend. */
export interface ConfigBackend {
  /** The store of one plugin; the same object for the same id. Loads lazily on first use. */
  store(pluginId: string): PluginConfigStore;
  /** Resolves when every accepted write is on disk. */
  flush(): Promise<void>;
}
