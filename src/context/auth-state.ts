// The shell's live auth state, and the read-only view of it that every plugin context receives.
import type { PluginAuthAccessor } from "../sdk/types.js";

/** The shell's side of auth: it reads and sets the token; plugins get only `accessor`. */
export interface AuthState {
  /** The current token, or null when unauthenticated. */
  token(): string | null;
  /** Replaces the token (null or "" means unauthenticated). */
  set(token: string | null): void;
  /** Live and read-only: a frozen object whose methods read the current state on every call. */
  readonly accessor: PluginAuthAccessor;
}

/** Creates the auth state. An empty string is treated as no token, so `isAuthenticated` never lies. */
export function createAuthState(initialToken: string | null = null): AuthState {
  let current = normalize(initialToken);

  const accessor: PluginAuthAccessor = Object.freeze({
    isAuthenticated: () => current !== null,
    getToken: () => current,
  });

  return Object.freeze({
    token: () => current,
    set(token: string | null): void {
      current = normalize(token);
    },
    accessor,
  });
}

function normalize(token: string | null | undefined): string | null {
  if (token === null || token === undefined || token === "") return null;
  if (typeof token !== "string") {
    throw new TypeError(`An auth token must be a string or null, got ${typeof token}.`);
  }
  return token;
}
