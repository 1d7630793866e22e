// The builder thread's entry: builds plugin generations (bundle.ts) for the thread that loads plugins, so that
// esbuild's start-up, its protocol and hangar's resolve/load callbacks never run on that thread. A CommonJS
// generation asked for with a cache file is written there too (build-cache.ts), after the answer is sent.

import { parentPort } from "node:worker_threads";
import { type BuildFacts, factsToProbes, writeCachedBuild } from "./build-cache.js";
import { type BuiltGeneration, buildGeneration, type GenerationBuild, startEsbuild } from "./bundle.js";

/** A request to the builder thread. */
export interface BuildRequest extends GenerationBuild {
  id: number;
}

/**
 * The builder thread's answers: the built generation, or the error as plain data; then, for a request with a
 * cache file, what became of the cache entry (`cached`: null when written, else why not, for a debug line).
 */
export type BuildReply =
  | { id: number; built: BuiltGeneration }
  | { id: number; error: { name: string; message: string; code?: string; stack?: string } }
  | { id: number; cached: string | null };

const port = parentPort;
if (port === null) throw new Error("build-worker.ts runs only as a worker thread (src/loader/builder.ts)");

// esbuild's service process starts while the first request is on its way (or while the shell is still
// starting, when the thread was started by warmBuilder).
startEsbuild();

port.on("message", async ({ id, ...build }: BuildRequest) => {
  const facts: BuildFacts | undefined =
    build.cacheFile === undefined
      ? undefined
      : { started: Date.now(), loaded: new Map(), unhashed: new Set(), packages: [], files: new Set() };
  let built: BuiltGeneration;
  try {
    built = await buildGeneration(build, facts);
    port.postMessage({ id, built } satisfies BuildReply);
  } catch (thrown) {
    const error = thrown instanceof Error ? thrown : new Error(String(thrown));
    const code = (error as { code?: unknown }).code;
    port.postMessage({
      id,
      error: {
        name: error.name,
        message: error.message,
        ...(typeof code === "string" ? { code } : {}),
        ...(error.stack === undefined ? {} : { stack: error.stack }),
      },
    } satisfies BuildReply);
    return;
  }
  if (build.cacheFile === undefined || facts === undefined) return;
  port.postMessage({
    id,
    cached: await cache(build.cacheFile, build.entryFile, built, facts),
  } satisfies BuildReply);
});

/** Keeps a built CommonJS generation for the next start; resolves with why it did not, or null. */
async function cache(
  file: string,
  entryFile: string,
  built: BuiltGeneration,
  facts: BuildFacts,
): Promise<string | null> {
  if (built.format !== "commonjs")
    return "not cached: an ES module generation is written as a file and imported";
  try {
    const probes = await factsToProbes(facts);
    if (!Array.isArray(probes)) return `not cached: ${probes.uncacheable}`;
    return await writeCachedBuild(file, entryFile, probes, built);
  } catch (error) {
    return `not cached: ${error instanceof Error ? error.message : String(error)}`;
  }
}
