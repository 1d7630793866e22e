// The shell's side of the reserved UI channels (ui-protocol.ts): answers config snapshots and writes for a
// known plugin, and the auth state, on whichever transport the shell uses (memory, Electron, WebSocket).

import type { Disposable } from "../base/disposable.js";
import { toDisposable } from "../base/disposable.js";
import type { IpcTransport } from "../ipc/transport.js";
import {
  AUTH_CHANNEL,
  type AuthState,
  CONFIG_CHANNEL,
  type ConfigChange,
  type ConfigSnapshot,
} from "../ipc/ui-protocol.js";
import type { ConfigFeed } from "./config-feed.js";

/** What the UI channels need from the shell. */
export interface UiChannelOptions {
  feed: ConfigFeed;
  /** True for an id the shell lists (a folder whose plugin.json was read, running or not). */
  isKnownPlugin(pluginId: string): boolean;
  authenticated(): boolean;
  /** Subscribes to auth changes; returns the unsubscribe function. */
  onAuthChange(listener: () => void): () => void;
}

/**
 * Registers `hangar:config` and `hangar:auth` on `ipc`, and pushes `{ authenticated }` on `hangar:auth` whenever
 * it flips. The Disposable removes both handlers and the auth listener.
 */
export function registerUiChannels(ipc: IpcTransport, options: UiChannelOptions): Disposable {
  const { feed } = options;

  const known = (pluginId: unknown): string => {
    if (typeof pluginId !== "string" || !options.isKnownPlugin(pluginId)) {
      throw new Error(
        `No plugin ${JSON.stringify(pluginId)} in this shell: a UI reads and writes the config of a plugin the ` +
          "shell lists (GET /api/_shell/plugins). Pass its plugin.json id to HangarProvider.",
      );
    }
    return pluginId;
  };

  ipc.handle(CONFIG_CHANNEL, (request: unknown): Promise<ConfigSnapshot | ConfigChange> => {
    const { op, pluginId, key, value } = (request ?? {}) as Record<string, unknown>;
    if (op === "snapshot") return feed.snapshot(known(pluginId));
    if (op === "set") {
      if (typeof key !== "string") {
        throw new TypeError(`config.set(key, value) needs a string key; it was given a ${typeof key}.`);
      }
      return feed.set(known(pluginId), key, value);
    }
    throw new Error(
      `'${CONFIG_CHANNEL}' takes { op: "snapshot", pluginId } or { op: "set", pluginId, key, value }; ` +
        `it was given op ${JSON.stringify(op)}.`,
    );
  });
  ipc.handle(AUTH_CHANNEL, (): AuthState => ({ authenticated: options.authenticated() }));
  let authenticated = options.authenticated();
  const stopWatchingAuth = options.onAuthChange(() => {
    const now = options.authenticated();
    if (now === authenticated) return; // a new token for the same user: nothing a UI shows changes
    authenticated = now;
    ipc.send(AUTH_CHANNEL, { authenticated } satisfies AuthState);
  });

  return toDisposable(() => {
    stopWatchingAuth();
    ipc.removeHandler(CONFIG_CHANNEL);
    ipc.removeHandler(AUTH_CHANNEL);
  });
}
