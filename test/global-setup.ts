// Builds dist/ once before the suite, so tests that spawn the real `hangar` binary run current code, and tells the
// tests to boot isolated plugins' workers from dist/ (HANGAR_ISOLATE_FROM_DIST, src/isolation/isolate.ts): from
// source each worker would first boot tsx, about a second per worker. HANGAR_SKIP_BUILD=1 skips the build when you
// run tests that do not spawn the binary; workers then boot from dist/ only if it is newer than every source file.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The newest modification time of a file under `dir`, in ms. */
function newestUnder(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** True when dist/'s worker entry was built after the last change to src/. */
function distIsCurrent(): boolean {
  const entry = path.join(root, "dist", "isolation", "worker-main.js");
  return existsSync(entry) && statSync(entry).mtimeMs >= newestUnder(path.join(root, "src"));
}

export default function setup(): void {
  // Once per run: each test project (in-process, isolated) calls its global setup.
  if (process.env.HANGAR_BUILT_FOR_TESTS === "1") return;
  if (process.env.HANGAR_SKIP_BUILD === "1") {
    if (distIsCurrent()) process.env.HANGAR_ISOLATE_FROM_DIST = "1";
    else console.warn("dist/ is older than src/: isolated workers boot from source through tsx (slower)");
    return;
  }
  process.env.HANGAR_BUILT_FOR_TESTS = "1";
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
  // The shell page and the example plugins' UI modules (esbuild): `hangar run` serves them.
  execFileSync(process.execPath, ["scripts/build-ui.mjs"], { cwd: root, stdio: "inherit" });
  // The CLI's bundle (bin/hangar.js imports it), built from the dist/ files tsc has just written.
  execFileSync(process.execPath, ["scripts/bundle-cli.mjs"], { cwd: root, stdio: "inherit" });
  process.env.HANGAR_ISOLATE_FROM_DIST = "1";
}
