// What an isolated plugin's console output may cost the shell. A worker thread's process.stdout/stderr are
// pipes to the shell's main thread: every console.log is a message the shell's event loop receives, buffers and
// writes out. A plugin printing megabytes a second would stall the shell (other plugins' routes) and grow its
// memory without bound, so the isolate passes console output through a token bucket and drops the excess.
// ctx.logger is not affected: it is the way to log what must be kept.

/** Sustained console output (stdout and stderr together) an isolated plugin may write, bytes per second. */
export const CONSOLE_BYTES_PER_SECOND = 64 * 1024;
/** Console output an isolated plugin may write at once after a quiet spell (the bucket's size), bytes. */
export const CONSOLE_BURST_BYTES = 256 * 1024;
/** After the first warning about dropped output, at most one more per this many ms. */
export const CONSOLE_WARN_EVERY_MS = 60_000;

/** What {@link limitConsoleOutput} reports when it drops output. */
export interface DroppedConsoleOutput {
  /** Bytes dropped since the previous report (or since the limit was installed). */
  bytes: number;
  /** Writes (console calls, mostly) dropped since the previous report. */
  writes: number;
  /** Bytes dropped since the limit was installed. */
  totalBytes: number;
}

export interface ConsoleBudgetOptions {
  /** Sustained rate, bytes per second. Default {@link CONSOLE_BYTES_PER_SECOND}. */
  bytesPerSecond?: number;
  /** Bucket size, bytes. Default {@link CONSOLE_BURST_BYTES}. */
  burstBytes?: number;
  /** Minimum ms between two reports. Default {@link CONSOLE_WARN_EVERY_MS}. */
  warnEveryMs?: number;
  /** Called on the first dropped write, then at most once per `warnEveryMs` while writes are dropped. */
  onDrop(dropped: DroppedConsoleOutput): void;
  /** Clock, ms (tests). Default `performance.now`. */
  now?: () => number;
}

/** The streams a limit applies to: `process.stdout` and `process.stderr`, or anything with their `write`. */
export interface WritableLike {
  write(...args: never[]): boolean;
}

type WriteCallback = (error?: Error | null) => void;

function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === "string") {
    return Buffer.byteLength(
      chunk,
      Buffer.isEncoding(String(encoding)) ? (encoding as BufferEncoding) : "utf8",
    );
  }
  if (ArrayBuffer.isView(chunk)) return chunk.byteLength;
  return 0;
}

/**
 * Puts the writes of `streams` through one token bucket: a write fits while the bucket holds its size in bytes
 * (it refills at `bytesPerSecond`, up to `burstBytes`); a write that does not fit is dropped whole (its callback
 * still called, `write` returning true) and counted. Lines are never cut. Returns a function that restores the
 * streams' own `write`.
 */
export function limitConsoleOutput(
  streams: readonly WritableLike[],
  options: ConsoleBudgetOptions,
): () => void {
  const rate = (options.bytesPerSecond ?? CONSOLE_BYTES_PER_SECOND) / 1000;
  const burst = options.burstBytes ?? CONSOLE_BURST_BYTES;
  const warnEveryMs = options.warnEveryMs ?? CONSOLE_WARN_EVERY_MS;
  const now = options.now ?? (() => performance.now());
  let tokens = burst;
  let filledAt = now();
  let lastReportAt: number | null = null;
  const pending = { bytes: 0, writes: 0 };
  let totalBytes = 0;

  const report = (at: number): void => {
    if (pending.writes === 0) return;
    if (lastReportAt !== null && at - lastReportAt < warnEveryMs) return;
    lastReportAt = at;
    const dropped = { bytes: pending.bytes, writes: pending.writes, totalBytes };
    pending.bytes = 0;
    pending.writes = 0;
    try {
      options.onDrop(dropped);
    } catch {
      // Reporting never breaks a console call.
    }
  };

  const restores = streams.map((stream) => {
    const own = stream.write;
    const write = function (this: unknown, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
      const at = now();
      tokens = Math.min(burst, tokens + (at - filledAt) * rate);
      filledAt = at;
      const size = byteLength(chunk, encoding);
      if (size <= tokens) {
        tokens -= size;
        return (own as (...args: unknown[]) => boolean).apply(this, [chunk, encoding, callback]);
      }
      pending.bytes += size;
      pending.writes += 1;
      totalBytes += size;
      report(at);
      const done = (typeof encoding === "function" ? encoding : callback) as WriteCallback | undefined;
      if (typeof done === "function") process.nextTick(done, null);
      return true;
    };
    (stream as { write: unknown }).write = write;
    return () => {
      if ((stream as { write: unknown }).write === write) (stream as { write: unknown }).write = own;
    };
  });
  return () => {
    for (const restore of restores) restore();
  };
}
