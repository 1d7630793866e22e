// Reads a config file's write-ahead journal (`<id>.json.journal`): the acknowledged changes not yet folded
// into the JSON file. The writer thread (config-writer.ts) appends the records; this replays them on open.
import { readFile } from "node:fs/promises";
import { crc32 } from "node:zlib";
import type { JsonValue } from "../sdk/types.js";

/** One replayed change: `[key, value]` sets the key, `[key]` deletes it. */
export type ConfigJournalOperation = [key: string, value: JsonValue] | [key: string];

/** What {@link readConfigJournal} found. */
export interface ConfigJournalContent {
  /** Every operation of every intact record, in the order they were appended. */
  operations: ConfigJournalOperation[];
  /** Whether the journal file exists (it may be empty: every record folded in). */
  exists: boolean;
  /** The journal's size in bytes; 0 when there is none. Non-zero: the JSON file is behind it. */
  bytes: number;
  /**
   * Bytes after the last intact record: a write cut short by a crash (or power loss) before its fdatasync
   * returned, so never acknowledged. They are ignored, and dropped when the journal is next folded in.
   */
  tornBytes: number;
}

// `<length> <crc32 as 8 hex digits>\n`: the header of each record; the payload and a "\n" follow.
const headerPattern = /^(\d{1,10}) ([0-9a-f]{8})$/;
const NEWLINE = 0x0a;

/**
 * Reads `journalFile`. A missing journal is an empty one. Reading stops at the first record that is not
 * whole and intact (short, a bad header, a checksum mismatch, a payload that is not an array of
 * operations): a torn tail, counted in `tornBytes`. Rejects only when the file exists but cannot be read.
 */
export async function readConfigJournal(journalFile: string): Promise<ConfigJournalContent> {
  let data: Buffer;
  try {
    data = await readFile(journalFile);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR")
      return { operations: [], exists: false, bytes: 0, tornBytes: 0 };
    throw error;
  }
  return { ...parseConfigJournal(data), exists: true, bytes: data.length };
}

/** The intact records at the start of `data`, and how many bytes follow them. */
export function parseConfigJournal(data: Buffer): {
  operations: ConfigJournalOperation[];
  tornBytes: number;
} {
  const operations: ConfigJournalOperation[] = [];
  let offset = 0;
  while (offset < data.length) {
    const record = parseRecord(data, offset);
    if (record === null) break;
    operations.push(...record.operations);
    offset = record.end;
  }
  return { operations, tornBytes: data.length - offset };
}

function parseRecord(
  data: Buffer,
  offset: number,
): { operations: ConfigJournalOperation[]; end: number } | null {
  const headerEnd = data.indexOf(NEWLINE, offset);
  if (headerEnd === -1 || headerEnd - offset > 24) return null;
  const header = headerPattern.exec(data.toString("latin1", offset, headerEnd));
  if (!header) return null;
  const length = Number(header[1]);
  const start = headerEnd + 1;
  const end = start + length;
  if (end + 1 > data.length || data[end] !== NEWLINE) return null;
  const payload = data.subarray(start, end);
  if (crc32(payload) !== Number.parseInt(header[2]!, 16)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString("utf8"));
  } catch {
    return null;
  }
  if (!Array.isArray(parsed)) return null;
  for (const operation of parsed) {
    const valid =
      Array.isArray(operation) &&
      typeof operation[0] === "string" &&
      (operation.length === 1 || operation.length === 2);
    if (!valid) return null;
  }
  return { operations: parsed as ConfigJournalOperation[], end: end + 1 };
}
