// `hangar update [ids...]`: asks a running shell for an OTA update over POST /api/_shell/update and prints the states.
import { messageOf } from "../errors.js";
import type { PluginStatus } from "../status.js";
import { type ExitCode, ExitCodes, type Output } from "./output.js";
import { formatSummary } from "./summary.js";

/** Options of `hangar update`, as parsed by commander. */
export interface UpdateOptions {
  port: number;
  host: string;
  /** The shell's session token. Default: HANGAR_SERVER_TOKEN. */
  token?: string;
  json?: boolean;
}

/**
 * Sends `{ changed: ids }` to the shell at `host:port` and waits until the update has settled. Resolves with 0
 * when the shell applied it, 1 when it refused (or no shell answers there), with a message saying what to do.
 */
export async function updateCommand(
  ids: string[],
  options: UpdateOptions,
  output: Output,
): Promise<ExitCode> {
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const url = `http://${host}:${options.port}/api/_shell/update`;
  const token = options.token ?? (process.env.HANGAR_SERVER_TOKEN || undefined);
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ changed: ids }),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? messageOf(error);
    // A message, not an Error: what to do is the whole story, a stack of this command would only distract.
    output.error(
      `No hangar shell answers at ${url} (${cause}). Start one with 'hangar run', or pass the --port (and --host) ` +
        "it listens on.",
    );
    return ExitCodes.failure;
  }
  const body = (await response.json().catch(() => null)) as PluginStatus[] | { error?: string } | null;
  if (response.status !== 200 || !Array.isArray(body)) {
    const said =
      body && !Array.isArray(body) && typeof body.error === "string" ? body.error : response.statusText;
    const hint =
      response.status === 401
        ? token
          ? " The token does not match the one the shell was started with."
          : " The shell requires its session token: pass --token <token> or set HANGAR_SERVER_TOKEN."
        : response.status === 405 || response.status === 404
          ? " That server does not take updates over HTTP: is it a hangar shell of this version?"
          : "";
    output.error(`The shell at ${url} refused the update (HTTP ${response.status}): ${said}${hint}`);
    return ExitCodes.failure;
  }
  // The update ran (an update also rescans the folders), but an id it names that no plugin has is a typo to report.
  const unknown = ids.filter((id) => !body.some((plugin) => plugin.id === id));
  if (unknown.length > 0) {
    output.error(
      `The shell at ${url} has no plugin ${unknown.map((id) => `'${id}'`).join(", ")}; it updated the others. ` +
        `Its plugins: ${body.map((plugin) => plugin.id).join(", ") || "none"}. Check the id in plugin.json.`,
    );
    return ExitCodes.failure;
  }
  output.event(
    "updated",
    { changed: ids, plugins: body },
    `Updated${ids.length ? ` (re-imported ${ids.join(", ")})` : ""}.\n\n${formatSummary({ plugins: body })}`,
  );
  return ExitCodes.ok;
}
