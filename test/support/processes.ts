// Child processes as a user starts them (the `hangar` command, npm, node --test), with their output collected.
import { type ChildProcess, spawn } from "node:child_process";

/** A running process and everything it has printed so far. */
export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

export interface StartOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
}

/** Starts `command args` with NO_COLOR set. */
export function start(command: string, args: string[], options: StartOptions): Running {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs `command args` to completion. */
export async function run(
  command: string,
  args: string[],
  options: StartOptions,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const running = start(command, args, options);
  const code = await running.exited;
  return { code, stdout: running.stdout(), stderr: running.stderr() };
}

/** The JSON records a process printed (one object per line). */
export function records(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Resolves once `match` finds something in the output; rejects if the process exits first. */
export async function waitFor<T>(running: Running, match: (stdout: string) => T | undefined): Promise<T> {
  for (;;) {
    const found = match(running.stdout());
    if (found !== undefined) return found;
    const exited = await Promise.race([running.exited.then(() => true), sleep(25).then(() => false)]);
    if (exited && match(running.stdout()) === undefined) {
      throw new Error(
        `the process exited first.\nstdout:\n${running.stdout()}\nstderr:\n${running.stderr()}`,
      );
    }
  }
}

/** The first JSON record with `event` (a `hangar ... --json` milestone). */
export function waitForEvent(running: Running, event: string): Promise<Record<string, unknown>> {
  return waitFor(running, (stdout) => records(stdout).find((record) => record.event === event));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
