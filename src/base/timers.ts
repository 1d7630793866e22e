// hangar's own timers, taken from node:timers once, when hangar loads: in-process plugins share globalThis, and a
// plugin that replaces globalThis.setTimeout (to throttle, trace or fake time) must not stretch hangar's stop and
// shutdown budgets, hook and load timeouts, restart backoffs or worker watchdogs (SPEC §11).
import timers from "node:timers";

/** node:timers' functions as they were when hangar loaded; use these, not the globals, for hangar's own timers. */
export const { setTimeout, clearTimeout, setInterval, clearInterval, setImmediate, clearImmediate } = timers;

/**
 * The clock every hangar actor runs its delays on (XState's default clock calls the global setTimeout at each
 * delay, so a plugin's patch would reach the plugin and shell machines' timeouts).
 */
export const realClock = {
  setTimeout: (fn: (...args: unknown[]) => void, ms: number): unknown => setTimeout(fn, ms),
  clearTimeout: (id: unknown): void => clearTimeout(id as ReturnType<typeof setTimeout>),
};
