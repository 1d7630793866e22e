// Module hooks of hold-cli-import.mjs (they run on Node's hooks thread).
import { existsSync, writeSync } from "node:fs";

let gate;

export function initialize(data) {
  gate = data.gate;
}

export async function resolve(specifier, context, next) {
  if (gate && specifier.endsWith("/dist/cli/bundle/main.js")) {
    writeSync(2, "holding the CLI import\n");
    while (!existsSync(gate)) await new Promise((wake) => setTimeout(wake, 10));
  }
  return next(specifier, context);
}
