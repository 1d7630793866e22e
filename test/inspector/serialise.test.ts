// The inspector's serialiser: whatever an actor holds comes out as bounded, redacted plain JSON, never a throw.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createActor, createMachine } from "xstate";
import { HangarError } from "../../src/errors.js";
import { REDACTED, toJson } from "../../src/inspector/serialise.js";

describe("toJson", () => {
  it("keeps plain data as it is", () => {
    const value = { a: 1, b: "two", c: [true, null, { d: -3.5 }], e: {} };
    expect(toJson(value)).toEqual(value);
  });

  it("marks cycles instead of recursing, and keeps shared (acyclic) references whole", () => {
    const shared = { n: 1 };
    const node: Record<string, unknown> = { name: "root", left: shared, right: shared };
    node.self = node;
    expect(toJson(node)).toEqual({
      name: "root",
      left: { n: 1 },
      right: { n: 1 },
      self: { $type: "circular" },
    });
  });

  it("describes functions, symbols, bigints, undefined, non-finite numbers, dates, maps, sets and bytes", () => {
    function onStart() {}
    const value = toJson({
      fn: onStart,
      arrow: () => {},
      sym: Symbol("gate"),
      big: 12n ** 20n,
      missing: undefined,
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      when: new Date("2026-01-02T03:04:05.000Z"),
      map: new Map([["k", 1]]),
      set: new Set(["x"]),
      bytes: new Uint8Array(16),
      promise: Promise.resolve(1),
    });
    expect(value).toEqual({
      fn: { $type: "function", name: "onStart" },
      arrow: { $type: "function", name: "arrow" },
      sym: { $type: "symbol", description: "gate" },
      big: { $type: "bigint", value: (12n ** 20n).toString() },
      missing: { $type: "undefined" },
      nan: { $type: "number", value: "NaN" },
      inf: { $type: "number", value: "Infinity" },
      when: { $type: "date", iso: "2026-01-02T03:04:05.000Z" },
      map: { $type: "map", size: 1, entries: [["k", 1]] },
      set: { $type: "set", size: 1, values: ["x"] },
      bytes: { $type: "bytes", class: "Uint8Array", length: 16 },
      promise: { $type: "promise" },
    });
  });

  it("keeps an Error's name, message, code, phase, stack and cause chain", () => {
    const cause = new TypeError("runway 27L is closed");
    const error = new HangarError("HANGAR_START_FAILED", "Plugin 'gamma' failed in onStart", {
      pluginId: "gamma",
      phase: "start",
      cause,
    });
    const json = toJson(error) as Record<string, unknown>;
    expect(json).toMatchObject({
      $type: "error",
      name: "HangarError",
      message: "Plugin 'gamma' failed in onStart",
      code: "HANGAR_START_FAILED",
      phase: "start",
      pluginId: "gamma",
      cause: { $type: "error", name: "TypeError", message: "runway 27L is closed" },
    });
    expect(json.stack).toContain("serialise.test.ts");
    expect((json.cause as Record<string, unknown>).stack).toContain("TypeError: runway 27L is closed");
  });

  it("describes an actor reference by its identity, not its live internals", () => {
    const actor = createActor(createMachine({ id: "probe" }), { id: "probe-1" });
    expect(toJson({ ref: actor })).toEqual({ ref: { $type: "actor", id: "probe-1", key: actor.sessionId } });
  });

  it("survives getters and proxies that throw", () => {
    const tricky = {
      get broken(): never {
        throw new Error("getter exploded");
      },
    };
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error("no keys for you");
        },
      },
    );
    expect(toJson({ tricky, hostile })).toEqual({
      tricky: { broken: { $type: "unreadable", message: "getter exploded" } },
      hostile: { $type: "unreadable", message: "no keys for you" },
    });
  });

  it("bounds depth, entries, string length and the number of values visited", () => {
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    expect(JSON.stringify(toJson(deep))).toContain('"reason":"depth"');

    const wide = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`k${i}`, i]));
    const keptWide = toJson(wide) as Record<string, unknown>;
    expect(Object.keys(keptWide)).toHaveLength(101);
    expect(keptWide.$more).toBe(50);

    const long = toJson("x".repeat(10_000)) as string;
    expect(long.length).toBeLessThan(2_100);
    expect(long).toContain("8000 more characters");

    // A graph where each level points twice at the next: 2^40 paths, cut off by the node budget.
    let shared: Record<string, unknown> = { end: 1 };
    for (let i = 0; i < 40; i++) shared = { a: shared, b: shared };
    const text = JSON.stringify(toJson(shared, { limits: { maxDepth: 64 } }));
    expect(text).toContain('"reason":"size"');
    expect(text.length).toBeLessThan(200_000);
  });

  it("redacts values under secret-looking keys, and every occurrence of a current secret", () => {
    const json = toJson(
      {
        authToken: "tok-123",
        password: "hunter2",
        apiKey: { id: 1 },
        headers: { Authorization: "Bearer tok-123", accept: "json" },
        token: null,
        hasToken: true,
        note: "called with tok-123 twice: tok-123",
        map: new Map([["secret", "x"]]),
      },
      { secrets: ["tok-123"] },
    );
    expect(json).toEqual({
      authToken: REDACTED,
      password: REDACTED,
      apiKey: REDACTED,
      headers: { Authorization: REDACTED, accept: "json" },
      token: null,
      hasToken: true,
      note: `called with ${REDACTED} twice: ${REDACTED}`,
      map: { $type: "map", size: 1, entries: [["secret", REDACTED]] },
    });
  });

  it("never throws, and always returns data that survives a JSON round trip", () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true }),
        (value) => {
          const json = toJson(value);
          expect(JSON.parse(JSON.stringify(json))).toEqual(json);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("toJson and hostile keys", () => {
  it("keeps a key named __proto__ as data instead of changing the prototype", () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as object;
    const json = toJson(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(json)).toBe(Object.prototype);
    expect(JSON.stringify(json)).toBe('{"__proto__":{"polluted":true},"ok":1}');
  });
});
