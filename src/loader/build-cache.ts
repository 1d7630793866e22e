// A content-addressed cache of built CommonJS generations (bundle.ts), so that a TypeScript plugin that has not
// changed since the last build is neither rebuilt nor does it start the builder thread (esbuild's process).
// The loading thread looks an entry up and checks it (readCachedBuild); the builder thread records what a build
// read and writes the entry (factsToProbes, writeCachedBuild). docs/loader.md, "Build cache", says what the key
// covers and why that is enough.

import { createHash } from "node:crypto";
import { readdir, readFile, readlink, realpath, rename, stat, unlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { threadId } from "node:worker_threads";
import { hangarCacheFolder } from "../base/cache-folder.js";
import { makeDirectory } from "../base/directories.js";
import { setImmediate } from "../base/timers.js";
import type { GenerationImport } from "./bundle.js";

/** Bumped whenever what an entry holds, or how it is checked, changes. */
const CACHE_FORMAT = 2;
/** Entries kept at most; past it, the builder thread deletes the oldest written down to 3/4 of it. */
const MAX_ENTRIES = 512;
/**
 * A probed file or folder changed at or after this many ms before its build started: the build may have seen it
 * half-way, so it is not cached. Linux stamps files with a coarse clock (one jiffy, up to 10 ms behind).
 */
const CHANGED_WHILE_BUILDING_MS = 10;

/**
 * One fact about the file system that a built generation relied on, with its value at build time. The cached
 * code is used only while every fact still holds.
 * - `file`: the SHA-256 of a file's content, or null when there is no file there (a source file the build read,
 *   a package.json, tsconfig.json or jsconfig.json that could change how files are read or resolved);
 * - `listing`: the SHA-256 of a folder's sorted entry names, each symbolic link with its target, or null when
 *   there is no folder (a new file next to an imported one can shadow it: `./util` finds `util.tsx` before
 *   `util.ts`, and `util.ts` before `util/`; a link repointed elsewhere changes what `./util` reads, though esbuild
 *   reports only the file it reached);
 * - `entry`: where a path leads, its real path, or null when nothing is there (`node_modules/<package>` in each
 *   folder a package import looked in: `npm link`, workspaces and pnpm make it a link that can be repointed).
 */
export type BuildProbe =
  | { kind: "file"; path: string; sha256: string | null }
  | { kind: "listing"; path: string; sha256: string | null }
  | { kind: "entry"; path: string; realPath: string | null };

/** What a build read, as bundle.ts saw it; turned into probes by {@link factsToProbes}. */
export interface BuildFacts {
  /** When the build started (Date.now()). */
  started: number;
  /** Every source file the build read, with the SHA-256 of the exact content it read. */
  loaded: Map<string, string>;
  /** Files esbuild read by itself (no hash of what it read): the build is not cached. */
  unhashed: Set<string>;
  /** Package imports: the package name and the folder the import was resolved from. */
  packages: Array<{ name: string; resolveDir: string; resolved: string }>;
  /** Files an import outside the plugin's relative paths resolved to (`..`, absolute paths, `file:` URLs). */
  files: Set<string>;
}

/** What a cached entry holds. */
interface CacheEntry {
  format: typeof CACHE_FORMAT;
  entryFile: string;
  probes: BuildProbe[];
  code: string;
  imports: GenerationImport[];
}

/** A built CommonJS generation, as the cache gives it back. */
export interface CachedGeneration {
  format: "commonjs";
  code: string;
  imports: GenerationImport[];
}

const here = fileURLToPath(import.meta.url);
/** hangar's package folder (src/loader/ or dist/loader/ is two levels below it). */
const packageRoot = path.resolve(path.dirname(here), "..", "..");

/**
 * The folder entries are kept in: `HANGAR_BUILD_CACHE` when set (`off` switches the cache off), else
 * `node_modules/.cache/hangar/builds` of the project hangar is installed in (the folder `node_modules` that holds
 * hangar; in a checkout of hangar itself, its own `node_modules`), as other tools keep theirs.
 */
export function buildCacheDir(): string | null {
  return hangarCacheFolder(packageRoot, "builds", process.env.HANGAR_BUILD_CACHE);
}

let builderIdentity: Promise<{ esbuild: string; builder: string }> | undefined;

/**
 * What else decides a build's output: esbuild's version and the builder's own code (bundle.ts/bundle.js, which
 * holds every build option and the resolve/load rules), read once per process.
 */
function identity(): Promise<{ esbuild: string; builder: string }> {
  builderIdentity ??= (async () => {
    const require = createRequire(import.meta.url);
    const esbuildPackage = JSON.parse(await readFile(require.resolve("esbuild/package.json"), "utf8")) as {
      version: string;
    };
    const builderFile = path.join(path.dirname(here), here.endsWith(".ts") ? "bundle.ts" : "bundle.js");
    return { esbuild: esbuildPackage.version, builder: sha256(await readFile(builderFile)) };
  })();
  return builderIdentity;
}

/** The parts of a cache key; exported for tests. */
export interface BuildCacheKey {
  esbuild: string;
  builder: string;
  entryFile: string;
  folder: string;
}

/**
 * The entry's file name for `key`: a hash of the cache format, Node's version (which names are built-in
 * modules), hangar's folder (where host-provided modules resolve from), esbuild's version, the builder's code,
 * the entry file and the plugin folder. Every generation of one entry shares it (a build's output does not
 * depend on the generation).
 */
export function cacheFileName(key: BuildCacheKey): string {
  const parts = [
    CACHE_FORMAT,
    process.version,
    packageRoot,
    key.esbuild,
    key.builder,
    key.entryFile,
    key.folder,
  ];
  return `${sha256(JSON.stringify(parts)).slice(0, 40)}.json`;
}

/** The cache file for a plugin entry, or null when the cache is off. */
export async function cacheFileFor(entryFile: string, folder: string): Promise<string | null> {
  const dir = buildCacheDir();
  if (dir === null) return null;
  return path.join(dir, cacheFileName({ ...(await identity()), entryFile, folder }));
}

/**
 * The cached generation in `file` if every fact it was built from still holds, else why not (for a debug line).
 * Never throws: an unreadable or damaged entry is a miss.
 */
export async function readCachedBuild(
  file: string,
  entryFile: string,
): Promise<{ built: CachedGeneration } | { miss: string }> {
  await lookupSlot();
  try {
    return await lookUp(file, entryFile);
  } finally {
    releaseLookupSlot();
  }
}

// At most this many lookups at once: each is a few dozen reads and stats whose completions the loading thread
// handles in one poll phase, and a hundred plugins looked up at once would handle thousands there together.
const CONCURRENT_LOOKUPS = 4;
let lookupsRunning = 0;
const waitingLookups: Array<() => void> = [];

function lookupSlot(): Promise<void> | undefined {
  if (lookupsRunning < CONCURRENT_LOOKUPS) {
    lookupsRunning += 1;
    return undefined;
  }
  return new Promise((resolve) => waitingLookups.push(resolve));
}

function releaseLookupSlot(): void {
  const next = waitingLookups.shift();
  if (next === undefined) lookupsRunning -= 1;
  else next(); // the slot passes to the next lookup
}

async function lookUp(
  file: string,
  entryFile: string,
): Promise<{ built: CachedGeneration } | { miss: string }> {
  let entry: CacheEntry;
  try {
    entry = JSON.parse(await readFile(file, "utf8")) as CacheEntry;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return { miss: code === "ENOENT" ? "not built before" : `unreadable cache entry (${messageOf(error)})` };
  }
  if (entry.format !== CACHE_FORMAT || entry.entryFile !== entryFile || !Array.isArray(entry.probes)) {
    return { miss: "cache entry of another format" };
  }
  try {
    const changed = await firstChanged(entry.probes);
    if (changed !== null) return { miss: changed };
  } catch (error) {
    return { miss: `could not check the cache entry (${messageOf(error)})` };
  }
  return { built: { format: "commonjs", code: entry.code, imports: entry.imports } };
}

/** The first probe whose value differs now, described, or null when all hold. */
async function firstChanged(probes: BuildProbe[]): Promise<string | null> {
  const results = await Promise.all(
    probes.map(async (probe) => {
      const now = await valueNow(probe);
      switch (probe.kind) {
        case "file":
          return now === probe.sha256 ? null : `${probe.path} changed`;
        case "listing":
          return now === probe.sha256 ? null : `the files in ${probe.path} changed`;
        case "entry":
          if (now === probe.realPath) return null;
          return `${probe.path} ${probe.realPath === null ? "appeared" : now === null ? "is gone" : `now leads to ${now}`}`;
        default:
          return "unknown probe";
      }
    }),
  );
  return results.find((result) => result !== null) ?? null;
}

// Lookups that begin in the same turn of the event loop (many plugins at start-up or in an update of all) share
// the reads they have in common (the folders above them, express's node_modules lookups): one read each, begun
// at the same moment as separate ones would have been. Forgotten at the end of the turn, so no value is reused
// later, when a file may have changed.
const sameTurn = new Map<string, Promise<string | boolean | null>>();

function valueNow(probe: BuildProbe): Promise<string | boolean | null> {
  const id = `${probe.kind}\0${probe.path}`;
  const shared = sameTurn.get(id);
  if (shared !== undefined) return shared;
  const value =
    probe.kind === "file"
      ? fileHash(probe.path)
      : probe.kind === "listing"
        ? listingHash(probe.path)
        : realPathOf(probe.path);
  if (sameTurn.size === 0) setImmediate(() => sameTurn.clear());
  sameTurn.set(id, value);
  return value;
}

/**
 * The probes of a finished build (run in the builder thread), or why it cannot be cached: a file esbuild read by
 * itself, a tsconfig.json that extends a package, or a probed file or folder that changed while the build ran.
 */
export async function factsToProbes(facts: BuildFacts): Promise<BuildProbe[] | { uncacheable: string }> {
  if (facts.unhashed.size > 0) {
    return { uncacheable: `esbuild read ${[...facts.unhashed][0]} itself (no content hash)` };
  }
  const probes = new Map<string, BuildProbe>();
  const pending = new Map<string, Promise<BuildProbe>>();
  const add = (kind: BuildProbe["kind"], file: string): void => {
    const id = `${kind}\0${file}`;
    if (pending.has(id)) return;
    pending.set(id, probeNow(kind, file));
  };
  const configDirs = new Set<string>();
  const nearFile = (file: string): void => {
    const dir = path.dirname(file);
    add("listing", dir);
    add("listing", path.dirname(dir));
    for (const ancestor of ancestors(dir)) configDirs.add(ancestor);
  };
  for (const [file, hash] of facts.loaded) {
    probes.set(`file\0${file}`, { kind: "file", path: file, sha256: hash });
    nearFile(file);
  }
  for (const file of facts.files) nearFile(file);
  for (const { name, resolveDir, resolved } of facts.packages) {
    add("entry", resolved);
    for (const dir of ancestors(resolveDir)) {
      const candidate = path.join(dir, "node_modules", name);
      const probe = await probeNow("entry", candidate);
      pending.set(`entry\0${candidate}`, Promise.resolve(probe));
      if (probe.kind === "entry" && probe.realPath !== null) {
        add("file", path.join(candidate, "package.json"));
        break; // the first folder that has it wins: the ones above it are not looked at
      }
    }
  }
  for (const dir of configDirs) {
    for (const name of ["package.json", "tsconfig.json", "jsconfig.json"]) add("file", path.join(dir, name));
  }
  for (const [id, probe] of await settleAll(pending)) if (!probes.has(id)) probes.set(id, probe);
  // A tsconfig.json may extend another: a relative one is probed too; one from a package is not followed.
  for (const probe of [...probes.values()]) {
    if (probe.kind !== "file" || probe.sha256 === null || !/[jt]sconfig\.json$/.test(probe.path)) continue;
    const extended = await extendedConfigs(probe.path);
    if (extended === null) return { uncacheable: `${probe.path} extends a package's configuration` };
    for (const file of extended) probes.set(`file\0${file}`, await probeNow("file", file));
  }
  // Anything changed since the build began may have been seen half-way: do not keep this build.
  // (A package folder that appeared or went shows on its node_modules folder; an absent config file's folder is
  // not checked: a temp folder above a plugin changes all the time.)
  for (const probe of probes.values()) {
    if (facts.loaded.has(probe.path)) continue; // hashed as read: exact whenever it changed
    for (const file of probe.kind === "entry" ? [probe.path, path.dirname(probe.path)] : [probe.path]) {
      const changed = await stat(file).then(
        (stats) => stats.ctimeMs >= facts.started - CHANGED_WHILE_BUILDING_MS,
        () => false,
      );
      if (changed) return { uncacheable: `${file} changed while it was being built` };
    }
  }
  return [...probes.values()];
}

/**
 * Writes a cache entry atomically (a temporary file renamed over it), then trims the folder when it holds
 * more than MAX_ENTRIES. Never throws: resolves with why nothing was written (a read-only folder), or null.
 */
export async function writeCachedBuild(
  file: string,
  entryFile: string,
  probes: BuildProbe[],
  built: CachedGeneration,
): Promise<string | null> {
  const entry: CacheEntry = {
    format: CACHE_FORMAT,
    entryFile,
    probes,
    code: built.code,
    imports: built.imports,
  };
  const temporary = `${file}.${process.pid}-${threadId}.tmp`;
  try {
    await makeDirectory(path.dirname(file));
    await writeFile(temporary, JSON.stringify(entry));
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    return `the build cache in ${path.dirname(file)} could not be written (${messageOf(error)}): the plugin is built at every start`;
  }
  await trim(path.dirname(file)).catch(() => {});
  return null;
}

async function trim(dir: string): Promise<void> {
  const names = (await readdir(dir)).filter((name) => name.endsWith(".json"));
  if (names.length <= MAX_ENTRIES) return;
  const dated = await Promise.all(
    names.map(async (name) => {
      const file = path.join(dir, name);
      return {
        file,
        mtime: await stat(file).then(
          (stats) => stats.mtimeMs,
          () => 0,
        ),
      };
    }),
  );
  dated.sort((a, b) => a.mtime - b.mtime);
  for (const { file } of dated.slice(0, names.length - Math.floor((MAX_ENTRIES * 3) / 4))) {
    await unlink(file).catch(() => {});
  }
}

/** The package a bare specifier names (`@scope/name` or `name`), or null for `#imports` and the like. */
export function packageNameOf(specifier: string): string | null {
  if (specifier.startsWith("#")) return null;
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  return name === undefined || name === "" ? null : name;
}

/** `dir` and every folder above it, nearest first. */
function ancestors(dir: string): string[] {
  const result: string[] = [];
  for (let current = dir; ; current = path.dirname(current)) {
    result.push(current);
    if (path.dirname(current) === current) return result;
  }
}

/** The relative `extends` of a tsconfig.json (each as a file, with and without `.json`), or null for a package. */
async function extendedConfigs(file: string): Promise<string[] | null> {
  const text = await readFile(file, "utf8").catch(() => "");
  const match = /"extends"\s*:\s*("(?:[^"\\]|\\.)*"|\[[^\]]*\])/.exec(text);
  if (match === null) return text.includes('"extends"') ? null : [];
  let targets: unknown;
  try {
    targets = JSON.parse(match[1] ?? "");
  } catch {
    return null;
  }
  const list = Array.isArray(targets) ? targets : [targets];
  const files: string[] = [];
  for (const target of list) {
    if (typeof target !== "string" || !(target.startsWith(".") || path.isAbsolute(target))) return null;
    const resolved = path.resolve(path.dirname(file), target);
    files.push(resolved, `${resolved}.json`);
  }
  return files;
}

