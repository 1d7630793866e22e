// Preload for `node --import` in a CLI test: holds bin/hangar.js's import of dist/cli/bundle/main.js until the file
// named by HANGAR_TEST_IMPORT_GATE exists, after printing `holding the CLI import` on stderr. A test can then
// send a signal at the exact moment a user's early Ctrl+C lands: bin/hangar.js runs, the CLI is not loaded yet.
import { register } from "node:module";

register("./hold-cli-import-hooks.mjs", import.meta.url, {
  data: { gate: process.env.HANGAR_TEST_IMPORT_GATE },
});
