// Planted bugs for the mutation check: copies of the plugin machine's config with one defect each, built
// into machines with the same implementations. The model suite must report a violation for every one.
import { createMachine } from "xstate";
import type { PluginMachine } from "./plugin-harness.js";

type Config = PluginMachine["config"];
type StateConfig = NonNullable<Config["states"]>[string];
type Branches = Array<Record<string, unknown>>;

/** Rebuilds `machine` with state `name`'s invoke done-branches replaced by `edit(branches)`. */
function editOnDone(
  machine: PluginMachine,
  name: string,
  edit: (branches: Branches) => Branches,
): PluginMachine {
  const states = machine.config.states ?? {};
  const state = states[name] as StateConfig & { invoke: { onDone: Branches } };
  const mutated: Config = {
    ...machine.config,
    states: {
      ...states,
      [name]: { ...state, invoke: { ...state.invoke, onDone: edit(state.invoke.onDone) } },
    },
  };
  return createMachine(mutated, machine.implementations) as unknown as PluginMachine;
}

/** Bug: when a STOP arrived during start-up, onStop settles but the context is never disposed. */
export function withoutDisposalOnRequestedStop(machine: PluginMachine): PluginMachine {
  return editOnDone(machine, "stopping", (branches) =>
    branches.map((branch, index) => (index === 0 ? { ...branch, actions: [] } : branch)),
  );
}

/** Bug: a STOP that arrived during start-up is forgotten once onStart succeeds (the plugin keeps running). */
export function withoutStopDuringStart(machine: PluginMachine): PluginMachine {
  return editOnDone(machine, "starting", (branches) => branches.slice(1));
}
