// Where in a plugin's own files an error was thrown: the first frame of its stack (or of its causes' stacks)
// that lies inside the plugin's folder, as `background/helpers.ts:3:14`. `hangar validate` shows it, since a
// failed import's message alone ("Unexpected token …") does not say which of the plugin's files threw.
import { realpathSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** `at fn (/abs/file.ts:3:14)` or `at /abs/file.ts:3:14` or `at file:///abs/file.ts:3:14`. */
const FRAME = /^\s*at (?:.*? \()?((?:file:\/\/)?\/[^()]*?|[A-Za-z]:\\[^()]*?):(\d+):(\d+)\)?\s*$/;

/**
 * The first stack frame of `error` (then of its `cause` chain, at most 5 deep) inside `folder`, relative to
 * it with POSIX separators and `:line:column`; null when no frame is in the folder (or there is no stack).
 */
export function firstFrameInFolder(error: unknown, folder: string): string | null {
  const roots = new Set([path.resolve(folder)]);
  try {
    roots.add(realpathSync(folder));
  } catch {
    // A folder that cannot be resolved: its given path is all there is to match.
  }
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    for (const line of (current.stack ?? "").split("\n")) {
      const match = FRAME.exec(line);
      if (!match) continue;
      let file = match[1]!;
      if (file.startsWith("file://")) {
        try {
          file = fileURLToPath(file);
        } catch {
          continue;
        }
      }
      for (const root of roots) {
        const relative = path.relative(root, file);
        if (relative && !relative.startsWith("..") && !path.isAbsolute(relative)) {
          return `${relative.split(path.sep).join("/")}:${match[2]}:${match[3]}`;
        }
      }
    }
    current = current.cause;
  }
  return null;
}
