// Issue 13, heap per idle plugin: V8 must keep every plugin actor's context a fast object. XState copies the
// context with Object.assign({}, …) at each assign, and past 19 keys that copy is a dictionary (~830 bytes more
// per plugin, slower reads). Checked in a child node with --allow-natives-syntax, on dist/ (built by the
// global setup), because only V8 itself can say which representation it chose.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { MAX_FAST_CONTEXT_KEYS } from "../../src/machines/plugin.machine.js";

const script = path.resolve(import.meta.dirname, "../fixtures/engine/context-shape.mjs");

describe("plugin machine context representation (issue 13)", () => {
  it("stays a fast object from loading to stopped, so an idle plugin holds no dictionary", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--allow-natives-syntax", script], {
      timeout: 60_000,
    });
    const report = JSON.parse(stdout);
    expect(report.state).toBe('{"active":"running"}');
    expect(report.keys).toBeLessThanOrEqual(MAX_FAST_CONTEXT_KEYS);
    expect(report).toMatchObject({ initial: true, loaded: true, running: true, stopped: true });
  });
});
