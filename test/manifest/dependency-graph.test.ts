// analyseDependencies: missing ids, cycles (named as a → b → a) and the plugins stuck behind a cycle.
import { describe, expect, it } from "vitest";
import { analyseDependencies } from "../../src/manifest/dependency-graph.js";

describe("analyseDependencies", () => {
  it("finds nothing wrong in a graph without missing ids or cycles", () => {
    const problems = analyseDependencies([
      { id: "a" },
      { id: "b", dependsOn: ["a"] },
      { id: "c", dependsOn: ["a", "b"] },
    ]);
    expect([...problems]).toEqual([]);
  });

  it("reports a dependency that is not among the plugins, naming both", () => {
    const problems = analyseDependencies([
      { id: "a", dependsOn: ["ghost"] },
      { id: "b", dependsOn: ["a"] },
    ]);
    expect(problems.get("a")?.code).toBe("HANGAR_DEPENDENCY_MISSING");
    expect(problems.get("a")?.message).toContain("'a'");
    expect(problems.get("a")?.message).toContain("'ghost'");
    // b waits for a, which errors at runtime; that is reported then, as HANGAR_DEPENDENCY_FAILED.
    expect(problems.has("b")).toBe(false);
  });

  it("names the cycle for every plugin on it", () => {
    const problems = analyseDependencies([
      { id: "a", dependsOn: ["b"] },
      { id: "b", dependsOn: ["a"] },
      { id: "free" },
    ]);
    expect(problems.get("a")).toEqual({
      code: "HANGAR_DEPENDENCY_CYCLE",
      message: expect.stringContaining("a → b → a"),
    });
    expect(problems.get("b")?.message).toContain("b → a → b");
    expect(problems.has("free")).toBe(false);
  });

  it("names a longer cycle in dependency order", () => {
    const problems = analyseDependencies([
      { id: "a", dependsOn: ["b"] },
      { id: "b", dependsOn: ["c"] },
      { id: "c", dependsOn: ["a"] },
    ]);
    expect(problems.get("a")?.message).toContain("a → b → c → a");
    expect(problems.get("c")?.message).toContain("c → a → b → c");
  });

  it("reports a plugin that depends on itself", () => {
    const problems = analyseDependencies([{ id: "loop", dependsOn: ["loop"] }]);
    expect(problems.get("loop")?.message).toContain("loop → loop");
  });

  it("reports the plugins that depend on a cycle, directly or not, with the route to it", () => {
    const problems = analyseDependencies([
      { id: "top", dependsOn: ["middle"] },
      { id: "middle", dependsOn: ["a"] },
      { id: "a", dependsOn: ["b"] },
      { id: "b", dependsOn: ["a"] },
      { id: "bystander", dependsOn: ["other"] },
      { id: "other" },
    ]);
    expect(problems.get("middle")?.code).toBe("HANGAR_DEPENDENCY_CYCLE");
    expect(problems.get("middle")?.message).toContain("a → b → a");
    expect(problems.get("top")?.code).toBe("HANGAR_DEPENDENCY_CYCLE");
    expect(problems.get("top")?.message).toContain("top → middle → a");
    expect(problems.has("bystander")).toBe(false);
    expect(problems.has("other")).toBe(false);
  });

  it("keeps the order the plugins were given", () => {
    const problems = analyseDependencies([
      { id: "x", dependsOn: ["y"] },
      { id: "y", dependsOn: ["z"] },
      { id: "z", dependsOn: ["x"] },
      { id: "w", dependsOn: ["nope"] },
    ]);
    expect([...problems.keys()]).toEqual(["x", "y", "z", "w"]);
  });

  it("handles a long chain of dependents without overflowing the stack, eliding the route", () => {
    const count = 20_000;
    const nodes = Array.from({ length: count }, (_, i) => ({
      id: `c${i}`,
      dependsOn: [i === count - 1 ? "a" : `c${i + 1}`],
    }));
    const problems = analyseDependencies([
      ...nodes,
      { id: "a", dependsOn: ["b"] },
      { id: "b", dependsOn: ["a"] },
    ]);
    expect(problems.size).toBe(count + 2);
    expect(problems.get("c0")?.message).toContain("c0 → c1 → c2 → c3 → … → a");
    expect(problems.get("c0")?.message).toContain("a → b → a");
  });

  it("handles one huge cycle, eliding its middle", () => {
    const count = 20_000;
    const nodes = Array.from({ length: count }, (_, i) => ({
      id: `p${i}`,
      dependsOn: i === count - 1 ? ["p0"] : [`p${i + 1}`],
    }));
    const problems = analyseDependencies(nodes);
    expect(problems.size).toBe(count);
    expect(problems.get("p0")?.code).toBe("HANGAR_DEPENDENCY_CYCLE");
    expect(problems.get("p0")?.message).toContain(
      `p0 → p1 → p2 → p3 → … ${count - 5} more … → p${count - 1} → p0`,
    );
    expect(problems.get("p7")?.message).toContain(`one of ${count} plugins`);
  });
});
