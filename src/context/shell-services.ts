// The shell's own services, which every plugin context is made of: auth and the secrets it must never show,
// logging, IPC, config (its writes told to the plugin's UIs) and the one store that releases what the shell opens.
import { AsyncDisposableStore } from "../base/disposable.js";
import { createSecretRegistry } from "../base/redact.js";
import { messageOf } from "../errors.js";
import { createMemoryIpc } from "../ipc/memory.js";
import type { IpcTransport } from "../ipc/transport.js";
import { configEventChannel } from "../ipc/ui-protocol.js";
import { createAuthState } from "./auth-state.js";
import type { ConfigBackend } from "./config-backend.js";
import { createConfigFeed } from "./config-feed.js";
import { createFileConfigBackend } from "./config-file.js";
import { createLogger, type LogOptions } from "./logger.js";
import { registerUiChannels } from "./ui-channels.js";

/** What the services are made from: createShell's options, resolved. */
export interface ShellServiceOptions {
  /** `server.token`, or null: a secret from the start. */
  serverToken: string | null;
  log: LogOptions;
  /** The host's transport; default in-memory. */
  ipc: IpcTransport | undefined;
  /** The host's config backend; default JSON files under `<dataDir>/config`. */
  config: ConfigBackend | undefined;
  dataDir: string;
  /** Whether the shell has plugin `id` (UI channels refuse others). */
  isKnownPlugin(pluginId: string): boolean;
  /** A config problem of plugin `id` (a corrupt file set aside), shown in its status besides the log. */
  onConfigWarning(pluginId: string, message: string): void;
}

/** Creates the shell's services; their UI channels are released with the shell's resources. */
export function createShellServices(options: ShellServiceOptions) {
  const auth = createAuthState(null);
  // Every token held this run (each auth token, current or earlier, and the server's) never leaves the shell:
  // not in a log line, a status, the CLI's output, the inspector or an exported session.
  const secrets = createSecretRegistry([options.serverToken]);
  const setToken = (token: string | null): void => {
    secrets.add(token);
    auth.set(token);
  };
  const logger = createLogger({ ...options.log, secrets: secrets.list });
  const log = logger.shell;
  const ipc = options.ipc ?? createMemoryIpc();
  const storedConfig =
    options.config ??
    createFileConfigBackend({
      dataDir: options.dataDir,
      onWarning: (pluginId, message) => {
        logger.forPlugin(pluginId).warn("config", message);
        options.onConfigWarning(pluginId, message);
      },
    });
  // Everything the shell opens (the data-folder lock, the server, the IPC bridge, the inspector's feeds) is
  // released by this one store, newest first, on every way out: shutdown, forced release, failed start-up.
  const resources = new AsyncDisposableStore(({ name, error }) =>
    log.error(`Releasing the shell's ${name} failed: ${messageOf(error)}`, { code: "HANGAR_INTERNAL" }),
  );
  // Every config write, the background's or a UI's, goes through the feed, which tells the plugin's UIs.
  const configFeed = createConfigFeed(storedConfig, {
    publish: (change) => {
      try {
        ipc.send(configEventChannel(change.pluginId), change);
      } catch (error) {
        logger
          .forPlugin(change.pluginId)
          .error("config", "telling the UI about a config change failed", error);
      }
    },
  });
  const uiChannels = registerUiChannels(ipc, {
    feed: configFeed,
    isKnownPlugin: options.isKnownPlugin,
    authenticated: () => auth.token() !== null,
    onAuthChange: (listener) => auth.onChange(listener),
  });
  resources.add("UI channels", () => uiChannels.dispose());
  return { auth, secrets, setToken, logger, log, ipc, config: configFeed.backend, resources, uiChannels };
}
