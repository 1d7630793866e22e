// Differences between two JSON values (two snapshots), as a flat list of changed paths.
import type { Json } from "./protocol.js";
import { sameJson } from "./session.js";

/** One difference at `path` (`context.timings.startMs`, `value`, `context.warnings[2]`). */
export interface DiffEntry {
  path: string;
  kind: "added" | "removed" | "changed";
  before?: Json;
  after?: Json;
}

/** Every leaf-most difference from `before` to `after`, in key order; an empty list when they are equal. */
export function diffJson(before: Json | undefined, after: Json | undefined, path = ""): DiffEntry[] {
  if (sameJson(before, after)) return [];
  if (before === undefined) return [{ path: path || "(root)", kind: "added", after: after as Json }];
  if (after === undefined) return [{ path: path || "(root)", kind: "removed", before }];
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((key) => diffJson(before[key], after[key], path ? `${path}.${key}` : key));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const length = Math.max(before.length, after.length);
    const entries: DiffEntry[] = [];
    for (let index = 0; index < length; index++) {
      entries.push(...diffJson(before[index], after[index], `${path}[${index}]`));
    }
    return entries;
  }
  return [{ path: path || "(root)", kind: "changed", before, after }];
}

function isRecord(value: Json): value is { [key: string]: Json } {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
