// Shared parts of the inspector tests: real plugin folders, a shell with its inspector, and an SSE reader.
import type { InspectorRecord, SessionHeader } from "../../src/inspector/client/protocol.js";
import type { Shell, ShellOptions } from "../../src/shell.js";
import { createWorkspace, testShell, type Workspace } from "../support/plugins.js";

/**
 * Plugins covering the paths the inspector shows: running with onResume, running without, failing, UI-only.
 * `alphaOnResume` is the body of alpha's onResume (a test may hold it on a gate).
 */
export async function writeFleet(
  ws: Workspace,
  { alphaOnResume = "" }: { alphaOnResume?: string } = {},
): Promise<void> {
  await ws.write({
    id: "alpha",
    version: "2.1.0",
    source: `
      export async function onStart(ctx) { ctx.logger.info("alpha", "started"); }
      export async function onStop() {}
      export async function onResume() { ${alphaOnResume} }
    `,
  });
  await ws.write({
    id: "beta",
    version: "1.4.2",
    source: "export async function onStart() {}\nexport async function onStop() {}\n",
  });
  await ws.write({
    id: "gamma",
    version: "0.9.0",
    source: `
      function checkRunway() { throw new Error("runway 27L is closed"); }
      export async function onStart() { checkRunway(); }
      export async function onStop() {}
    `,
  });
  await ws.write({ id: "ui-only", version: "1.0.0" });
}

/** A started shell over {@link writeFleet}'s plugins. */
export async function startFleet(
  options: ShellOptions = {},
): Promise<{ ws: Workspace; shell: Shell; close(): Promise<void> }> {
  const ws = await createWorkspace();
  await writeFleet(ws);
  const { shell } = testShell(ws, options);
  await shell.start();
  return {
    ws,
    shell,
    async close() {
      await shell.stop();
      await ws.cleanup();
    },
  };
}

/** The inspector's URL split into what tests need. */
export function inspectorUrls(shell: Shell): {
  page: string;
  origin: string;
  token: string;
  api: (path: string) => string;
} {
  const page = shell.status().inspector?.url;
  if (!page) throw new Error("the shell has no inspector URL");
  const url = new URL(page);
  const token = url.searchParams.get("token") ?? "";
  return {
    page,
    origin: url.origin,
    token,
    api: (path) =>
      `${url.origin}/_hangar/inspect/api/${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`,
  };
}

/** One Server-Sent Event. */
export interface FeedEvent {
  event: string;
  data: string;
}

/** Reads an SSE response event by event. */
export class FeedReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = "";
  readonly events: FeedEvent[] = [];
  ended = false;

  constructor(response: Response) {
    if (!response.body) throw new Error("the feed response has no body");
    this.#reader = response.body.getReader();
  }

  /** Reads until an event satisfies `predicate` (resolving with it), or the stream ends (rejecting). */
  async until(predicate: (event: FeedEvent) => boolean): Promise<FeedEvent> {
    const seen = this.events.find(predicate);
    if (seen) return seen;
    for (;;) {
      const { value, done } = await this.#reader.read();
      if (done) {
        this.ended = true;
        throw new Error(`the feed ended first; events: ${this.events.map((e) => e.event).join(", ")}`);
      }
      this.#buffer += this.#decoder.decode(value, { stream: true });
      let boundary = this.#buffer.indexOf("\n\n");
      let found: FeedEvent | undefined;
      while (boundary !== -1) {
        const block = this.#buffer.slice(0, boundary);
        this.#buffer = this.#buffer.slice(boundary + 2);
        const event = parseBlock(block);
        if (event) {
          this.events.push(event);
          if (!found && predicate(event)) found = event;
        }
        boundary = this.#buffer.indexOf("\n\n");
      }
      if (found) return found;
    }
  }

  /** Reads to the end of the stream. */
  async toEnd(): Promise<void> {
    await this.until(() => false).catch(() => {});
  }

  /** The header and records received so far. */
  session(): { header: SessionHeader; records: InspectorRecord[] } {
    const header = this.events.find((event) => event.event === "session");
    if (!header) throw new Error("no session event yet");
    return {
      header: JSON.parse(header.data) as SessionHeader,
      records: this.events
        .filter((event) => event.event === "record")
        .map((event) => JSON.parse(event.data) as InspectorRecord),
    };
  }

  cancel(): Promise<void> {
    return this.#reader.cancel();
  }
}

function parseBlock(block: string): FeedEvent | null {
  let event = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    if (line.startsWith("event: ")) event = line.slice("event: ".length);
    else if (line.startsWith("data: ")) data.push(line.slice("data: ".length));
  }
  return data.length === 0 ? null : { event, data: data.join("\n") };
}
