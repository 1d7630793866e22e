// `hangar/machines`: the two statecharts themselves, for reading, diagrams and model-based tests. The shell
// provides their implementations with .provide(); these definitions do no I/O on their own.
export type { PluginMachineContext } from "./plugin.machine.js";
export { pluginMachine } from "./plugin.machine.js";
export { shellMachine } from "./shell.machine.js";
