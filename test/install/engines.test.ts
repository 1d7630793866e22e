// `npm ci` on the oldest Node that package.json accepts prints no EBADENGINE warning: every package in the
// lock file that declares `engines.node` accepts that version (npm warns for each one that does not).
import { readFileSync } from "node:fs";
import semver from "semver";
import { expect, test } from "vitest";

interface LockEntry {
  engines?: { node?: string } | string[];
  dev?: boolean;
}

const read = (file: string) => JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), "utf8"));
const manifest = read("package.json") as { engines: { node: string } };
const lock = read("package-lock.json") as { packages: Record<string, LockEntry> };

test("every locked package accepts the oldest Node that hangar supports", () => {
  const oldest = semver.minVersion(manifest.engines.node)?.version;
  expect(oldest).toBeDefined();
  const refusing = Object.entries(lock.packages)
    .map(([path, entry]) => ({ path, node: Array.isArray(entry.engines) ? undefined : entry.engines?.node }))
    .filter(({ node }) => node !== undefined && !semver.satisfies(oldest as string, node))
    .map(({ path, node }) => `${path} (node ${node})`);
  expect(refusing, `these would print EBADENGINE on Node ${oldest}`).toEqual([]);
});

test("Electron comes in as types only: no package that downloads its binary at install", () => {
  // electron ≥ 42 declares Node ≥ 22.12; electron 40–41 download the binary in a postinstall (no network in CI).
  expect(Object.keys(lock.packages)).not.toContain("node_modules/electron");
  expect(lock.packages["node_modules/electron-types"]).toBeDefined();
});
