// What the HTTP server sees of the plugins (server/plugin-view.ts), read from the registry: statuses with the
// worker's figures, redacted, and the wait a request makes while its plugin is busy.
import type { SecretRegistry } from "../../base/redact.js";
import type { PluginView } from "../../server/plugin-view.js";
import type { PluginStatus, ShellState } from "../../status.js";
import { isBusy, settled, stateOf, statusOf } from "../plugin-supervisor.js";
import type { PluginRegistry } from "./plugin-runtime.js";

/** What the view needs: the registry, the redactor, the shell's state and shell.restartPlugin. */
export interface PluginViewDeps {
  plugins: PluginRegistry;
  secrets: Pick<SecretRegistry, "redactData">;
  shellState(): ShellState;
  restart(pluginId: string): Promise<PluginStatus>;
}

export function createPluginView(deps: PluginViewDeps): PluginView {
  const { plugins, secrets } = deps;
  /** A status with the plugin's worker, when it has a running one. */
  const withWorker = (status: PluginStatus): PluginStatus => {
    const worker = plugins.runtime(status.id)?.worker?.status();
    return worker ? { ...status, worker } : status;
  };
  return {
    shellState: deps.shellState,
    list: () => secrets.redactData(plugins.statuses().map(withWorker)),
    get: (id) => {
      const actor = plugins.get(id);
      return actor ? secrets.redactData(withWorker(statusOf(actor.getSnapshot()))) : undefined;
    },
    restart: async (id) => (plugins.get(id) ? deps.restart(id) : undefined),
    isBusy: (id) => {
      const actor = plugins.get(id);
      return actor ? isBusy(actor.getSnapshot()) : false;
    },
    stateOf: (id) => {
      const actor = plugins.get(id);
      return actor ? stateOf(actor.getSnapshot()) : undefined;
    },
    async waitUntilSettled(id, timeoutMs) {
      const actor = plugins.get(id);
      if (!actor) return undefined;
      const snapshot = await settled(actor, (s) => !isBusy(s), { timeout: timeoutMs });
      return secrets.redactData(statusOf(snapshot));
    },
  };
}
