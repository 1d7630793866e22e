// The one origin validator: what an origin is (for the server's allowedOrigins, the WebSocket bridge and
// Electron's renderer frames), and which configured entries are refused.
import { createError } from "../errors.js";

const webSchemes = new Set(["http:", "https:", "ws:", "wss:"]);

/**
 * The origin of `url` in the form browsers send in `Origin`: `https://app.example`, `http://localhost:5173`,
 * `file://`, or `<scheme>://<host>` for a custom scheme such as Electron's `app://shell` (Node's URL gives
 * `null` as the origin of every non-web scheme). Null for a URL that has no meaningful origin
 * (`about:blank`, `data:`, garbage): such a page is never allowed.
 */
export function originOf(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return null;
  }
  if (webSchemes.has(parsed.protocol)) return parsed.origin;
  if (parsed.protocol === "file:") return "file://";
  if (parsed.host === "") return null;
  // Chromium lowercases the host of standard schemes; compare case-insensitively on both sides.
  return `${parsed.protocol}//${parsed.host}`.toLowerCase();
}

/**
 * Normalises configured `allowedOrigins` entries to origins (a trailing slash or path is dropped).
 * @param option how the caller's option is called in messages, e.g. `server.allowedOrigins`.
 * @throws HangarError `HANGAR_SHELL_OPTIONS` for `*`, `null`, an empty entry or anything that is not an origin:
 *   each would let every page in, or no page at all, without saying so.
 */
export function parseAllowedOrigins(entries: readonly unknown[], option: string): string[] {
  return entries.map((entry) => {
    const origin = typeof entry === "string" ? originOf(entry) : null;
    if (origin === null || origin === "null") {
      throw createError("HANGAR_SHELL_OPTIONS", "wildcardOrigin", {
        option,
        entry: String(JSON.stringify(entry)),
      });
    }
    return origin;
  });
}
