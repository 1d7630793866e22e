// The one refusal-log limiter: refused requests (a foreign Host or Origin, a missing token) are worth a log line,
// but a flood of them must not flood the log nor grow memory.

/** Distinct reasons remembered; refusals for reasons beyond these are counted together under `other`. */
export const MAX_REFUSAL_KEYS = 20;

/** Logs a refusal when it is the 1st, 10th, 100th, ... of its kind; returns whether it did. */
export type RefusalLog = (key: string, message: string, data?: Record<string, unknown>) => boolean;

/**
 * A limiter around `warn`. Each distinct `key` (say `host:evil.example` or `token`) is logged on its 1st, 10th,
 * 100th, ... refusal, with `refusedSoFar`; at most {@link MAX_REFUSAL_KEYS} keys are kept, so memory and log
 * lines stay bounded (logarithmic in the number of refusals) whatever a client sends.
 */
export function createRefusalLog(warn: (message: string, data: Record<string, unknown>) => void): RefusalLog {
  const counts = new Map<string, { refused: number; nextLogged: number }>();
  return (key, message, data = {}) => {
    const kept = counts.has(key) || counts.size < MAX_REFUSAL_KEYS ? key : "other";
    let entry = counts.get(kept);
    if (!entry) {
      entry = { refused: 0, nextLogged: 1 };
      counts.set(kept, entry);
    }
    entry.refused += 1;
    if (entry.refused !== entry.nextLogged) return false;
    entry.nextLogged *= 10;
    warn(kept === key ? message : `${message} (and other refusals of new kinds)`, {
      ...data,
      refusedSoFar: entry.refused,
    });
    return true;
  };
}
