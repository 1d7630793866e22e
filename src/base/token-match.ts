// The one token matcher: how the session token (HTTP, WebSocket bridge) and the inspector's token are compared.
import { createHash, timingSafeEqual } from "node:crypto";

/** `Bearer` is case-insensitive (RFC 7235); the token is taken verbatim. */
const BEARER = /^Bearer +(\S+) *$/i;

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * A matcher for `token`: true when any presented value equals it. Both sides are hashed first, so
 * `timingSafeEqual` always compares 32 bytes and the time taken says nothing about the token, not even its length.
 * Values that are not strings (a missing header, a repeated query parameter) never match.
 */
export function createTokenMatcher(token: string): (...presented: unknown[]) => boolean {
  const expected = digest(token);
  return (...presented) =>
    presented.some((value) => typeof value === "string" && timingSafeEqual(digest(value), expected));
}

/**
 * The token of an `Authorization: Bearer <token>` header: null when there is no header, undefined when the
 * header is not of that form.
 */
export function bearerTokenOf(header: string | undefined): string | null | undefined {
  if (header === undefined) return null;
  return BEARER.exec(header)?.[1];
}
