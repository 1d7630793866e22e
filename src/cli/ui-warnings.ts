// `hangar run`'s word on plugin UIs: a plugin whose plugin.json `ui.entry` the shell page cannot mount (a bad
// path, a missing file, a source file such as ui/index.tsx) gets a warning in the terminal, in the words of
// `hangar validate`, instead of showing only on the page's card.
import { discoverPlugins } from "../manifest/discover.js";
import { uiEntryReport } from "../manifest/ui-entry.js";
import type { Output } from "./output.js";

/**
 * Prints one `warning` event per plugin in `dirs` with a bad `ui.entry` (the plugin still runs: only its UI is
 * missing from the shell page). Read after start-up, so it never delays the plugins.
 */
export async function warnAboutUiEntries(dirs: readonly string[], output: Output): Promise<void> {
  const plugins = await discoverPlugins(dirs).catch(() => []);
  const reports = await Promise.all(
    plugins.map((plugin) =>
      plugin.manifest
        ? uiEntryReport(plugin.id, plugin.folder, (plugin.manifest as { ui?: unknown }).ui)
        : null,
    ),
  );
  plugins.forEach((plugin, index) => {
    const report = reports[index];
    if (!report) return;
    output.event(
      "warning",
      { plugin: plugin.id, code: report.code, message: report.message },
      `warning ${report.code}: ${report.message} The shell page shows the plugin without its UI.`,
    );
  });
}
