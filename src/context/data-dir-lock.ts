// The data-folder lock: one shell per dataDir, so two processes never overwrite each other's config files.
// proper-lockfile does the locking (an atomic mkdir, kept fresh by its holder); the pid beside it names the holder.
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { makeDirectory } from "../base/directories.js";
import { isProcessAlive } from "../base/process-alive.js";
import { createError, type HangarError } from "../errors.js";

/** The lock folder inside the data folder; the holder's pid is in `<LOCK_NAME>.pid` beside it. */
export const LOCK_NAME = "hangar.lock";
/** A lock not refreshed for this long is stale (its holder hangs or died on another host). */
const STALE_MS = 10_000;

/** A held lock. `release` is idempotent and never rejects. */
export interface DataDirLock {
  readonly dir: string;
  release(): Promise<void>;
}

export interface DataDirLockOptions {
  /** Told when the lock was taken from under us (its folder removed or refreshed by someone else). */
  onCompromised?: (error: Error) => void;
}

/**
 * Takes the data folder `dir` for this process, creating the folder when needed. A lock whose holder pid no
 * longer runs on this machine is taken over at once; one that was not refreshed for 10 s, too.
 * @throws HangarError `HANGAR_DATA_DIR_LOCKED` naming the folder and the holder's pid when another shell has it;
 *   `HANGAR_FOLDER_UNWRITABLE` when the folder cannot be created or cannot hold the lock.
 */
export async function lockDataDir(dir: string, options: DataDirLockOptions = {}): Promise<DataDirLock> {
  const folder = path.resolve(dir);
  try {
    await makeDirectory(folder);
  } catch (cause) {
    throw unwritable(folder, cause);
  }
  const lockfile = await import("proper-lockfile");
  const lockPath = path.join(folder, LOCK_NAME);
  const pidFile = `${lockPath}.pid`;
  const attempt = () =>
    lockfile.lock(folder, {
      lockfilePath: lockPath,
      realpath: false,
      stale: STALE_MS,
      onCompromised: (error) => options.onCompromised?.(error),
    });

  let unlock: () => Promise<void>;
  try {
    unlock = await attempt();
  } catch (error) {
    // A folder that exists but cannot hold the lock (read-only, /proc, /sys) is as unusable as one not made.
    if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw unwritable(folder, error);
    const holder = await readPid(pidFile);
    if (holder === null || isProcessAlive(holder)) throw lockedError(folder, holder, error);
    // The holder died without releasing (killed, crashed): its lock is ours to take.
    await rm(lockPath, { recursive: true, force: true });
    try {
      unlock = await attempt();
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== "ELOCKED") throw again;
      throw lockedError(folder, await readPid(pidFile), again);
    }
  }
  await writeFile(pidFile, `${process.pid}\n`);

  let released: Promise<void> | null = null;
  return {
    dir: folder,
    release() {
      released ??= (async () => {
        await rm(pidFile, { force: true }).catch(() => {});
        await unlock().catch(() => {});
      })();
      return released;
    },
  };
}

function lockedError(folder: string, pid: number | null, cause: unknown): HangarError {
  const holder = pid === null ? "pid unknown" : `pid ${pid}`;
  return createError("HANGAR_DATA_DIR_LOCKED", { folder, holder }, { cause });
}

async function readPid(file: string): Promise<number | null> {
  try {
    const pid = Number.parseInt(await readFile(file, "utf8"), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** HANGAR_FOLDER_UNWRITABLE for the data folder: it could not be made, or cannot hold the lock. */
function unwritable(folder: string, cause: unknown): HangarError {
  return createError(
    "HANGAR_FOLDER_UNWRITABLE",
    {
      what: "The data folder",
      folder,
      reason: cause instanceof Error ? cause.message : String(cause),
      option: "--data-dir / dataDir",
    },
    { cause },
  );
}
