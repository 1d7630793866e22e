// A plugin's UI module, plugin.json's `ui.entry` (SPEC §13): the rules the shell page applies before it mounts
// one, and the file check `hangar validate` adds.
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { nearMiss } from "./near-miss.js";

/**
 * A `ui.entry` that the page can serve (`relative`: its path inside the folder, with `/`), or why not.
 * `source` is set when only the extension is wrong (say `ui/index.tsx`): a source file that another shell's
 * bundler may take, but that hangar's shell page cannot import.
 */
export type UiEntryCheck =
  | { entry: string; relative: string }
  | { entry: string; problem: string; source?: boolean };

/**
 * Checks `ui.entry` of the `ui` section of a plugin in `folder` (absolute) without touching the disk: a
 * relative `.js`/`.mjs` path that stays inside the folder. Null when the section has no `entry` (a `ui`
 * section may describe other things, such as a route or an icon).
 */
export function checkUiEntry(folder: string, ui: unknown): UiEntryCheck | null {
  const entry = (ui as { entry?: unknown } | null | undefined)?.entry;
  if (entry === undefined) return null;
  const fail = (problem: string): UiEntryCheck => ({ entry: String(entry), problem });
  if (typeof entry !== "string" || entry.length === 0) return fail("is missing or not a string");
  if (path.isAbsolute(entry) || entry.includes("\\")) return fail(`"${entry}" is not a relative path`);
  const resolved = path.resolve(folder, entry);
  if (!resolved.startsWith(folder + path.sep)) return fail(`"${entry}" leads outside the plugin folder`);
  if (!/\.m?js$/.test(entry)) {
    return { entry, problem: `"${entry}" is not a .js or .mjs module (build the UI first)`, source: true };
  }
  return { entry, relative: path.relative(folder, resolved).split(path.sep).join("/") };
}

/** The message for a `ui.entry` problem: the plugin, the field, and the fix. */
export function uiEntryMessage(pluginId: string, problem: string): string {
  return (
    `Plugin '${pluginId}': plugin.json's ui.entry ${problem}. Point it at the built ES module of the UI ` +
    `inside the plugin folder, e.g. "ui/dist/index.js".`
  );
}

/**
 * The problem with `ui.entry`'s file, or null when it is a file: it does not exist (with a did-you-mean for a
 * file one edit away in the same folder) or is not a file. `entry` is relative and inside the folder
 * ({@link checkUiEntry} found no problem, or only its extension).
 */
export async function uiEntryFileProblem(folder: string, entry: string): Promise<string | null> {
  const file = path.resolve(folder, entry);
  const found = await stat(file).catch(() => null);
  if (found?.isFile()) return null;
  if (found) return `"${entry}" is not a file`;
  const dir = path.posix.dirname(entry);
  const names = await readdir(path.dirname(file)).catch(() => [] as string[]);
  const match = nearMiss(path.basename(entry), names);
  const hint = match === undefined ? "" : ` (did you mean "${path.posix.join(dir, match)}"?)`;
  return `"${entry}" does not exist${hint}: build the UI so that it writes that file, or fix the path`;
}

/** What is wrong with a plugin's `ui.entry`, as `hangar validate` and `hangar run` report it. */
export interface UiEntryReport {
  /** An error stops `hangar validate`; a warning (a source file such as `ui/index.tsx`) does not. */
  severity: "error" | "warning";
  code: "HANGAR_MANIFEST_INVALID" | "HANGAR_ENTRY_NOT_FOUND";
  /** {@link uiEntryMessage}'s sentence: the plugin, the field, the fix. */
  message: string;
}

/**
 * Checks `ui` (plugin.json's `ui` section) of the plugin `pluginId` in `folder` (absolute), the file included:
 * a bad path or a missing file is an error; a source file that exists is a warning, since another shell may
 * bundle it, though hangar's shell page mounts only built modules. Null when there is nothing to say.
 */
export async function uiEntryReport(
  pluginId: string,
  folder: string,
  ui: unknown,
): Promise<UiEntryReport | null> {
  const checked = checkUiEntry(folder, ui);
  if (checked === null) return null;
  if ("problem" in checked && !checked.source) {
    return {
      severity: "error",
      code: "HANGAR_MANIFEST_INVALID",
      message: uiEntryMessage(pluginId, checked.problem),
    };
  }
  const fileProblem = await uiEntryFileProblem(folder, checked.entry);
  if (fileProblem !== null) {
    return {
      severity: "error",
      code: "HANGAR_ENTRY_NOT_FOUND",
      message: uiEntryMessage(pluginId, fileProblem),
    };
  }
  if ("problem" in checked) {
    return {
      severity: "warning",
      code: "HANGAR_MANIFEST_INVALID",
      message: uiEntryMessage(pluginId, checked.problem),
    };
  }
  return null;
}
