// How the CLI speaks: human text or one JSON record per line on stdout, errors on stderr, and its exit codes.
import { hasHangarCode, messageOf } from "../errors.js";

/** The CLI's exit codes (docs/cli.md). */
export const ExitCodes = {
  ok: 0,
  /** The shell failed to start or stop, or a plugin failed validation. */
  failure: 1,
  /** Bad arguments: an unknown command or option, an invalid value, a plugin path that does not exist. */
  usage: 2,
  /** A second SIGINT/SIGTERM arrived while stopping. */
  forced: 130,
} as const;

export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

/** The exit code for an error: bad shell options come from the command line, anything else is a failure. */
export function exitCodeOf(error: unknown): ExitCode {
  return hasHangarCode(error) && error.code === "HANGAR_SHELL_OPTIONS" ? ExitCodes.usage : ExitCodes.failure;
}

/** Where a command reports to. */
export interface Output {
  readonly json: boolean;
  /** A milestone: the record `{ event, ...data }` with `--json`, else `text`. */
  event(name: string, data: Record<string, unknown>, text: string): void;
  /** A failure: `error CODE: message` on stderr, and with `--json` an `error` record on stdout too. */
  error(error: unknown): void;
}

/** Output to this process's stdout and stderr. */
export function createOutput(json: boolean): Output {
  return {
    json,
    event(name, data, text) {
      process.stdout.write(json ? `${JSON.stringify({ event: name, ...data })}\n` : `${text}\n`);
    },
    error(error) {
      const code = hasHangarCode(error) ? error.code : undefined;
      // Our own errors say what to do; anything else is unexpected, and its stack is what a bug report needs.
      const detail = code || !(error instanceof Error) ? messageOf(error) : (error.stack ?? error.message);
      process.stderr.write(code ? `error ${code}: ${detail}\n` : `error: ${detail}\n`);
      if (json)
        process.stdout.write(`${JSON.stringify({ event: "error", code, message: messageOf(error) })}\n`);
    },
  };
}
