// makeDirectory: `mkdir -p` that ends where Node 20's recursive mkdir spins forever (a dangling link, procfs).
import { mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeDirectory, makeDirectorySync } from "../../src/base/directories.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "hangar-mkdir-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe.each([
  ["makeDirectory", (folder: string) => makeDirectory(folder)],
  ["makeDirectorySync", async (folder: string) => makeDirectorySync(folder)],
])("%s", (_name, make) => {
  it("creates missing parents and resolves with the outermost folder it created, as mkdir -p does", async () => {
    expect(await make(join(dir, "a", "b", "c"))).toBe(join(dir, "a"));
    expect((await stat(join(dir, "a", "b", "c"))).isDirectory()).toBe(true);
    expect(await make(join(dir, "a", "b", "c"))).toBeUndefined();
    expect(await make(join(dir, "a", "b", "d"))).toBe(join(dir, "a", "b", "d"));
  });

  it("refuses a file in the way", async () => {
    await writeFile(join(dir, "file"), "");
    await expect(make(join(dir, "file"))).rejects.toMatchObject({ code: "EEXIST" });
    await expect(make(join(dir, "file", "sub"))).rejects.toMatchObject({ code: "ENOTDIR" });
  });

  it("throws ENOENT under a dangling symbolic link instead of spinning", async () => {
    await symlink(join(dir, "gone"), join(dir, "dangling"));
    await expect(make(join(dir, "dangling", "x", "y"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it.runIf(process.platform === "linux")("throws ENOENT in /proc instead of spinning", async () => {
    await expect(make(`/proc/hangar-test-${process.pid}/x`)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
