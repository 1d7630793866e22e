// The builder thread's entry: builds plugin generations (bundle.ts) for the thread that loads plugins, so that
// esbuild's start-up, its protocol and hangar's resolve/load callbacks never run on that thread.

import { parentPort } from "node:worker_threads";
import { buildGeneration, type GenerationBuild, startEsbuild } from "./bundle.js";

/** A request to the builder thread. */
export interface BuildRequest extends GenerationBuild {
  id: number;
}

/** The builder thread's answer: the built file, or the error as plain data. */
export type BuildReply =
  | { id: number; file: string }
  | { id: number; error: { name: string; message: string; code?: string; stack?: string } };

const port = parentPort;
if (port === null) throw new Error("build-worker.ts runs only as a worker thread (src/loader/builder.ts)");

// esbuild's service process starts while the first request is on its way (or while the shell is still
// starting, when the thread was started by warmBuilder).
startEsbuild();

port.on("message", async ({ id, ...build }: BuildRequest) => {
  try {
    const file = await buildGeneration(build);
    port.postMessage({ id, file } satisfies BuildReply);
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
  }
});
