// `hangar validate`: checks plugin manifests and module contracts without starting anything.
import { relative } from "node:path";
import { validatePlugins } from "../actors/validate-plugins.js";
import { type ExitCode, ExitCodes, type Output } from "./output.js";

/** Validates every plugin under `dirs`; resolves with 1 when any fails (or none is found), else 0. */
export async function validateCommand(dirs: string[], output: Output): Promise<ExitCode> {
  const results = await validatePlugins(dirs);
  const failed = results.filter((result) => !result.ok).length;
  const ok = results.length > 0 && failed === 0;

  if (output.json) {
    output.event("validate", { ok, plugins: results }, "");
    return ok ? ExitCodes.ok : ExitCodes.failure;
  }

  const lines: string[] = [];
  const idWidth = Math.max(0, ...results.map((result) => result.id.length));
  for (const result of results) {
    // Relative to where the command runs, unless that means climbing out of it (../../../tmp/x).
    const shown = relative(process.cwd(), result.folder) || ".";
    const folder = shown.startsWith("..") ? result.folder : shown;
    lines.push(`${result.ok ? "✓" : "✗"} ${result.id.padEnd(idWidth)}  ${folder}`);
    for (const problem of result.problems) {
      // Indent every line of a multi-line message under its plugin.
      lines.push(`    ${problem.code}: ${problem.message.replaceAll("\n", "\n    ")}`);
      if (problem.at) lines.push(`      at ${problem.at}`);
    }
    for (const warning of result.warnings) {
      lines.push(`    warning ${warning.code}: ${warning.message.replaceAll("\n", "\n    ")}`);
    }
  }
  if (results.length === 0) lines.push(`No plugins found in ${dirs.join(", ")}.`);
  else if (failed === 0)
    lines.push(
      results.length === 1 ? "\nThe plugin is valid." : `\nAll ${results.length} plugins are valid.`,
    );
  else lines.push(`\n${failed} of ${results.length} plugins have problems.`);
  output.event("validate", {}, lines.join("\n"));
  return ok ? ExitCodes.ok : ExitCodes.failure;
}
