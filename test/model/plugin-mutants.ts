// Planted bugs for the mutation check: copies of the plugin machine's config with one defect each, built
// into machines with the same implementations. The model suite must report a violation for every one.
import { createMachine } from "xstate";
import type { PluginMachine } from "./plugin-harness.js";

type Config = PluginMachine["config"];
type StateConfig = NonNullable<Config["states"]>[string];
type Branches = Array<Record<string, unknown>>;

/** Rebuilds `machine` with its `active` state replaced by `edit(active)`. */
function editActive(machine: PluginMachine, edit: (active: StateConfig) => StateConfig): PluginMachine {
  const states = machine.config.states ?? {};
  const mutated: Config = { ...machine.config, states: { ...states, active: edit(states.active!) } };
  return createMachine(mutated, machine.implementations) as unknown as PluginMachine;
}

/** Bug: leaving `active` does not dispose the context (a context outlives the state that owns it). */
export function withoutDisposalOnExit(machine: PluginMachine): PluginMachine {
  return editActive(machine, (active) => ({ ...active, exit: [] }));
}

/** Bug: a STOP that arrived during start-up is forgotten once onStart succeeds (the plugin keeps running). */
export function withoutStopDuringStart(machine: PluginMachine): PluginMachine {
  return editActive(machine, (active) => {
    const starting = active.states!.starting as StateConfig & { invoke: { onDone: Branches } };
    return {
      ...active,
      states: {
        ...active.states,
        starting: { ...starting, invoke: { ...starting.invoke, onDone: starting.invoke.onDone.slice(1) } },
      },
    };
  });
}
