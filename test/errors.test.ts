// The error catalogue: call sites pass only the variable parts; the sentence, the code and the plugin come from
// src/errors.ts, and every error hangar raises goes through it (no sentence written at a call site).
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  createError,
  ErrorCodes,
  errorMessage,
  errorTemplates,
  HangarError,
  phaseCodes,
} from "../src/errors.js";

describe("createError", () => {
  it("a part that ends a sentence of its own before the template's period gives one period, not two", () => {
    const reason = errorMessage("HANGAR_PROCESS_EXIT", { pluginId: "audit", exitCode: "1" });
    expect(reason).toMatch(/applies\.$/);
    const message = errorMessage("HANGAR_ROUTE_FAILED", {
      pluginId: "audit",
      route: "GET /api/audit/x",
      reason,
    });
    expect(message).toContain("restart policy applies. The request was answered 500");
    expect(message).not.toContain("..");
  });

  it("fills the code's sentence with the parts and takes the plugin from them", () => {
    const cause = new Error("EACCES: permission denied");
    const error = createError(
      "HANGAR_CONFIG_READ",
      { pluginId: "fleet-board", file: "/data/config/fleet-board.json", reason: cause.message },
      { cause },
    );
    expect(error).toBeInstanceOf(HangarError);
    expect(error).toMatchObject({ code: "HANGAR_CONFIG_READ", pluginId: "fleet-board", cause });
    expect(error.message).toBe(
      "Plugin 'fleet-board' could not read its config file /data/config/fleet-board.json: EACCES: permission " +
        "denied. Check the file's permissions; hangar will try again on the next config call.",
    );
  });

  it("picks one of a code's sentences by name, and an explicit pluginId and phase win", () => {
    const error = createError(
      "HANGAR_ENTRY_NOT_FOUND",
      "notFile",
      { pluginId: "atc", folder: "/p/atc", entry: "background" },
      { pluginId: "atc-folder", phase: "load" },
    );
    expect(error.message).toBe(
      "Plugin 'atc' (/p/atc) could not be loaded: background.entryModule \"background\" is not a file. Point " +
        'it at the module file itself, e.g. "background/index.ts".',
    );
    expect(error).toMatchObject({ pluginId: "atc-folder", phase: "load" });
  });

  it("leaves text that only looks like a part alone: regex counts and object shapes", () => {
    expect(createError("HANGAR_ROUTE_NAMESPACE", "invalidId", { pluginId: "A" }).message).toContain(
      "^[a-z0-9][a-z0-9-]{0,63}$",
    );
    expect(createError("HANGAR_SHELL_OPTIONS", "inspector", { problem: "x" }).message).toContain(
      "{ token?: string, allowActions?: boolean",
    );
  });

  it("starts the stack where the error was raised", () => {
    const raisedHere = () => createError("HANGAR_SHELL_STATE", "serverClosed");
    const frames = raisedHere().stack!.split("\n").slice(1);
    expect(frames[0]).toContain("raisedHere");
  });

  it("builds the same sentence errorMessage gives to places that carry a code without throwing", () => {
    const parts = { pluginId: "atc", hook: "onStart", limitMs: 30_000, phase: "start" };
    expect(createError("HANGAR_START_TIMEOUT", parts).message).toBe(
      errorMessage("HANGAR_START_TIMEOUT", parts),
    );
  });

  it("refuses, at compile time, a missing part, an unknown sentence or a missing sentence name", () => {
    const check = () => {
      // @ts-expect-error `reason` is missing
      createError("HANGAR_CONFIG_READ", { pluginId: "a", file: "f" });
      // @ts-expect-error HANGAR_SHELL_STATE has no sentence 'nope'
      createError("HANGAR_SHELL_STATE", "nope");
      // @ts-expect-error HANGAR_SHELL_STATE has several sentences: name one
      createError("HANGAR_SHELL_STATE", { state: "running" });
    };
    expect(check).toThrow(/has no sentence/);
  });
});

describe("the catalogue", () => {
  it("gives every code a summary and at least one sentence", () => {
    for (const code of Object.keys(ErrorCodes) as (keyof typeof ErrorCodes)[]) {
      expect(ErrorCodes[code].length, code).toBeGreaterThan(0);
      expect(errorTemplates(code).length, code).toBeGreaterThan(0);
    }
  });

  it("has one phase→code table whose codes are all in it", () => {
    for (const { failed, timeout } of Object.values(phaseCodes)) {
      expect(Object.hasOwn(ErrorCodes, failed)).toBe(true);
      if (timeout !== null) expect(Object.hasOwn(ErrorCodes, timeout)).toBe(true);
    }
  });

  it("is the only place sentences are written: src/ raises no HangarError by hand outside the boundaries", () => {
    // Each of these re-raises an error whose sentence was already made: revived after a worker boundary, listed
    // under another id, redacted, or prefixed with where a coded cause happened.
    const boundaries = new Set([
      "src/errors.ts",
      "src/isolation/protocol.ts",
      "src/manifest/discover.ts",
      "src/actors/shell/hooks.ts",
      "src/actors/shell/plugin-loading.ts",
      "src/actors/shell/shell-control.ts",
    ]);
    const offenders = sourceFiles("src")
      .filter((file) => !boundaries.has(file))
      .filter((file) => readFileSync(file, "utf8").includes("new HangarError("));
    expect(offenders).toEqual([]);
  });
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return /\.tsx?$/.test(entry.name) ? [file] : [];
  });
}
