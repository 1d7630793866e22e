// The origin of a renderer frame's URL, in the form hangar compares against `allowedOrigins`.
// Node's URL gives `null` as the origin of every non-http scheme, so custom Electron schemes need their own rule.

const webSchemes = new Set(["http:", "https:", "ws:", "wss:"]);

/**
 * `https://app.example`, `http://localhost:5173`, `file://`, or `<scheme>://<host>` for a custom scheme
 * such as Electron's `app://shell`. Null for a URL that has no meaningful origin (`about:blank`, `data:`,
 * garbage): such a frame is never allowed.
 */
export function frameOrigin(url: string): string | null {
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
