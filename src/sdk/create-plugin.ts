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
 *   The error carries the problem under `Symbol.for("hangar.contractProblem")` (e.g. `onStop is missing`), so
 *   the shell reports it as `HANGAR_MODULE_CONTRACT` whichever copy of hangar/sdk the plugin imported.
 */
export function createPlugin<T extends PluginBackgroundModule>(definition: T): T {
  const value: unknown = definition;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw contractError(
      `expected an object with onStart and onStop functions, got ${describe(value)}`,
      `the default export is createPlugin(${describe(value)}), not createPlugin({ onStart, onStop })`,
    );
  }
  const fields = value as Record<string, unknown>;
  for (const field of ["onStart", "onStop"] as const) {
    if (typeof fields[field] !== "function") {
      const found = describe(fields[field]);
      throw contractError(
        `${field} must be a function, got ${found}`,
        found === "undefined" ? `${field} is missing` : `${field} must be a function, got ${found}`,
      );
    }
  }
  if (fields.onResume !== undefined && typeof fields.onResume !== "function") {
    const found = describe(fields.onResume);
    throw contractError(
      `onResume must be a function when given, got ${found}`,
      `onResume must be a function, got ${found}`,
    );
  }
  return definition;
}

/** The brand under which a createPlugin TypeError carries its problem; Symbol.for, so it holds across copies. */
const CONTRACT_PROBLEM = Symbol.for("hangar.contractProblem");

/** createPlugin's TypeError, branded with the problem in the words of HANGAR_MODULE_CONTRACT. */
function contractError(message: string, problem: string): TypeError {
  const error = new TypeError(`createPlugin: ${message}`);
  // Not enumerable: the error still looks like, and compares equal to, a plain TypeError.
  Object.defineProperty(error, CONTRACT_PROBLEM, { value: problem });
  return error;
}

/** A short name for the kind of value found, for error messages. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}
