// Reads and validates one plugin folder's plugin.json, and resolves its entry module safely inside the folder.
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { runInSlice } from "../base/time-slice.js";
import { createError, type HangarError, messageOf } from "../errors.js";
import { nearMiss } from "./near-miss.js";
import {
  describeManifestIssues,
  ENTRY_EXTENSIONS,
  type PluginManifest,
  pluginManifestSchema,
} from "./schema.js";

/** The file name hangar looks for in every plugin folder. */
export const MANIFEST_FILE = "plugin.json";

/**
 * Reads `<folder>/plugin.json` and validates it against the schema.
 *
 * @throws HangarError `HANGAR_MANIFEST_UNREADABLE` when the file is missing or is not JSON, and
 *   `HANGAR_MANIFEST_INVALID` when it does not match the schema; both in phase `load`, with `pluginId`
 *   set to the folder's name (the id the plugin is listed under when its manifest fails).
 */
export async function readManifest(folder: string): Promise<PluginManifest> {
  const absolute = path.resolve(folder);
  const file = path.join(absolute, MANIFEST_FILE);
  const options = { pluginId: path.basename(absolute), phase: "load" as const };

  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw missing
      ? createError(
          "HANGAR_MANIFEST_UNREADABLE",
          "missing",
          { folder: absolute, file },
          { ...options, cause: error },
        )
      : createError(
          "HANGAR_MANIFEST_UNREADABLE",
          "unreadable",
          { folder: absolute, file, reason: messageOf(error) },
          { ...options, cause: error },
        );
  }

  // Parsing and validating is the part that costs the thread: when many manifests are read at once (start-up,
  // an update of every plugin) their reads complete in one turn, so each is validated in a time slice.
  return runInSlice(() => parseManifest(text, absolute, file, options));
}

/** plugin.json's text, parsed and validated (see readManifest). */
function parseManifest(
  text: string,
  absolute: string,
  file: string,
  options: { pluginId: string; phase: "load" },
): PluginManifest {
  let json: unknown;
  try {
    // A UTF-8 byte order mark is legal in files saved by some editors; JSON.parse rejects it.
    json = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw createError(
      "HANGAR_MANIFEST_UNREADABLE",
      "notJson",
      { folder: absolute, file, reason: messageOf(error) },
      { ...options, cause: error },
    );
  }

  const parsed = pluginManifestSchema.safeParse(json);
  if (!parsed.success) {
    throw createError(
      "HANGAR_MANIFEST_INVALID",
      "schema",
      { folder: absolute, issues: describeManifestIssues(file, parsed.error) },
      { ...options, cause: parsed.error },
    );
  }
  return parsed.data;
}

/**
 * The absolute real path of the manifest's entry module, checked to lie inside the plugin folder after
 * following every symlink (of the folder and of the entry).
 *
 * @throws HangarError (phase `load`) `HANGAR_ENTRY_OUTSIDE_PLUGIN` for an absolute path, a `..` escape or a
 *   symlink leading out of the folder; `HANGAR_ENTRY_NOT_FOUND` when the file does not exist or is not a
 *   file; `HANGAR_MANIFEST_INVALID` when the manifest has no background section or the real file has an
 *   extension hangar cannot load.
 */
export async function resolveEntryModule(
  folder: string,
  manifest: PluginManifest,
  /** The folder's real path when the caller has just resolved it; resolved here otherwise. */
  knownRealFolder?: string,
): Promise<string> {
  const absoluteFolder = path.resolve(folder);
  const options = { pluginId: manifest.id, phase: "load" as const };
  const plugin = { pluginId: manifest.id, folder: absoluteFolder };
  const entry = manifest.background?.entryModule;
  if (entry === undefined) throw createError("HANGAR_MANIFEST_INVALID", "noEntry", plugin, options);
  const outside = (how: string): HangarError =>
    createError("HANGAR_ENTRY_OUTSIDE_PLUGIN", { ...plugin, entry, how }, options);

  // Both checks run before touching the disk, so an escape is reported as such even when its target is missing.
  if (path.isAbsolute(entry)) throw outside("is an absolute path");
  if (!isInside(absoluteFolder, path.resolve(absoluteFolder, entry))) {
    throw outside("resolves outside the plugin folder");
  }

  const realFolder = knownRealFolder ?? (await realpath(absoluteFolder));
  let realEntry: string;
  try {
    realEntry = await realpath(path.resolve(absoluteFolder, entry));
  } catch (error) {
    const hint = await nearbyFile(absoluteFolder, entry);
    throw createError(
      "HANGAR_ENTRY_NOT_FOUND",
      "missing",
      { ...plugin, entry, reason: messageOf(error), hint },
      { ...options, cause: error },
    );
  }
  if (!isInside(realFolder, realEntry)) {
    throw outside(`is a symlink to ${realEntry}, outside the plugin folder`);
  }
  if (!(await stat(realEntry)).isFile()) {
    throw createError("HANGAR_ENTRY_NOT_FOUND", "notFile", { ...plugin, entry }, options);
  }
  // Node resolves symlinks before choosing a loader, so the real file's extension is the one that counts.
  if (!ENTRY_EXTENSIONS.some((extension) => realEntry.endsWith(extension))) {
    throw createError(
      "HANGAR_MANIFEST_INVALID",
      "extension",
      { ...plugin, entry, realEntry, extensions: ENTRY_EXTENSIONS.join(" ") },
      options,
    );
  }
  return realEntry;
}

/** True when `candidate` lies below `folder` (not the folder itself). Both must be absolute and normalised. */
function isInside(folder: string, candidate: string): boolean {
  const relative = path.relative(folder, candidate);
  return (
    relative !== "" &&
    !relative.startsWith(`..${path.sep}`) &&
    relative !== ".." &&
    !path.isAbsolute(relative)
  );
}

/** ` Did you mean "background/index.ts"?` when a file beside the missing entry is one edit (or an extension) away. */
async function nearbyFile(folder: string, entry: string): Promise<string> {
  const dir = path.dirname(entry);
  const names = await readdir(path.resolve(folder, dir)).catch(() => [] as string[]);
  const wanted = path.basename(entry);
  const stem = (name: string) => name.slice(0, name.length - path.extname(name).length);
  // The same name with a loadable extension (index.js written, index.ts on disk) is the likeliest slip.
  const sameStem = names.filter(
    (name) => stem(name) === stem(wanted) && ENTRY_EXTENSIONS.some((extension) => name.endsWith(extension)),
  );
  const match = sameStem.length === 1 ? sameStem[0] : nearMiss(wanted, names);
  return match === undefined
    ? ""
    : ` Did you mean "${path.posix.join(dir.split(path.sep).join("/"), match)}"?`;
}
