// `hangar validate`: discovers plugins, loads each background module and checks dependsOn, without starting anything.

import path from "node:path";
import { errorMessage, HangarError, messageOf } from "../errors.js";
import { analyseDependencies } from "../manifest/dependency-graph.js";
import { discoverPlugins } from "../manifest/discover.js";
import { manifestWarnings } from "../manifest/schema.js";
import { uiEntryReport } from "../manifest/ui-entry.js";
import { loadPlugin } from "./load-plugin.js";
import { firstFrameInFolder } from "./plugin-frame.js";

/** One problem found in a plugin. */
export interface ValidationProblem {
  /** A `HANGAR_*` error code. */
  code: string;
  /** Names the plugin, what is wrong and the fix. */
  message: string;
  /**
   * For an error thrown by the plugin's code (say, a helper its module imports): the first stack frame in
   * the plugin's folder, relative to it, as `background/helpers.ts:3:14`. Absent otherwise.
   */
  at?: string;
}

/** The verdict on one plugin folder. */
export interface ValidationReport {
  /** Absolute path of the plugin folder. */
  folder: string;
  /** The id the shell would list it under. */
  id: string;
  /** True when the plugin has no problem. */
  ok: boolean;
  problems: ValidationProblem[];
  /** Worth a look, but not a reason to fail: a misspelt manifest key, a dependency outside the checked folders. */
  warnings: ValidationProblem[];
}

// Validation imports each module once; the generation only has to differ from none the process uses yet.
const VALIDATION_GENERATION = 0;

/**
 * Checks every plugin under `paths` as the shell would load it: the manifest, the entry module's path, an
 * import of the module (its top-level code runs; onStart does not) and its exports, the UI module's file
 * (`ui.entry`, SPEC §13), then dependsOn (missing ids and cycles among the plugins with a background
 * module). Reports come in discovery order.
 *
 * @throws HangarError `HANGAR_SHELL_OPTIONS` when a path does not exist.
 */
export async function validatePlugins(paths: readonly string[]): Promise<ValidationReport[]> {
  const discovered = await discoverPlugins(paths);
  const givenDirectly = new Set(paths.map((given) => path.resolve(given)));
  const reports = await Promise.all(
    discovered.map(async (plugin): Promise<ValidationReport> => {
      const problems: ValidationProblem[] = [];
      const warnings: ValidationProblem[] = plugin.manifest
        ? manifestWarnings(plugin.manifest).map((message) => ({
            code: "HANGAR_MANIFEST_INVALID",
            message: errorMessage("HANGAR_MANIFEST_INVALID", "warning", {
              pluginId: plugin.id,
              problem: message,
            }),
          }))
        : [];
      if (plugin.error !== null) {
        problems.push({ code: plugin.error.code, message: plugin.error.message });
      } else if (plugin.manifest?.background !== undefined) {
        try {
          await loadPlugin(plugin.folder, { generation: VALIDATION_GENERATION });
        } catch (error) {
          const problem: ValidationProblem =
            error instanceof HangarError
              ? { code: error.code, message: error.message }
              : {
                  code: "HANGAR_LOAD_FAILED",
                  message: errorMessage("HANGAR_LOAD_FAILED", "other", {
                    pluginId: plugin.id,
                    reason: messageOf(error),
                  }),
                };
          const at = firstFrameInFolder(error, plugin.folder);
          if (at !== null) problem.at = at;
          problems.push(problem);
        }
      }
      // ui.entry (SPEC §13): a bad path or a missing file is an error, a source file a warning (ui-entry.ts).
      const ui = plugin.manifest
        ? await uiEntryReport(plugin.id, plugin.folder, (plugin.manifest as { ui?: unknown }).ui)
        : null;
      if (ui !== null)
        (ui.severity === "error" ? problems : warnings).push({ code: ui.code, message: ui.message });
      return { folder: plugin.folder, id: plugin.id, ok: true, problems, warnings };
    }),
  );

  // A plugin whose module failed to import still counts as present here: its own report says what is wrong.
  const runnable = discovered.filter((plugin) => plugin.error === null && plugin.manifest?.background);
  const dependencyProblems = analyseDependencies(
    runnable.map((plugin) => ({ id: plugin.id, dependsOn: plugin.manifest?.dependsOn })),
  );
  for (const report of reports) {
    const problem = dependencyProblems.get(report.id);
    if (problem !== undefined) {
      // A plugin folder checked on its own cannot see its dependencies, which the real shell may well have:
      // a warning. Within a folder of plugins, a missing one, a cycle or a broken one is a problem.
      const unseen = problem.code === "HANGAR_DEPENDENCY_MISSING" && givenDirectly.has(report.folder);
      const entry = unseen
        ? {
            code: problem.code,
            message: `${problem.message} (not among the folders checked: pass its folder too, or make sure the shell gets it)`,
          }
        : { code: problem.code, message: problem.message };
      (unseen ? report.warnings : report.problems).push(entry);
    }
    report.ok = report.problems.length === 0;
  }
  return reports;
}
