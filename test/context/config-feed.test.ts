// The config feed: every durable write, the background's or a UI's, is published once with the next revision,
// carrying the value as it was at the call; a write that fails publishes every value again.
import { describe, expect, it } from "vitest";
import type { ConfigBackend } from "../../src/context/config-backend.js";
import { createConfigFeed } from "../../src/context/config-feed.js";
import { createFileConfigBackend } from "../../src/context/config-file.js";
import type { ConfigChange } from "../../src/ipc/ui-protocol.js";
import type { JsonValue, PluginConfigStore } from "../../src/sdk/types.js";
import { createWorkspace } from "../support/plugins.js";

describe("createConfigFeed", () => {
  it("numbers durable changes in order and publishes the value as it was when set() was called", async () => {
    const ws = await createWorkspace();
    try {
      const published: ConfigChange[] = [];
      const feed = createConfigFeed(createFileConfigBackend({ dataDir: ws.dataDir }), {
        publish: (change) => published.push(change),
      });
      const store = feed.backend.store("radar");
      const links = { runway: "27L" };
      const writes = [store.set("links", links), store.set("range", 10), store.delete("range")];
      links.runway = "09R"; // after the call: neither stored nor published
      await Promise.all(writes);
      expect(published.map(({ kind, revision }) => [kind, revision])).toEqual([
        ["set", 1],
        ["set", 2],
        ["delete", 3],
      ]);
      expect(published[0]).toMatchObject({ key: "links", value: { runway: "27L" } });
      const snapshot = await feed.snapshot("radar");
      expect(snapshot).toMatchObject({ revision: 3, values: { links: { runway: "27L" } } });
      expect(snapshot.epoch).toBe(published[0]?.epoch);
      // A UI's write goes through the same store and validation.
      await expect(feed.set("radar", "f", () => 1)).rejects.toThrow(
        /not plain JSON data: value is a function/,
      );
      expect(await feed.set("radar", "range", 20)).toMatchObject({ kind: "set", revision: 4, value: 20 });
      expect(published).toHaveLength(4);
      // Another shell (a restart) has another epoch: a UI knows its revisions no longer count.
      const again = createConfigFeed(createFileConfigBackend({ dataDir: ws.dataDir }), { publish: () => {} });
      expect((await again.snapshot("radar")).epoch).not.toBe(snapshot.epoch);
    } finally {
      await ws.cleanup();
    }
  });

  it("publishes every value again when a write fails, so no UI keeps a value that is not on disk", async () => {
    const values = new Map<string, JsonValue>([["range", 10]]);
    const failing: PluginConfigStore = {
      get: async () => undefined,
      getAll: async () => Object.fromEntries(values),
      set: async () => {
        throw Object.assign(new Error("disk full"), { code: "HANGAR_CONFIG_WRITE" });
      },
      delete: async () => {},
    };
    const backend: ConfigBackend = { store: () => failing, flush: async () => {} };
    const published: ConfigChange[] = [];
    const feed = createConfigFeed(backend, { publish: (change) => published.push(change) });
    await expect(feed.backend.store("radar").set("range", 99)).rejects.toThrow("disk full");
    await expect
      .poll(() => published)
      .toEqual([expect.objectContaining({ kind: "reset", revision: 1, values: { range: 10 } })]);
  });
});
