// Parent side of bench/workers/route-server.ts: fork it, wait for its URL, drive updates, close it.
import { type ChildProcess, fork } from "node:child_process";
import path from "node:path";
import { repoRoot } from "./child.js";

/** Messages the parent sends to bench/workers/route-server.mjs. */
export type ToRouteServer = { type: "updates"; on: boolean } | { type: "cpu" } | { type: "close" };
/** Messages the worker sends. */
export type FromRouteServer =
  | { type: "ready"; url: string }
  | { type: "updates"; completed: number; failed: number }
  | { type: "cpu"; micros: number }
  | { type: "closed" };

/** A route-bench server running in its own process. */
export interface RouteServer {
  url: string;
  /** The server process's CPU time so far (user + system), in µs. */
  cpu(): Promise<number>;
  /** Starts back-to-back `shell.update()` calls (shell mode only). */
  startUpdates(): void;
  /** Stops them; resolves with how many completed and failed. */
  stopUpdates(): Promise<{ completed: number; failed: number }>;
  close(): Promise<void>;
}

function next<T extends FromRouteServer["type"]>(
  child: ChildProcess,
  type: T,
): Promise<Extract<FromRouteServer, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromRouteServer) => {
      if (message.type !== type) return;
      cleanup();
      resolve(message as Extract<FromRouteServer, { type: T }>);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`route-server exited with code ${code} while waiting for '${type}'`));
    };
    const cleanup = () => {
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    child.on("message", onMessage);
    child.on("exit", onExit);
  });
}

export async function startRouteServer(
  mode: "shell" | "isolated" | "bare" | "bare-als" | "bare-als-leftovers",
  root: string,
): Promise<RouteServer> {
  const child = fork(path.join(repoRoot, "bench", "workers", "route-server.mjs"), [mode, root], {
    cwd: repoRoot,
    execArgv: [],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const { url } = await next(child, "ready");
  const send = (message: ToRouteServer) => child.send(message);
  return {
    url,
    async cpu() {
      const reply = next(child, "cpu");
      send({ type: "cpu" });
      return (await reply).micros;
    },
    startUpdates: () => send({ type: "updates", on: true }),
    async stopUpdates() {
      const reply = next(child, "updates");
      send({ type: "updates", on: false });
      const { completed, failed } = await reply;
      return { completed, failed };
    },
    async close() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      send({ type: "close" });
      // A server that does not exit on its own is a finding, but must not hang the whole bench.
      const timer = setTimeout(() => {
        process.stderr.write(`route-server (${mode}) did not exit 30 s after close; killing it\n`);
        child.kill("SIGKILL");
      }, 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
