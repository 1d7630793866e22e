// The optional per-session token (`server.token`): every `/api/*` request must carry it as a Bearer token.
import { createRefusalLog } from "../base/refusal-log.js";
import { bearerTokenOf, createTokenMatcher } from "../base/token-match.js";
import { createError } from "../errors.js";
import type { Guard, ShellLogger } from "./app.js";
import { refuse } from "./body-policy.js";

/**
 * RFC 6750 `b64token` syntax: what can travel in `Authorization: Bearer <token>` without quoting.
 * At least 16 characters, because the server answers guesses as fast as a local process can send them.
 */
const TOKEN_SYNTAX = /^[A-Za-z0-9\-._~+/]{16,}=*$/;

/**
 * Checks a `server.token` value.
 * @throws HangarError `HANGAR_SHELL_OPTIONS` when it is not a string of at least 16 token characters.
 */
export function checkSessionToken(token: unknown): string {
  if (typeof token === "string" && TOKEN_SYNTAX.test(token)) return token;
  // The value itself is never echoed: it is meant to be a secret.
  throw createError("HANGAR_SHELL_OPTIONS", "sessionToken");
}

/** True for `/api` and everything below it, in any letter case (Express's own routing ignores case). */
export function isApiPath(path: string): boolean {
  const lower = path.toLowerCase();
  return lower === "/api" || lower.startsWith("/api/");
}

/**
 * A guard that refuses any `/api/*` request without `Authorization: Bearer <token>` with a 401 JSON
 * answer. The token is compared by the one matcher (constant time, src/base/token-match.ts); refusals are
 * logged without the presented value through the one refusal-log limiter (1st, 10th, 100th, ...).
 */
export function createSessionTokenCheck(token: string, shellLogger: ShellLogger): Guard {
  const matches = createTokenMatcher(checkSessionToken(token));
  const refusals = createRefusalLog((message, data) => shellLogger.warn(message, data));

  return (req, res) => {
    if (!isApiPath(req.path)) return true;
    const header = req.headers.authorization;
    const presented = bearerTokenOf(header);
    if (matches(presented)) return true;
    const problem =
      header === undefined
        ? "has no Authorization header"
        : presented === undefined
          ? "has an Authorization header that is not 'Bearer <token>'"
          : "carries a token that does not match this session's";
    refusals("token", "Refused an /api request without the session token (server.token)", {
      method: req.method,
      path: req.path,
      problem,
    });
    // RFC 6750 §3: say which scheme is expected, and flag a wrong token as such.
    res.setHeader(
      "WWW-Authenticate",
      header === undefined ? 'Bearer realm="hangar"' : 'Bearer realm="hangar", error="invalid_token"',
    );
    refuse(req, res, 401, {
      success: false,
      error:
        `The request ${problem}: this shell requires its session token on every /api request. ` +
        "Send 'Authorization: Bearer <token>' with the token the shell was started with (server.token).",
    });
    return false;
  };
}
