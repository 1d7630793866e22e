// Runs a CommonJS script (the bundled `hangar` command) with a V8 code cache, so that a start after the first
// deserialises the compiled bytecode instead of parsing and compiling the script again. Node 20 has no
// `module.enableCompileCache` (Node 22): this is the same idea through `vm.Script`'s `cachedData`.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import vm from "node:vm";
import { hangarCacheFolder } from "../base/cache-folder.js";
import { makeDirectorySync } from "../base/directories.js";

/** Bumped when the file layout below changes: an old file is then never read. */
const FORMAT = 1;
/** The first bytes of a cache file: the SHA-256 of the V8 data after them. */
const DIGEST_BYTES = 32;

/** A CommonJS script run by {@link runCachedScript}. */
export interface CachedScript {
  /** What the script put in `module.exports`. */
  readonly exports: unknown;
  /** How the script was compiled: from a cache file that V8 took, or from source (no file, or one it refused). */
  readonly compiledFrom: "cache" | "source";
  /**
   * Writes the cache file when the script was compiled from source, with what V8 has compiled so far (the
   * top level, and every function that has run): call it once the command has done its start-up work, so that
   * the functions of that work are in the cache too. Never rejects (a folder that cannot be written means no
   * cache, and no error); a second call does nothing.
   */
  save(): Promise<void>;
}

/** Where and how {@link runCachedScript} keeps its cache. */
export interface CodeCacheOptions {
  /** The folder of cache files, or null for no cache (the script is compiled from source, nothing is written). */
  dir: string | null;
  /**
   * What else the compiled code depends on besides the script's text and Node's version and flags (which the key
   * holds anyway): here, the command, so that `hangar run` keeps the functions of a start in its own file.
   */
  variant: string;
  /**
   * The SHA-256 (hex) of the script's text when the caller knows it (the build wrote it down), else it is hashed
   * here: about 4 ms for the 0.7 MB bundle.
   */
  sourceHash?: string;
}

/**
 * The cache folder of the `hangar` command: `HANGAR_CODE_CACHE` when set (`off` or `0` switches the cache off),
 * else `node_modules/.cache/hangar/code` of the project hangar is installed in (in a checkout of hangar, its
 * own `node_modules`), beside the build cache (src/loader/build-cache.ts). `packageRoot` is hangar's folder.
 */
export function codeCacheDir(packageRoot: string, env: NodeJS.ProcessEnv = process.env): string | null {
  return hangarCacheFolder(packageRoot, "code", env.HANGAR_CODE_CACHE);
}

/**
 * The cache file's name: a hash of everything V8's data depends on — the script's text (by its hash: V8 itself
 * checks only its length), Node's version and architecture, the V8 and Node flags of this process (V8 refuses data made under
 * other flags; keying by them keeps two differently started commands from rewriting each other's file) — and
 * `variant`.
 */
function cacheFileName(sourceHash: string, variant: string): string {
  const key = createHash("sha256")
    .update(
      JSON.stringify([
        FORMAT,
        sourceHash,
        process.version,
        process.arch,
        process.execArgv,
        process.env.NODE_OPTIONS ?? "",
      ]),
    )
    .digest("hex")
    .slice(0, 32);
  return `${key}-${variant.replace(/[^a-z0-9-]/gi, "_")}.v8`;
}

/** The V8 data in `file` when its digest matches, else undefined (no file, a cut or altered one). */
function readCache(file: string): Buffer | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  if (bytes.length <= DIGEST_BYTES) return undefined;
  const data = bytes.subarray(DIGEST_BYTES);
  const digest = createHash("sha256").update(data).digest();
  return digest.equals(bytes.subarray(0, DIGEST_BYTES)) ? data : undefined;
}

/**
 * Writes `data` to `file` whole or not at all (a temporary file renamed over it), creating the folder, then
 * deletes the oldest cache files past {@link MAX_FILES} (those of earlier builds or Node versions).
 */
function writeCache(file: string, data: Buffer): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    makeDirectorySync(path.dirname(file));
    writeFileSync(temporary, Buffer.concat([createHash("sha256").update(data).digest(), data]));
    renameSync(temporary, file);
    prune(path.dirname(file));
  } catch {
    // A read-only or full disk: no cache, and the command goes on as without one.
    rmSync(temporary, { force: true });
  }
}

/** Cache files kept in one folder: every command's of a few builds and Node versions (each 0.4–0.8 MB). */
const MAX_FILES = 24;

/** Deletes the least recently written cache files of `dir` past {@link MAX_FILES}. */
function prune(dir: string): void {
  const files = readdirSync(dir).filter((name) => name.endsWith(".v8"));
  if (files.length <= MAX_FILES) return;
  const byAge = files
    .map((name) => ({
      name,
      written: statSync(path.join(dir, name), { throwIfNoEntry: false })?.mtimeMs ?? 0,
    }))
    .sort((a, b) => a.written - b.written);
  for (const { name } of byAge.slice(0, files.length - MAX_FILES))
    rmSync(path.join(dir, name), { force: true });
}

/**
 * Compiles and runs the CommonJS script `file` as Node would `require` it (its own `module`, `exports`,
 * `require`, `__filename`, `__dirname`), with the V8 code cache in `options.dir`. The script must not use
 * `import()`: Node 20 gives a script compiled from a code cache no import callback (scripts/bundle-cli.mjs has
 * esbuild turn each into a `require`). A cache file that is missing, cut short, altered or
 * refused by V8 (another V8, other flags) is ignored: the script is compiled from source, and {@link
 * CachedScript.save} writes a new file. Throws what reading or running the script throws.
 */
export function runCachedScript(file: string, options: CodeCacheOptions): CachedScript {
  const source = readFileSync(file, "utf8");
  const sourceHash = options.sourceHash ?? createHash("sha256").update(source).digest("hex");
  const cacheFile =
    options.dir === null ? null : path.join(options.dir, cacheFileName(sourceHash, options.variant));
  const cachedData = cacheFile === null ? undefined : readCache(cacheFile);
  // The wrapper Node's CommonJS loader puts around a module (one line: the source map's lines stay right).
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname) { ${source}\n})`,
    {
      filename: file,
      ...(cachedData ? { cachedData } : {}),
    },
  );
  const compiledFrom = cachedData !== undefined && !script.cachedDataRejected ? "cache" : "source";
  const module = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: { exports: unknown },
    filename: string,
    dirname: string,
  ) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  let saved = compiledFrom === "cache" || cacheFile === null;
  return {
    exports: module.exports,
    compiledFrom,
    async save() {
      if (saved || cacheFile === null) return;
      saved = true;
      try {
        writeCache(cacheFile, script.createCachedData());
      } catch {
        // createCachedData cannot fail for a script that compiled; the write's own failures are handled there.
      }
    },
  };
}
