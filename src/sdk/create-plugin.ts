// createPlugin: the typed, validated way for a plugin author to declare a background module (SPEC §2).
// Imports nothing of hangar but its types, and no dependency: plugins bundle or link it freely.
import type { PluginBackgroundModule } from "./types.js";

/**
 * Declares a background module. Checks `definition` at once, so a mistake surfaces when the module is
 * imported rather than when the shell first calls it, and returns the same object.
 *
 * @example
 * export default createPlugin({
 *   async onStart(ctx) { ctx.logger.info("MyPlugin", "Starting"); },
 *   async onStop() {},
 * });
 * @throws TypeError naming the missing or wrong field, e.g. `createPlugin: onStop must be a function, got undefined`.
 */
export function createPlugin<T extends PluginBackgroundModule>(definition: T): T {
  const value: unknown = definition;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(
      `createPlugin: expected an object with onStart and onStop functions, got ${describe(value)}`,
    );
  }
  const fields = value as Record<string, unknown>;
  for (const field of ["onStart", "onStop"] as const) {
    if (typeof fields[field] !== "function") {
      throw new TypeError(`createPlugin: ${field} must be a function, got ${describe(fields[field])}`);
    }
  }
  if (fields.onResume !== undefined && typeof fields.onResume !== "function") {
    throw new TypeError(
      `createPlugin: onResume must be a function when given, got ${describe(fields.onResume)}`,
    );
  }
  return definition;
}

/** A short name for the kind of value found, for error messages. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}
