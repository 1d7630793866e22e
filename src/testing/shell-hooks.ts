// Test-only seams of createShell, used by hangar/testing and by hangar's own race tests; not public API.
// They sit under a symbol key, so they never show up in ShellOptions, its validation or its documentation.
import type { ActorOptions, AnyActorLogic } from "xstate";
import type { pluginMachine } from "../machines/plugin.machine.js";
import type { PluginBackgroundModule } from "../sdk/types.js";

/** The timer source XState actors use for delays (a `SimulatedClock`, or real timers). */
export type ActorClock = NonNullable<ActorOptions<AnyActorLogic>["clock"]>;

/** The plugin machine as the shell runs it: the pure machine with the shell's implementations provided. */
export type ProvidedPluginMachine = typeof pluginMachine;

/** What a test may change inside one shell. Every field is optional; none changes behaviour by itself. */
export interface ShellTestHooks {
  /** The clock of the shell actor and of every plugin actor, so tests decide when timeouts fire. */
  clock?: ActorClock;
  /**
   * The clock of one plugin's actor, overriding `clock` for it (undefined: `clock`, else real timers). The
   * lifecycle harness times out the plugin under test without touching the timers of its dependencies.
   */
  pluginClock?: (pluginId: string) => ActorClock | undefined;
  /**
   * Replaces the plugin machine the shell runs, given the one with the shell's implementations. Used to
   * plant a bug (a mutant) that a test suite must catch.
   */
  pluginMachine?: (machine: ProvidedPluginMachine) => ProvidedPluginMachine;
  /**
   * Sees each background module once it is imported; the module returned is the one the shell calls.
   * It must keep `onResume` present exactly when the original has it.
   */
  wrapModule?: (pluginId: string, module: PluginBackgroundModule) => PluginBackgroundModule;
}

/** The key under which createShell finds its test hooks. */
export const shellTestHooks: unique symbol = Symbol.for("hangar.shellTestHooks");

/** createShell options that carry test hooks. */
export interface WithShellTestHooks {
  [shellTestHooks]?: ShellTestHooks;
}

/** The test hooks attached to `options`, or none. */
export function testHooksOf(options: object): ShellTestHooks {
  return (options as WithShellTestHooks)[shellTestHooks] ?? {};
}

/** `options` with `hooks` attached, for passing to createShell. */
export function withShellTestHooks<T extends object>(
  options: T,
  hooks: ShellTestHooks,
): T & WithShellTestHooks {
  return { ...options, [shellTestHooks]: hooks };
}
