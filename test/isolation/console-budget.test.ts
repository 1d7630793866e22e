// The token bucket that bounds an isolated plugin's console output (src/isolation/console-budget.ts), on a fake
// clock and a stream that records what reached it.
import { expect, it } from "vitest";
import { type DroppedConsoleOutput, limitConsoleOutput } from "../../src/isolation/console-budget.js";

function recorder() {
  const written: string[] = [];
  return {
    written,
    write(chunk: string | Uint8Array, encoding?: unknown, callback?: unknown): boolean {
      written.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString());
      const done = typeof encoding === "function" ? encoding : callback;
      if (typeof done === "function") done(null);
      return true;
    },
  };
}

it("passes a burst, then the sustained rate, and drops whole writes beyond it, counting them", () => {
  let clock = 0;
  const out = recorder();
  const err = recorder();
  const drops: DroppedConsoleOutput[] = [];
  limitConsoleOutput([out, err], {
    bytesPerSecond: 1000,
    burstBytes: 3000,
    warnEveryMs: 10_000,
    onDrop: (dropped) => drops.push(dropped),
    now: () => clock,
  });
  const line = `${"x".repeat(999)}\n`; // 1000 bytes
  // The burst: three lines, shared by stdout and stderr; the fourth is dropped whole.
  expect(out.write(line)).toBe(true);
  expect(err.write(line)).toBe(true);
  expect(out.write(line)).toBe(true);
  expect(out.write(line)).toBe(true);
  expect(out.written.length + err.written.length).toBe(3);
  expect(drops).toEqual([{ bytes: 1000, writes: 1, totalBytes: 1000 }]);
  // Half a second refills 500 bytes: not enough for a line, and the warning is not repeated.
  clock = 500;
  out.write(line);
  expect(out.written.length).toBe(2);
  expect(drops).toHaveLength(1);
  // One second more: a line's worth (capped at the burst, not more).
  clock = 1500;
  out.write(line);
  out.write(line);
  expect(out.written.length).toBe(3);
  // Past warnEveryMs, the next drop reports what was dropped since the first report.
  clock = 12_000;
  for (let i = 0; i < 4; i += 1) out.write(line);
  expect(out.written.length).toBe(6);
  expect(drops).toEqual([
    { bytes: 1000, writes: 1, totalBytes: 1000 },
    { bytes: 3000, writes: 3, totalBytes: 4000 },
  ]);
});

it("counts bytes, not characters, and calls a dropped write's callback", async () => {
  const out = recorder();
  limitConsoleOutput([out], { bytesPerSecond: 0, burstBytes: 10, onDrop: () => {}, now: () => 0 });
  // "é" is two bytes in UTF-8: six of them are 12 bytes, over the bucket.
  const called = await new Promise<boolean>((resolve) => {
    out.write("éééééé", "utf8", () => resolve(true));
  });
  expect(called).toBe(true);
  expect(out.written).toEqual([]);
  out.write(Buffer.from("0123456789"));
  expect(out.written).toEqual(["0123456789"]);
});

it("restores the streams' own write", () => {
  const out = recorder();
  const own = out.write;
  const restore = limitConsoleOutput([out], { onDrop: () => {} });
  expect(out.write).not.toBe(own);
  restore();
  expect(out.write).toBe(own);
});
