// livery-gallery is UI-only: hangar/testing has no lifecycle to drive, and says so instead of failing.
import { fileURLToPath } from "node:url";
import { testPluginLifecycle } from "hangar/testing";
import { expect, it } from "vitest";

it("livery-gallery has no background lifecycle to test", async () => {
  const report = await testPluginLifecycle(fileURLToPath(new URL(".", import.meta.url)));
  expect(report.ok, report.format()).toBe(true);
  expect(report.paths.every((path) => path.outcome === "skipped")).toBe(true);
  expect(report.format()).toContain("UI-only plugin");
});
