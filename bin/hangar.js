#!/usr/bin/env node
// The `hangar` command: runs the compiled CLI (built by `npm install` through the `prepare` script).
import("../dist/cli/main.js").catch((error) => {
  if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist/cli/main.js")) {
    console.error("hangar is not built: run `npm run build` (or `npm install`) in the hangar folder first.");
  } else {
    console.error(error);
  }
  process.exit(1);
});
