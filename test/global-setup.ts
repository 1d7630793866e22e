// Builds dist/ once before the suite, so tests that spawn the real `hangar` binary run current code.
// HANGAR_SKIP_BUILD=1 skips it when you run tests that do not spawn the binary.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  // Once per run: each test project (in-process, isolated) calls its global setup.
  if (process.env.HANGAR_SKIP_BUILD === "1" || process.env.HANGAR_BUILT_FOR_TESTS === "1") return;
  process.env.HANGAR_BUILT_FOR_TESTS = "1";
  const root = fileURLToPath(new URL("..", import.meta.url));
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
  // The shell page and the example plugins' UI modules (esbuild): `hangar run` serves them.
  execFileSync(process.execPath, ["scripts/build-ui.mjs"], { cwd: root, stdio: "inherit" });
  // The CLI's bundle (bin/hangar.js imports it), built from the dist/ files tsc has just written.
  execFileSync(process.execPath, ["scripts/bundle-cli.mjs"], { cwd: root, stdio: "inherit" });
}
