// Validation and copying of config keys and values, shared by every ConfigBackend: only plain JSON gets stored.
import { errorMessage } from "../errors.js";
import { copyJsonData, defineJsonProperty, type JsonData } from "../ipc/config-value-check.js";
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
  return copyJsonData(value, fail, ` (to remove the key, call config.delete('${key}'))`) as JsonValue;
}

/** A deep copy of data already known to be JSON (what a store holds), for handing out to a plugin. */
export function cloneJsonValue(value: JsonValue): JsonValue {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneJsonValue);
  const out: { [key: string]: JsonValue } = {};
  for (const [name, item] of Object.entries(value))
    defineJsonProperty(out as { [key: string]: JsonData }, name, cloneJsonValue(item));
  return out;
}
