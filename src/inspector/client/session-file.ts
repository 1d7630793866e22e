// Session files: one JSON value per line, a header first, then records in `seq` order. The page exports
// and imports them; the shell serves one at /_hangar/inspect/api/session.jsonl.
import {
  type InspectorRecord,
  SESSION_FORMAT,
  SESSION_FORMAT_VERSION,
  type SessionHeader,
} from "./protocol.js";

/** A session read back from a file. */
export interface SessionFile {
  header: SessionHeader;
  records: InspectorRecord[];
}

const KINDS: ReadonlySet<string> = new Set(["actor", "event", "snapshot", "transition", "action"]);

/** The text of a session file: `header` on the first line, then each record on its own line. */
export function formatSessionFile(header: SessionHeader, records: Iterable<InspectorRecord>): string {
  const lines = [JSON.stringify(header)];
  for (const record of records) lines.push(JSON.stringify(record));
  return `${lines.join("\n")}\n`;
}

/**
 * Reads a session file. Throws an Error that names the line and what is wrong when the text is not a
 * session file (no header, another format, a newer version) or a line is not a record; blank lines are skipped.
 */
export function parseSessionFile(text: string): SessionFile {
  const lines = text.split(/\r?\n/);
  let header: SessionHeader | null = null;
  const records: InspectorRecord[] = [];
  let previousSeq = -1;
  for (let index = 0; index < lines.length; index++) {
    const line = (lines[index] ?? "").trim();
    if (line === "") continue;
    const where = `line ${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new Error(
        `${where} is not JSON (${(error as Error).message}). A session file has one JSON value per line.`,
      );
    }
    if (header === null) {
      header = checkHeader(value, where);
      continue;
    }
    const record = checkRecord(value, where);
    if (record.seq <= previousSeq) {
      throw new Error(
        `${where}: record seq ${record.seq} is not after ${previousSeq}; records must be in seq order.`,
      );
    }
    previousSeq = record.seq;
    records.push(record);
  }
  if (header === null) {
    throw new Error(
      "The file is empty. Export a session from the inspector page (Export) or GET /_hangar/inspect/api/session.jsonl.",
    );
  }
  return { header, records };
}

function checkHeader(value: unknown, where: string): SessionHeader {
  const header = value as Partial<SessionHeader> | null;
  if (header === null || typeof header !== "object" || header.format !== SESSION_FORMAT) {
    throw new Error(
      `${where} is not a hangar inspector session header (expected "format": "${SESSION_FORMAT}"). ` +
        "Import a file exported by the hangar inspector.",
    );
  }
  if (header.version !== SESSION_FORMAT_VERSION) {
    throw new Error(
      `${where}: this page reads session format version ${SESSION_FORMAT_VERSION}, the file has version ` +
        `${String(header.version)}. Open it with the hangar version that exported it.`,
    );
  }
  if (
    typeof header.historyStartsAt !== "number" ||
    typeof header.session !== "object" ||
    header.session === null
  ) {
    throw new Error(`${where}: the session header lacks "session" or "historyStartsAt".`);
  }
  return header as SessionHeader;
}

function checkRecord(value: unknown, where: string): InspectorRecord {
  const record = value as { seq?: unknown; at?: unknown; kind?: unknown } | null;
  if (
    record === null ||
    typeof record !== "object" ||
    typeof record.seq !== "number" ||
    typeof record.at !== "number" ||
    typeof record.kind !== "string" ||
    !KINDS.has(record.kind)
  ) {
    throw new Error(
      `${where} is not an inspector record (it needs numeric "seq" and "at" and a known "kind").`,
    );
  }
  return record as InspectorRecord;
}
