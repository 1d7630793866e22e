// validatePlugins, as `hangar validate` runs it: every fixture plugin, plus dependsOn problems across plugins.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { validatePlugins } from "../../src/actors/validate-plugins.js";
import { HangarError } from "../../src/errors.js";

const fixtures = fileURLToPath(new URL("../fixtures/plugins-load/", import.meta.url));

describe("validatePlugins", () => {
  it("reports each fixture plugin with the codes a user would see", async () => {
    const reports = await validatePlugins([fixtures]);
    const verdicts = Object.fromEntries(
      reports.map((report) => [report.id, report.problems.map((p) => p.code)]),
    );
    expect(verdicts).toEqual({
      "broken-syntax": ["HANGAR_MODULE_IMPORT"],
      cjs: [],
      cts: [],
      "default-missing-onstop": ["HANGAR_MODULE_CONTRACT"],
      "js-esm": [],
      mjs: [],
      "no-onstop": ["HANGAR_MODULE_CONTRACT"],
      "not-a-function": ["HANGAR_MODULE_CONTRACT"],
      "throws-at-import": ["HANGAR_MODULE_IMPORT"],
      "ts-default": [],
      "ts-named": [],
      "ui-only": [],
    });
    expect(reports.map((report) => report.id)).toEqual(Object.keys(verdicts).sort());
    for (const report of reports) {
      expect(report.ok).toBe(report.problems.length === 0);
      expect(path.isAbsolute(report.folder)).toBe(true);
    }
  });

  describe("across plugins", () => {
    let root: string;

    beforeEach(async () => {
      root = await mkdtemp(path.join(os.tmpdir(), "hangar-validate-"));
      await writeFile(path.join(root, "package.json"), JSON.stringify({ type: "module" }));
    });

    afterEach(async () => {
      await rm(root, { recursive: true, force: true });
    });

    async function plugin(name: string, manifest: Record<string, unknown> | string): Promise<void> {
      const folder = path.join(root, "plugins", name);
      await mkdir(folder, { recursive: true });
      await writeFile(
        path.join(folder, "plugin.json"),
        typeof manifest === "string" ? manifest : JSON.stringify({ version: "1.0.0", ...manifest }),
      );
      await writeFile(
        path.join(folder, "index.mjs"),
        "export function onStart() {}\nexport function onStop() {}\n",
      );
    }
    const background = { entryModule: "index.mjs" };

    it("reports missing dependencies, cycles and their dependents, and duplicate ids", async () => {
      await plugin("base", { id: "base", background });
      await plugin("needs-ghost", { id: "needs-ghost", background, dependsOn: ["ghost"] });
      await plugin("needs-ui", { id: "needs-ui", background, dependsOn: ["ui"] });
      await plugin("ui", { id: "ui" });
      await plugin("ping", { id: "ping", background, dependsOn: ["pong"] });
      await plugin("pong", { id: "pong", background, dependsOn: ["ping", "base"] });
      await plugin("stuck", { id: "stuck", background, dependsOn: ["base", "ping"] });
      await plugin("z-copy-of-base", { id: "base", background });
      await plugin("fine", { id: "fine", background, dependsOn: ["base"] });
      await plugin("garbled", "{");

      const reports = await validatePlugins([path.join(root, "plugins")]);
      const byId = new Map(reports.map((report) => [report.id, report]));
      const codes = (id: string) => byId.get(id)?.problems.map((problem) => problem.code);

      expect(codes("base")).toEqual([]);
      expect(codes("fine")).toEqual([]);
      expect(codes("ui")).toEqual([]);
      expect(codes("needs-ghost")).toEqual(["HANGAR_DEPENDENCY_MISSING"]);
      expect(byId.get("needs-ghost")?.problems[0]?.message).toContain("'ghost'");
      // A UI-only plugin never runs, so it cannot satisfy a dependency.
      expect(codes("needs-ui")).toEqual(["HANGAR_DEPENDENCY_MISSING"]);
      expect(codes("ping")).toEqual(["HANGAR_DEPENDENCY_CYCLE"]);
      expect(byId.get("ping")?.problems[0]?.message).toContain("ping → pong → ping");
      expect(codes("pong")).toEqual(["HANGAR_DEPENDENCY_CYCLE"]);
      expect(codes("stuck")).toEqual(["HANGAR_DEPENDENCY_CYCLE"]);
      expect(codes("z-copy-of-base")).toEqual(["HANGAR_MANIFEST_DUPLICATE_ID"]);
      expect(codes("garbled")).toEqual(["HANGAR_MANIFEST_UNREADABLE"]);
      expect(reports.filter((report) => report.ok).map((report) => report.id)).toEqual([
        "base",
        "fine",
        "ui",
      ]);
    });

    it("checks ui.entry: a missing file or a bad path is an error naming the plugin, the field and the fix", async () => {
      await plugin("built", { id: "built", background, ui: { entry: "ui/dist/index.js" } });
      await mkdir(path.join(root, "plugins", "built", "ui", "dist"), { recursive: true });
      await writeFile(
        path.join(root, "plugins", "built", "ui", "dist", "index.js"),
        "export default () => null;\n",
      );
      await plugin("unbuilt", { id: "unbuilt", ui: { entry: "ui/dist/index.js" } });
      await plugin("typo", { id: "typo", background, ui: { entry: "ui/dist/indx.js" } });
      await mkdir(path.join(root, "plugins", "typo", "ui", "dist"), { recursive: true });
      await writeFile(
        path.join(root, "plugins", "typo", "ui", "dist", "index.js"),
        "export default () => null;\n",
      );
      await plugin("escapes", { id: "escapes", ui: { entry: "../built/ui/dist/index.js" } });
      await plugin("source", { id: "source", ui: { entry: "index.mjs" } });
      await plugin("tsx", { id: "tsx", ui: { entry: "ui/index.tsx" } });
      await mkdir(path.join(root, "plugins", "tsx", "ui"), { recursive: true });
      await writeFile(path.join(root, "plugins", "tsx", "ui", "index.tsx"), "export default () => null;\n");
      await plugin("no-entry", { id: "no-entry", ui: { route: "/somewhere" } });

      const reports = await validatePlugins([path.join(root, "plugins")]);
      const byId = new Map(reports.map((report) => [report.id, report]));

      expect(byId.get("built")).toMatchObject({ ok: true, problems: [], warnings: [] });
      expect(byId.get("source")).toMatchObject({ ok: true, problems: [], warnings: [] });
      expect(byId.get("no-entry")).toMatchObject({ ok: true, problems: [], warnings: [] });
      expect(byId.get("unbuilt")?.problems).toEqual([
        {
          code: "HANGAR_ENTRY_NOT_FOUND",
          message: expect.stringMatching(
            /^Plugin 'unbuilt': plugin\.json's ui\.entry "ui\/dist\/index\.js" does not exist: build the UI/,
          ),
        },
      ]);
      expect(byId.get("typo")?.problems[0]?.message).toContain(
        '"ui/dist/indx.js" does not exist (did you mean "ui/dist/index.js"?)',
      );
      expect(byId.get("escapes")?.problems).toEqual([
        {
          code: "HANGAR_MANIFEST_INVALID",
          message: expect.stringContaining("leads outside the plugin folder"),
        },
      ]);
      // A source entry that exists: another shell may bundle it, hangar's page cannot mount it.
      expect(byId.get("tsx")).toMatchObject({ ok: true, problems: [] });
      expect(byId.get("tsx")?.warnings[0]?.message).toContain('"ui/index.tsx" is not a .js or .mjs module');
    });

    it("throws HANGAR_SHELL_OPTIONS for a path that does not exist", async () => {
      const error = await validatePlugins([path.join(root, "missing")]).catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(HangarError);
      expect((error as HangarError).code).toBe("HANGAR_SHELL_OPTIONS");
    });
  });
});
