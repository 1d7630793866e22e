#!/usr/bin/env node
// The `hangar` command: runs the compiled CLI, bundled into one module (built by `npm install` through the
// `prepare` script; scripts/bundle-cli.mjs).
// Importing it takes a moment (seconds on a busy machine). A SIGINT/SIGTERM meanwhile is remembered and handed
// to the command (`hangar run` then stops as after any Ctrl+C, having started nothing); a second one exits 130.
let received = null;
const remember = (signal) => {
  if (received !== null) {
    process.stderr.write(`Received ${signal} again while hangar was starting: exiting.\n`);
    process.exit(130);
  }
  received = signal;
};
process.on("SIGINT", remember);
process.on("SIGTERM", remember);
const earlySignal = {
  get received() {
    return received;
  },
  release() {
    process.removeListener("SIGINT", remember);
    process.removeListener("SIGTERM", remember);
  },
};

import("../dist/cli/bundle/main.js").then(
  ({ runCli }) => runCli(process.argv, earlySignal),
  (error) => {
    if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist/cli/bundle/main.js")) {
      console.error(
        "hangar is not built: run `npm run build` (or `npm install`) in the hangar folder first.",
      );
    } else {
      console.error(error);
    }
    process.exit(1);
  },
);
