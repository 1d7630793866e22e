// RouteTable: namespace validation of mount paths, and register/dispose bookkeeping.
import express from "express";
import { describe, expect, it } from "vitest";
import { HangarError } from "../../src/errors.js";
import type { PluginRouter } from "../../src/sdk/types.js";
import { RouteTable } from "../../src/server/route-table.js";

const router = express.Router() as unknown as PluginRouter;

function registrationError(pluginId: string, path: string): HangarError {
  try {
    new RouteTable().register(pluginId, path, router);
  } catch (error) {
    if (error instanceof HangarError) return error;
    throw error;
  }
  throw new Error(`register('${pluginId}', '${path}') did not throw`);
}

describe("RouteTable.register namespace checks", () => {
  it.each(["/api/x", "/api/x/", "/api/x/v1", "/api/x/v1/admin", "/api/x/a.b_c~d-e"])("accepts %s", (path) => {
    const table = new RouteTable();
    table.register("x", path, router);
    expect(table.count("x")).toBe(1);
  });

  it.each([
    ["/api/other", "outside the plugin's namespace"],
    ["/api/x-other", "outside the plugin's namespace"],
    ["/api/x/../y", "dot segment"],
    ["/api/x/./y", "dot segment"],
    ["/", "outside the plugin's namespace"],
    ["/api", "outside the plugin's namespace"],
    ["/api/", "outside the plugin's namespace"],
    ["api/x", "does not start with '/'"],
    ["", "does not start with '/'"],
    ["/api//x", "empty segment"],
    ["/api/x//y", "empty segment"],
    ["/API/x", "outside the plugin's namespace"],
    ["/api/X", "outside the plugin's namespace"],
    ["/api/%78", "percent-encoding"],
    ["/api/x/%2e%2e/y", "percent-encoding"],
    ["/api/x/:id", "mount paths are literal"],
    ["/api/:id", "mount paths are literal"],
    ["/api/x/*rest", "mount paths are literal"],
    ["/api/x/(a)", "mount paths are literal"],
    ["/api/x/{y}", "mount paths are literal"],
    ["/api/x?y=1", "mount paths are literal"],
    ["/api/x\\..\\y", "mount paths are literal"],
    ["/api/x /y", "mount paths are literal"],
  ])("refuses %j (%s)", (path, reason) => {
    const error = registrationError("x", path);
    expect(error.code).toBe("HANGAR_ROUTE_NAMESPACE");
    expect(error.pluginId).toBe("x");
    expect(error.message).toContain("Plugin 'x'");
    expect(error.message).toContain(`'${path}'`);
    expect(error.message).toContain("'/api/x'");
    expect(error.message).toContain(reason);
  });

  it("refuses a plugin id that could not have a namespace", () => {
    for (const id of ["_shell", "../x", "X", ""]) {
      expect(registrationError(id, `/api/${id}`).code).toBe("HANGAR_ROUTE_NAMESPACE");
    }
  });

  it("refuses a router that is not a function, naming the plugin", () => {
    expect(() => new RouteTable().register("x", "/api/x", {} as unknown as PluginRouter)).toThrow(
      /Plugin 'x' passed a object to registerRouter\('\/api\/x'\)/,
    );
  });
});

describe("RouteTable bookkeeping", () => {
  it("counts registrations per plugin and forgets a disposed one", () => {
    const table = new RouteTable();
    const first = table.register("x", "/api/x", router);
    const second = table.register("x", "/api/x/admin", router);
    table.register("y", "/api/y", router);
    expect(table.count("x")).toBe(2);
    expect(table.has("y")).toBe(true);

    first.dispose();
    first.dispose();
    expect(table.count("x")).toBe(1);
    second.dispose();
    expect(table.has("x")).toBe(false);
    expect(table.count("y")).toBe(1);
  });
});
