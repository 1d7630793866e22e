// Whether a process still runs, for files and locks that name their owner's pid (config temp files, the data-folder lock).

/**
 * True unless no process has this pid on this machine (ESRCH): this process, one of another user (EPERM) and
 * any doubt count as alive, so nothing of a live owner is ever taken over.
 */
export function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}
