// fleet-board's own lifecycle test, as a plugin author writes it: hangar/testing drives the plugin through
// every lifecycle path on a real test shell and reports anything to fix.
import { fileURLToPath } from "node:url";
import { testPluginLifecycle } from "hangar/testing";
import { expect, it } from "vitest";

it("fleet-board survives every lifecycle path", async () => {
  const report = await testPluginLifecycle(fileURLToPath(new URL(".", import.meta.url)));
  expect(report.ok, report.format()).toBe(true);
  // No onResume: an OTA update restarts it, and its routes and IPC handler come back on the fresh context.
  expect(report.paths.find((path) => path.path === "ota-update")?.note).toBe("onStop → onStart");
});
