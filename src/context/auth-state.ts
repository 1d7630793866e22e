// The shell's live auth state, and the read-only view of it that every plugin context receives.
import type { PluginAuthAccessor } from "../sdk/types.js";

/** Called with the new token whenever it changes. */
export type AuthChangeListener = (token: string | null) => void;

/** The shell's side of auth: it reads and sets the token; plugins get only `accessor`. */
export interface AuthState {
  /** The current token, or null when unauthenticated. */
  token(): string | null;
  /** Replaces the token (null or "" means unauthenticated) and tells listeners if it changed. */
  set(token: string | null): void;
  /** Live and read-only: a frozen object whose methods read the current state on every call. */
  readonly accessor: PluginAuthAccessor;
  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(listener: AuthChangeListener): () => void;
}

export interface AuthStateOptions {
  /** Told when a change listener throws; the other listeners still run. Default: console.error. */
  onListenerError?: (error: unknown) => void;
}

/** Creates the auth state. An empty string is treated as no token, so `isAuthenticated` never lies. */
export function createAuthState(
  initialToken: string | null = null,
  options: AuthStateOptions = {},
): AuthState {
  let current = normalize(initialToken);
  const listeners = new Set<{ listener: AuthChangeListener }>();
  const onListenerError =
    options.onListenerError ??
    ((error: unknown) => console.error("hangar: an auth change listener threw:", error));

  const accessor: PluginAuthAccessor = Object.freeze({
    isAuthenticated: () => current !== null,
    getToken: () => current,
  });

  return Object.freeze({
    token: () => current,
    set(token: string | null): void {
      const next = normalize(token);
      if (next === current) return;
      current = next;
      // Each subscription is its own entry, so the same function subscribed twice is called twice.
      for (const entry of [...listeners]) {
        try {
          entry.listener(next);
        } catch (error) {
          onListenerError(error);
        }
      }
    },
    accessor,
    onChange(listener: AuthChangeListener): () => void {
      const entry = { listener };
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },
  });
}

function normalize(token: string | null | undefined): string | null {
  if (token === null || token === undefined || token === "") return null;
  if (typeof token !== "string") {
    throw new TypeError(`An auth token must be a string or null, got ${typeof token}.`);
  }
  return token;
}
