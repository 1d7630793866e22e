// `mkdir -p` that always ends. Node 20's `mkdir(dir, { recursive: true })` (sync and async alike) walks back to a
// parent on ENOENT and forward again when that parent exists; where the kernel answers ENOENT for a child of a
// folder that exists (procfs and sysfs, a dangling symbolic link), the walk never stops: 100 % CPU, and a promise
// that never settles (`hangar run --data-dir /proc/x` hung so, 2026-11-30). Here, once a parent exists, the
// child's ENOENT is final and thrown as it is.
import fs from "node:fs";
import path from "node:path";

/**
 * Creates `dir` and any missing parents. Resolves with the first folder it created (the outermost), or undefined
 * when `dir` already existed — what `fs.mkdir(dir, { recursive: true })` resolves with.
 * @throws the fs error of the folder that could not be made (ENOENT, EACCES, EROFS, ENOTDIR; EEXIST when `dir` is
 *   a file), with its `path`.
 */
export async function makeDirectory(dir: string): Promise<string | undefined> {
  const folder = path.resolve(dir);
  try {
    await fs.promises.mkdir(folder);
    return folder;
  } catch (error) {
    if (isCode(error, "EEXIST")) return existingFolder(folder, error);
    const parent = path.dirname(folder);
    if (!isCode(error, "ENOENT") || parent === folder) throw error;
    const created = await makeDirectory(parent);
    try {
      await fs.promises.mkdir(folder);
      return created ?? folder;
    } catch (again) {
      if (isCode(again, "EEXIST")) return existingFolder(folder, again, created);
      throw again;
    }
  }
}

/** {@link makeDirectory}, blocking: for start-up paths and files written before the process exits. */
export function makeDirectorySync(dir: string): string | undefined {
  const folder = path.resolve(dir);
  try {
    fs.mkdirSync(folder);
    return folder;
  } catch (error) {
    if (isCode(error, "EEXIST")) return existingFolderSync(folder, error);
    const parent = path.dirname(folder);
    if (!isCode(error, "ENOENT") || parent === folder) throw error;
    const created = makeDirectorySync(parent);
    try {
      fs.mkdirSync(folder);
      return created ?? folder;
    } catch (again) {
      if (isCode(again, "EEXIST")) return existingFolderSync(folder, again, created);
      throw again;
    }
  }
}

async function existingFolder(folder: string, error: unknown, created?: string): Promise<string | undefined> {
  if ((await fs.promises.stat(folder)).isDirectory()) return created;
  throw error;
}

function existingFolderSync(folder: string, error: unknown, created?: string): string | undefined {
  if (fs.statSync(folder).isDirectory()) return created;
  throw error;
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === code;
}
