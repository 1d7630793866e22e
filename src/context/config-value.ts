// Validation and copying of config keys and values, shared by every ConfigBackend: only plain JSON gets stored.
import { MAX_NESTING_DEPTH, NESTING_LIMIT_TEXT } from "../base/nesting.js";
import { errorMessage } from "../errors.js";
import type { JsonValue } from "../sdk/types.js";

/** The TypeError a config store throws for a bad key or value; `code` says which. */
export interface ConfigTypeError extends TypeError {
  readonly code: "HANGAR_CONFIG_KEY" | "HANGAR_CONFIG_VALUE";
  readonly pluginId: string;
}

/** Keys that would reach Object.prototype if a store (or a plugin) ever copied values into a plain object. */
const reservedKeys: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** True for `__proto__`, `constructor` and `prototype`. */
export function isReservedConfigKey(key: string): boolean {
  return reservedKeys.has(key);
}

/** Builds the TypeError a store throws for a bad key or value, for checks a backend adds of its own. */
export function configTypeError(
  code: ConfigTypeError["code"],
  pluginId: string,
  message: string,
): ConfigTypeError {
  return Object.assign(new TypeError(message), { code, pluginId });
}

/**
 * Throws a ConfigTypeError (`HANGAR_CONFIG_KEY`) unless `key` is a non-empty string that is not reserved.
 * `method` is the store method the plugin called, for the message.
 */
export function assertConfigKey(pluginId: string, method: string, key: unknown): asserts key is string {
  if (typeof key !== "string") {
    const type = key === null ? "null" : typeof key;
    throw configTypeError(
      "HANGAR_CONFIG_KEY",
      pluginId,
      errorMessage("HANGAR_CONFIG_KEY", "notString", { pluginId, method, type }),
    );
  }
  if (key.length === 0) {
    throw configTypeError(
      "HANGAR_CONFIG_KEY",
      pluginId,
      errorMessage("HANGAR_CONFIG_KEY", "empty", { pluginId, method }),
    );
  }
  if (reservedKeys.has(key)) {
    throw configTypeError(
      "HANGAR_CONFIG_KEY",
      pluginId,
      errorMessage("HANGAR_CONFIG_KEY", "reserved", { pluginId, method, key }),
    );
  }
}

/**
 * Validates that `value` is plain JSON data and returns a deep copy of it, so that later changes to the
 * caller's object change nothing stored. Throws a ConfigTypeError (`HANGAR_CONFIG_VALUE`) whose message
 * names the offending path inside the value, e.g. `value.links[2].cb is a function`.
 * Object properties whose value is `undefined` are dropped, as JSON.stringify drops them.
 */
export function copyConfigValue(pluginId: string, key: string, value: unknown): JsonValue {
  const fail = (problem: string): never => {
    throw configTypeError(
      "HANGAR_CONFIG_VALUE",
      pluginId,
      errorMessage("HANGAR_CONFIG_VALUE", { pluginId, key, problem }),
    );
  };
  if (value === undefined) {
    fail(`value is undefined (to remove the key, call config.delete('${key}'))`);
  }
  // Ancestors of the node being copied, to tell a cycle from an object that is merely shared twice.
  const ancestors = new Map<object, JsonPath>();
  // Paths are spelled out only for a message: a valid value (every set) builds no path strings.
  // `depth` counts arrays and objects from the value down (the value itself is level 1), so that a value too deep
  // is refused with the limit's sentence before the copy (or later, JSON) runs out of stack.
  const copy = (node: unknown, at: JsonPath, depth: number): JsonValue => {
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
      const out: JsonValue[] = [];
      // Index loop rather than map(): a hole in a sparse array must be reported, not skipped.
      for (let i = 0; i < object.length; i++) out.push(copy(object[i], { parent: at, step: i }, depth + 1));
      ancestors.delete(object);
      return out;
    }
    if (proto !== Object.prototype && proto !== null) {
      fail(`${pathText(at)} is ${describeInstance(object)}`);
    }
    ancestors.set(object, at);
    const out: { [key: string]: JsonValue } = {};
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

/** Where a node sits in a value: null for the value itself, else its parent's path and its key or index. */
type JsonPath = { readonly parent: JsonPath; readonly step: string | number } | null;

/** `value`, `value.list[2]`, `value["a b"]`: a path as a message shows it. */
function pathText(at: JsonPath): string {
  if (at === null) return "value";
  const step = typeof at.step === "number" ? `[${at.step}]` : pathSegment(at.step);
  return pathText(at.parent) + step;
}

/** A deep copy of data already known to be JSON (what a store holds), for handing out to a plugin. */
export function cloneJsonValue(value: JsonValue): JsonValue {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneJsonValue);
  const out: { [key: string]: JsonValue } = {};
  for (const [name, item] of Object.entries(value)) defineJsonProperty(out, name, cloneJsonValue(item));
  return out;
}

/** Assigns like JSON.parse does: an own `__proto__` key stays data and never changes the object's prototype. */
function defineJsonProperty(target: { [key: string]: JsonValue }, name: string, value: JsonValue): void {
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
