// Tests the shell logger as its reader sees it: the lines written to a destination, pretty and JSON, with secrets hidden.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger, type LogOptions } from "../../src/context/logger.js";

function capture(isTTY = false) {
  const chunks: string[] = [];
  return {
    chunks,
    destination: { isTTY, write: (chunk: string) => chunks.push(chunk) },
    text: () => chunks.join(""),
  };
}

function jsonRecords(chunks: string[]): Record<string, unknown>[] {
  return chunks
    .join("")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("pretty output", () => {
  let savedNoColor: string | undefined;
  beforeEach(() => {
    savedNoColor = process.env.NO_COLOR;
    delete process.env.NO_COLOR;
  });
  afterEach(() => {
    if (savedNoColor !== undefined) process.env.NO_COLOR = savedNoColor;
  });

  it("writes one line per record: time, level, [plugin-id], tag and message", () => {
    const out = capture();
    const logger = createLogger({ destination: out.destination });
    logger.forPlugin("fleet-board").info("FleetBoard", "Routes registered");
    logger.forPlugin("fleet-board").warn("FleetBoard", "Retrying connection...");

    expect(out.chunks).toHaveLength(2);
    expect(out.chunks[0]).toMatch(
      /^\d{2}:\d{2}:\d{2}\.\d{3} INFO {2}\[fleet-board\] FleetBoard: Routes registered\n$/,
    );
    expect(out.chunks[1]).toMatch(
      /^\d{2}:\d{2}:\d{2}\.\d{3} WARN {2}\[fleet-board\] FleetBoard: Retrying connection\.\.\.\n$/,
    );
  });

  it("shows data after the message and an Error's stack on the following lines", () => {
    const out = capture();
    const logger = createLogger({ destination: out.destination, level: "debug" });
    const failure = Object.assign(new Error("fleet API unreachable"), { code: "ECONNREFUSED" });
    logger.forPlugin("fleet-board").debug("FleetBoard", "Polling interval set", { interval: 30 });
    logger.forPlugin("fleet-board").error("FleetBoard", "Failed to fetch fleet data", failure);

    expect(out.chunks[0]).toMatch(
      /DEBUG \[fleet-board\] FleetBoard: Polling interval set \{"interval":30\}\n$/,
    );
    const lines = (out.chunks[1] ?? "").split("\n");
    expect(lines[0]).toMatch(/ERROR \[fleet-board\] FleetBoard: Failed to fetch fleet data$/);
    expect(lines[1]).toBe("    Error: fleet API unreachable");
    expect(lines[2]).toMatch(/^ {8}at .*logger\.test\.ts/);
    expect(out.text()).toContain('{"code":"ECONNREFUSED"}');
  });

  it("prefixes shell records that carry a pluginId like the plugin's own", () => {
    const out = capture();
    const logger = createLogger({ destination: out.destination });
    logger.shell.info("Shell listening", { url: "http://127.0.0.1:2066" });
    logger.shell.warn("Plugin start timed out", { pluginId: "fleet-board", limitMs: 10_000 });

    expect(out.chunks[0]).toMatch(/INFO {2}Shell listening \{"url":"http:\/\/127\.0\.0\.1:2066"\}\n$/);
    expect(out.chunks[1]).toMatch(/WARN {2}\[fleet-board\] Plugin start timed out \{"limitMs":10000\}\n$/);
  });

  it("uses colours only when the destination is a terminal", () => {
    const plain = capture(false);
    createLogger({ destination: plain.destination }).forPlugin("a").error("T", "boom");
    const tty = capture(true);
    createLogger({ destination: tty.destination }).forPlugin("a").error("T", "boom");

    expect(plain.text()).not.toContain("\u001b[");
    expect(tty.text()).toContain("\u001b[");
    expect(tty.text()).toContain("boom");
  });
});

describe("JSON output", () => {
  it("writes one pino JSON object per line with pluginId, tag, msg and the data array", () => {
    const out = capture();
    const logger = createLogger({ destination: out.destination, format: "json" });
    logger.forPlugin("fleet-board").info("FleetBoard", "Routes registered");
    logger
      .forPlugin("fleet-board")
      .error("FleetBoard", "Failed", new TypeError("bad"), { attempt: 2 }, "note");

    expect(out.chunks.every((chunk) => chunk.endsWith("\n") && chunk.split("\n").length === 2)).toBe(true);
    const [first, second] = jsonRecords(out.chunks);
    expect(first).toMatchObject({
      level: 30,
      pluginId: "fleet-board",
      tag: "FleetBoard",
      msg: "Routes registered",
    });
    expect(first).not.toHaveProperty("data");
    expect(typeof first?.time).toBe("number");
    expect(second).toMatchObject({ level: 50, pluginId: "fleet-board", tag: "FleetBoard", msg: "Failed" });
    const data = second?.data as unknown[];
    expect(data[0]).toMatchObject({ type: "TypeError", message: "bad" });
    expect((data[0] as { stack: string }).stack).toMatch(/TypeError: bad\n\s+at /);
    expect(data.slice(1)).toEqual([{ attempt: 2 }, "note"]);
  });

  it("serialises Errors nested in data objects and in shell fields", () => {
    const out = capture();
    const logger = createLogger({ destination: out.destination, format: "json" });
    logger.forPlugin("p").warn("T", "wrapped", { error: new Error("inner") });
    logger.shell.error("Plugin failed", {
      pluginId: "p",
      err: new Error("outer", { cause: new Error("root") }),
    });

    const [plugin, shell] = jsonRecords(out.chunks);
    const nested = (plugin!.data as { error: { message: string; stack: string } }[])[0]?.error;
    expect(nested?.message).toBe("inner");
    expect(nested?.stack).toContain("Error: inner");
    expect(shell).toMatchObject({ pluginId: "p", msg: "Plugin failed" });
    const err = shell?.err as { message: string; stack: string };
    expect(err.message).toContain("outer");
    expect(err.stack).toContain("caused by: Error: root");
  });

  it("survives data that JSON cannot represent directly (cycles)", () => {
    const out = capture();
    const logger = createLogger({ destination: out.destination, format: "json" });
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    logger.forPlugin("p").info("T", "cyclic", cyclic);

    const [record] = jsonRecords(out.chunks);
    expect((record!.data as { name: string }[])[0]?.name).toBe("loop");
  });
});

describe("levels", () => {
  it("drops records below the level, and writes nothing when silent", () => {
    const out = capture();
    const logger = createLogger({ destination: out.destination, format: "json", level: "warn" });
    logger.forPlugin("p").debug("T", "debug");
    logger.forPlugin("p").info("T", "info");
    logger.forPlugin("p").warn("T", "warn");
    logger.shell.info("shell info");
    logger.shell.error("shell error");
    expect(jsonRecords(out.chunks).map((r) => r.msg)).toEqual(["warn", "shell error"]);

    const silent = capture();
    const quiet = createLogger({ destination: silent.destination, level: "silent" });
    quiet.forPlugin("p").error("T", "nothing");
    quiet.shell.error("nothing");
    expect(silent.chunks).toEqual([]);
  });

  it("defaults to info", () => {
    const out = capture();
    const logger = createLogger({ destination: out.destination, format: "json" });
    logger.forPlugin("p").debug("T", "hidden");
    logger.forPlugin("p").info("T", "shown");
    expect(jsonRecords(out.chunks).map((r) => r.msg)).toEqual(["shown"]);
  });
});

describe("secret redaction", () => {
  // Quote and backslash, so the JSON-escaped form differs from the raw one.
  const token = 'tok-"9f3a\\c1d2e-secret';

  function logEverywhere(options: LogOptions) {
    const logger = createLogger({ ...options, level: "debug" });
    const plugin = logger.forPlugin("fleet-board");
    plugin.info("Auth", `Using token ${token}`);
    plugin.debug("Auth", "Request headers", { authorization: `Bearer ${token}` }, token, [token]);
    plugin.error("Auth", "Request failed", new Error(`401 for ${token}`));
    plugin.warn("Auth", "Nested", { error: new Error(`nested ${token}`) });
    logger.shell.info(`shell saw ${token}`, { token, err: new Error(token) });
    plugin.info("Auth", "Embedded JSON", JSON.stringify({ token }));
  }

  for (const format of ["json", "pretty"] as const) {
    it(`never writes the token in ${format} output: message, data, Error message and stack`, () => {
      const out = capture();
      logEverywhere({ destination: out.destination, format, secrets: () => [token] });
      const text = out.text();
      expect(text).not.toContain(token);
      expect(text).not.toContain(JSON.stringify(token).slice(1, -1));
      expect(text).not.toContain("9f3a");
      // The records are still there, with the secret replaced.
      expect(text).toContain("Using token [redacted]");
      expect(text).toContain("401 for [redacted]");
      expect(text.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(9);
    });
  }

  it("still produces valid JSON lines after redaction", () => {
    const out = capture();
    logEverywhere({ destination: out.destination, format: "json", secrets: () => [token] });
    const records = jsonRecords(out.chunks);
    expect(records[0]?.msg).toBe("Using token [redacted]");
    expect(records[1]?.data).toEqual([{ authorization: "Bearer [redacted]" }, "[redacted]", ["[redacted]"]]);
  });

  it("reads the secrets for every line, so a new token is hidden at once", () => {
    const out = capture();
    let current: string | null = "first-token-abc";
    const logger = createLogger({
      destination: out.destination,
      format: "json",
      secrets: () => (current === null ? [] : [current]),
    });
    const plugin = logger.forPlugin("p");
    plugin.info("T", "first-token-abc");
    current = "second-token-xyz";
    plugin.info("T", "second-token-xyz");
    current = null;
    plugin.info("T", "no secret now");

    expect(jsonRecords(out.chunks).map((r) => r.msg)).toEqual(["[redacted]", "[redacted]", "no secret now"]);
  });

  it("drops the line rather than risk a leak when the secrets callback throws", () => {
    const out = capture();
    const logger = createLogger({
      destination: out.destination,
      format: "json",
      secrets: () => {
        throw new Error("auth store unavailable");
      },
    });
    logger.forPlugin("p").info("T", "maybe-a-secret");
    expect(out.text()).not.toContain("maybe-a-secret");
    expect(jsonRecords(out.chunks)[0]?.msg).toContain("log line dropped");
  });
});

describe("plugin loggers", () => {
  it("are frozen, so a plugin cannot replace a method", () => {
    const logger = createLogger({ destination: capture().destination });
    const plugin = logger.forPlugin("p");
    expect(Object.isFrozen(plugin)).toBe(true);
    expect(() => {
      (plugin as { info: unknown }).info = () => {};
    }).toThrow(TypeError);
    expect(Object.isFrozen(logger.shell)).toBe(true);
  });

  it("coerce a non-string tag or message from plain-JS plugins instead of throwing", () => {
    const out = capture();
    const plugin = createLogger({ destination: out.destination, format: "json" }).forPlugin("p");
    (plugin.info as (tag: unknown, message: unknown) => void)(42, { not: "a string" });
    expect(jsonRecords(out.chunks)[0]).toMatchObject({ tag: "42", msg: "[object Object]" });
  });
});
