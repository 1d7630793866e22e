// flight-tracker's own lifecycle test: its polling timer must stop with the plugin on every path (the cycles
// path would report a timer left running), and fleet-board, which it depends on, is found beside it.
import { fileURLToPath } from "node:url";
import { testPluginLifecycle } from "hangar/testing";
import { expect, it } from "vitest";

it("flight-tracker survives every lifecycle path without leaving its poller behind", async () => {
  const report = await testPluginLifecycle(fileURLToPath(new URL(".", import.meta.url)));
  expect(report.ok, report.format()).toBe(true);
  expect(report.paths.find((path) => path.path === "cycles")?.outcome).toBe("passed");
});
