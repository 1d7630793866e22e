// Tests the shell's auth state and the live, read-only accessor plugins receive.
import { describe, expect, it } from "vitest";
import { createAuthState } from "../../src/context/auth-state.js";

describe("auth state", () => {
  it("starts unauthenticated by default, or with the initial token", () => {
    expect(createAuthState().token()).toBeNull();
    expect(createAuthState().accessor.isAuthenticated()).toBe(false);
    const auth = createAuthState("initial-token");
    expect(auth.accessor.getToken()).toBe("initial-token");
    expect(auth.accessor.isAuthenticated()).toBe(true);
  });

  it("gives plugins a live view: an accessor taken earlier sees later changes", () => {
    const auth = createAuthState(null);
    const accessor = auth.accessor;
    auth.set("fresh-token");
    expect(accessor.getToken()).toBe("fresh-token");
    expect(accessor.isAuthenticated()).toBe(true);
    auth.set(null);
    expect(accessor.getToken()).toBeNull();
    expect(accessor.isAuthenticated()).toBe(false);
  });

  it("treats an empty token as no token", () => {
    const auth = createAuthState("");
    expect(auth.token()).toBeNull();
    auth.set("x");
    auth.set("");
    expect(auth.accessor.isAuthenticated()).toBe(false);
  });

  it("gives a frozen accessor with no way to set the token", () => {
    const auth = createAuthState("t");
    const accessor = auth.accessor as unknown as Record<string, unknown>;
    expect(Object.isFrozen(accessor)).toBe(true);
    expect(Object.keys(accessor).sort()).toEqual(["getToken", "isAuthenticated"]);
    expect(() => {
      accessor.getToken = () => "forged";
    }).toThrow(TypeError);
    expect(auth.accessor.getToken()).toBe("t");
  });
});
