// pilot-notes' own lifecycle test: with onResume, an OTA update must register its routes again on the fresh
// context (the report would show HANGAR_TEST_REGISTRATIONS_LOST otherwise), and a timed-out onResume recovers.
import { fileURLToPath } from "node:url";
import { testPluginLifecycle } from "hangar/testing";
import { expect, it } from "vitest";

it("pilot-notes survives every lifecycle path, onResume included", async () => {
  const report = await testPluginLifecycle(fileURLToPath(new URL(".", import.meta.url)));
  expect(report.ok, report.format()).toBe(true);
  expect(report.paths.find((path) => path.path === "ota-update")?.note).toBe("onResume");
  expect(report.paths.find((path) => path.path === "resume-timeout")?.outcome).toBe("passed");
});