async function probeNow(kind: BuildProbe["kind"], file: string): Promise<BuildProbe> {
  if (kind === "file") return { kind, path: file, sha256: await fileHash(file) };
  if (kind === "listing") return { kind, path: file, sha256: await listingHash(file) };
  return { kind, path: file, realPath: await realPathOf(file) };
}

async function settleAll(pending: Map<string, Promise<BuildProbe>>): Promise<Array<[string, BuildProbe]>> {
  return Promise.all([...pending].map(async ([id, probe]) => [id, await probe] as [string, BuildProbe]));
}

const ABSENT = new Set(["ENOENT", "ENOTDIR", "EISDIR"]);

async function fileHash(file: string): Promise<string | null> {
  try {
    return sha256(await readFile(file));
  } catch (error) {
    if (ABSENT.has(String((error as { code?: unknown }).code))) return null;
    throw error;
  }
}

async function listingHash(dir: string): Promise<string | null> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    const names = await Promise.all(
      entries.map(async (entry) =>
        entry.isSymbolicLink()
          ? `${entry.name} -> ${await readlink(path.join(dir, entry.name))}`
          : entry.name,
      ),
    );
    return sha256(names.sort().join("\n"));
  } catch (error) {
    if (ABSENT.has(String((error as { code?: unknown }).code))) return null;
    throw error;
  }
}

/** Where `file` leads once every link on the way is followed, or null when nothing is there. */
async function realPathOf(file: string): Promise<string | null> {
  return realpath(file).catch(() => null);
}

/** The SHA-256 of a file's content, in hex, as probes record it. */
export function sha256(content: string | Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
