// The one rule for what a config value may be — plain JSON data — and the words that say why one is not.
// Shared by the shell's stores (src/context/config-value.ts) and the page side (hangar/react, hangar/preload),
// which refuse a bad value before it is encoded. It imports only the nesting limit: it ships in every plugin UI's
// bundle, which must not carry hangar's error catalogue (src/errors.ts, ~8 kB gzipped).
import { MAX_NESTING_DEPTH, NESTING_LIMIT_TEXT } from "./nesting.js";

/** A JSON value as stored: what {@link copyJsonData} returns. */
export type JsonData = string | number | boolean | null | JsonData[] | { [key: string]: JsonData };

/**
 * Validates that `value` is plain JSON data and returns a deep copy of it. On the first node that is not,
 * calls `fail` with the problem in words naming its path (`value.links[2].cb is a function`); `fail` must
 * throw. `undefinedHint` follows "value is undefined" when the value itself is undefined (say how to remove a
 * key where the caller can). Object properties whose value is `undefined` are dropped, as JSON.stringify does.
 */
export function copyJsonData(value: unknown, fail: (problem: string) => never, undefinedHint = ""): JsonData {
  if (value === undefined) fail(`value is undefined${undefinedHint}`);
  // Ancestors of the node being copied, to tell a cycle from an object that is merely shared twice.
  const ancestors = new Map<object, JsonPath>();
  // Paths are spelled out only for a message: a valid value (every set) builds no path strings.
  // `depth` counts arrays and objects from the value down (the value itself is level 1), so that a value too deep
  // is refused with the limit's sentence before the copy (or later, JSON) runs out of stack.
  const copy = (node: unknown, at: JsonPath, depth: number): JsonData => {
    switch (typeof node) {
      case "string":
      case "boolean":
        return node;
      case "number":
        if (!Number.isFinite(node)) fail(`${pathText(at)} is ${node} (JSON would store it as null)`);
        return node;
      case "undefined":
        return fail(`${pathText(at)} is undefined (JSON would store it as null)`);
      case "function":
        return fail(`${pathText(at)} is a function`);
      case "symbol":
        return fail(`${pathText(at)} is a symbol`);
      case "bigint":
        return fail(`${pathText(at)} is a bigint (JSON has no bigint; store it as a string)`);
    }
    if (node === null) return null;
    if (depth > MAX_NESTING_DEPTH) {
      fail(
        `value is ${NESTING_LIMIT_TEXT} (flatten it, for example into a list of nodes that name their parent)`,
      );
    }
    const object = node as object;
    const seenAt = ancestors.get(object);
    if (seenAt !== undefined) fail(`${pathText(at)} is a cycle: it refers back to ${pathText(seenAt)}`);
    const proto: unknown = Object.getPrototypeOf(object);
    if (Array.isArray(object) && proto === Array.prototype) {
      ancestors.set(object, at);
      const out: JsonData[] = [];
      // Index loop rather than map(): a hole in a sparse array must be reported, not skipped.
      for (let i = 0; i < object.length; i++) out.push(copy(object[i], { parent: at, step: i }, depth + 1));
      ancestors.delete(object);
      return out;
    }
    if (proto !== Object.prototype && proto !== null) {
      fail(`${pathText(at)} is ${describeInstance(object)}`);
    }
    ancestors.set(object, at);
    const out: { [key: string]: JsonData } = {};
    const names = Object.keys(object);
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const item = (object as Record<string, unknown>)[name];
      if (item === undefined) continue;
      defineJsonProperty(out, name, copy(item, { parent: at, step: name }, depth + 1));
    }
    ancestors.delete(object);
    return out;
  };
  return copy(value, null, 1);
}

/**
 * The sentence of `HANGAR_CONFIG_VALUE` (src/errors.ts), for the page side, which does not load the catalogue.
 * test/ipc/config-value-check.test.ts keeps the two word for word.
 */
export function configValueSentence(pluginId: string, key: string, problem: string): string {
  return (
    `Plugin '${pluginId}' called config.set('${key}', value) with a value that is not plain JSON data: ${problem}. ` +
    "Store only strings, finite numbers, booleans, null, arrays and plain objects."
  );
}

/**
 * The page side's check before a UI's config.set is encoded: throws a TypeError with `code`
 * `"HANGAR_CONFIG_VALUE"` and the sentence ctx.config.set would give, or returns nothing for plain JSON data.
 * A UI has no config.delete, so an undefined value gets no hint about one.
 */
export function assertUiConfigValue(pluginId: string, key: string, value: unknown): void {
  copyJsonData(value, (problem) => {
    throw Object.assign(new TypeError(configValueSentence(pluginId, key, problem)), {
      code: "HANGAR_CONFIG_VALUE" as const,
      pluginId,
    });
  });
}

/** Where a node sits in a value: null for the value itself, else its parent's path and its key or index. */
type JsonPath = { readonly parent: JsonPath; readonly step: string | number } | null;

/** `value`, `value.list[2]`, `value["a b"]`: a path as a message shows it. */
function pathText(at: JsonPath): string {
  if (at === null) return "value";
  const step = typeof at.step === "number" ? `[${at.step}]` : pathSegment(at.step);
  return pathText(at.parent) + step;
}

/** Assigns like JSON.parse does: an own `__proto__` key stays data and never changes the object's prototype. */
export function defineJsonProperty(target: { [key: string]: JsonData }, name: string, value: JsonData): void {
  if (name === "__proto__") {
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[name] = value;
  }
}

function pathSegment(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}

function describeInstance(object: object): string {
  if (object instanceof Date) return "a Date (store date.toISOString() or date.getTime() instead)";
  if (object instanceof Map) return "a Map (store Object.fromEntries(map) instead)";
  if (object instanceof Set) return "a Set (store [...set] instead)";
  const name = (object as { constructor?: { name?: unknown } }).constructor?.name;
  const what = typeof name === "string" && name.length > 0 ? `an instance of ${name}` : "a class instance";
  return `${what} (only plain objects and arrays are stored; copy its fields into a plain object)`;
}
