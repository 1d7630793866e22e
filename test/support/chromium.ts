// The one place that decides whether browser tests run: headless Debian Chromium via playwright-core.
// Outside CI a missing browser skips them (with how to install it); under CI=true they run and fail instead.
import { existsSync } from "node:fs";
import { type Browser, chromium as playwrightChromium } from "playwright-core";
import { describe } from "vitest";

/** Where the browser is expected; HANGAR_CHROMIUM overrides it (e.g. a Chrome for Testing build). */
export const chromiumPath = process.env.HANGAR_CHROMIUM ?? "/usr/bin/chromium";

const installHint =
  "install it with `apt-get install chromium` (or point HANGAR_CHROMIUM at a Chromium binary)";
const inCI = process.env.CI === "true" || process.env.CI === "1";
const installed = existsSync(chromiumPath);

/** Why browser tests are skipped here, or null when they run. Never set under CI: there they must fail. */
export const chromiumSkipReason: string | null =
  installed || inCI ? null : `Chromium not found at ${chromiumPath}: ${installHint}`;

if (chromiumSkipReason) console.warn(`hangar browser tests skipped. ${chromiumSkipReason}`);

/**
 * `describe` for tests that need Chromium. Skipped, with the reason in the suite's name, when Chromium is missing
 * outside CI; under CI it always runs, so a missing browser fails `launchChromium` loudly.
 */
export function describeInChromium(name: string, body: () => void): void {
  if (chromiumSkipReason) describe.skip(`${name} (skipped: ${chromiumSkipReason})`, body);
  else describe(name, body);
}

/** Launches headless Chromium with flags that keep it from reaching the network on its own. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium is required for the browser tests but is missing at ${chromiumPath} (CI=${process.env.CI}). ` +
        `In CI, .ci/run installs it; elsewhere ${installHint}.`,
    );
  }
  return playwrightChromium.launch({
    executablePath: chromiumPath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
