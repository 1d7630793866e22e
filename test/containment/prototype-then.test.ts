// removePrototypeThen takes a plugin's `then` off the built-in prototypes before the shell stops (the CLI test,
// test/cli/prototype-then.test.ts, shows Ctrl+C with one). Here: what it can and cannot remove, and the words.
// (This file's own process keeps a harmless read-only `Function.prototype.then = undefined` at the end.)
import { expect, it } from "vitest";
import { prototypeThenWarning, removePrototypeThen } from "../../src/containment/prototype-then.js";

it("finds nothing on untouched prototypes", () => {
  expect(removePrototypeThen()).toBeNull();
});

it("deletes a configurable then, and a resolved object settles again", async () => {
  // biome-ignore lint/suspicious/noThenProperty: the plugin's patch under test
  Object.defineProperty(Object.prototype, "then", { configurable: true, writable: true, value: () => {} });
  expect(removePrototypeThen()).toEqual({ removed: ["Object.prototype"], stuck: [] });
  expect(Object.hasOwn(Object.prototype, "then")).toBe(false);
  expect(await Promise.resolve({ a: 1 })).toEqual({ a: 1 });
});

it("sets a writable, non-configurable then to undefined; names a read-only one it cannot remove", () => {
  // biome-ignore lint/suspicious/noThenProperty: the plugin's patch under test
  Object.defineProperty(Array.prototype, "then", { configurable: false, writable: true, value: () => {} });
  // biome-ignore lint/suspicious/noThenProperty: the plugin's patch under test
  Object.defineProperty(Function.prototype, "then", {
    configurable: false,
    writable: false,
    value: undefined,
  });
  const found = removePrototypeThen();
  expect(found).toEqual({ removed: ["Array.prototype"], stuck: ["Function.prototype"] });
  expect((Array.prototype as { then?: unknown }).then).toBeUndefined();
  expect(prototypeThenWarning(found!)).toBe(
    "Plugin code set Array.prototype.then and Function.prototype.then (in-process plugins share the shell's globals): " +
      "every promise resolved with an object would call it instead of settling. hangar removed it before stopping. " +
      "It cannot be removed (non-configurable, read-only): the shutdown may fail. Fix: never add `then` to a " +
      'built-in prototype; a plugin that patches globals runs safely in a worker (plugin.json `"background": { "isolation": "worker" }`).',
  );
});
