// The page side's config check (src/ipc/config-value-check.ts) says what ctx.config.set says, word for word,
// without loading the error catalogue.
import { describe, expect, it } from "vitest";
import { copyConfigValue } from "../../src/context/config-value.js";
import { errorMessage } from "../../src/errors.js";
import { assertUiConfigValue, configValueSentence } from "../../src/ipc/config-value-check.js";

function refusal(check: () => unknown): string {
  try {
    check();
    return "accepted";
  } catch (error) {
    return (error as Error).message;
  }
}

describe("a UI's config.set check", () => {
  it("uses HANGAR_CONFIG_VALUE's sentence", () => {
    const params = { pluginId: "radar", key: "range", problem: "value is a symbol" };
    expect(configValueSentence(params.pluginId, params.key, params.problem)).toBe(
      errorMessage("HANGAR_CONFIG_VALUE", params),
    );
  });

  it("refuses what ctx.config.set refuses, with the same words, and accepts what it accepts", () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const values: unknown[] = [
      Number.NaN,
      Number.NEGATIVE_INFINITY,
      new Date(0),
      new Map([[1, 2]]),
      new Set([1]),
      10n,
      Symbol("s"),
      () => 1,
      { links: [1, { cb: () => 1 }] },
      new Array(2),
      cycle,
      { a: 1, b: [true, null, "x"], c: undefined },
      Object.create(null),
    ];
    for (const value of values) {
      const inTheStore = refusal(() => copyConfigValue("radar", "range", value));
      expect(refusal(() => assertUiConfigValue("radar", "range", value))).toBe(inTheStore);
    }
    expect(refusal(() => assertUiConfigValue("radar", "range", { links: [1, { cb: () => 1 }] }))).toContain(
      "value.links[1].cb is a function",
    );
  });

  it("gives a UI, which has no config.delete, no advice to call it", () => {
    const message = refusal(() => assertUiConfigValue("radar", "range", undefined));
    expect(message).toContain("not plain JSON data: value is undefined.");
    expect(message).not.toContain("config.delete");
  });
});
