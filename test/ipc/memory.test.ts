// Tests the in-memory IPC transport against Electron's documented behaviour and error strings.
import { describe, expect, it } from "vitest";
import { createMemoryIpc } from "../../src/ipc/memory.js";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("invoke / handle", () => {
  it("calls the handler with the payload and resolves with its (async) result", async () => {
    const ipc = createMemoryIpc();
    ipc.handle("plugin:p:add", async (payload) => {
      const { a, b } = payload as { a: number; b: number };
      return { sum: a + b };
    });
    await expect(ipc.invoke("plugin:p:add", { a: 2, b: 3 })).resolves.toEqual({ sum: 5 });
  });

  it("throws Electron's error when a second handler is registered for a channel", () => {
    const ipc = createMemoryIpc();
    ipc.handle("plugin:p:x", () => 1);
    expect(() => ipc.handle("plugin:p:x", () => 2)).toThrow(
      new Error("Attempted to register a second handler for 'plugin:p:x'"),
    );
  });

  it("rejects an invoke with no handler, in Electron's words", async () => {
    const ipc = createMemoryIpc();
    await expect(ipc.invoke("plugin:p:missing")).rejects.toThrow(
      "Error invoking remote method 'plugin:p:missing': No handler registered for 'plugin:p:missing'",
    );
  });

  it("rejects with the handler's error as text, as a renderer would see it", async () => {
    const ipc = createMemoryIpc();
    ipc.handle("plugin:p:sync", () => {
      throw new Error("sync failure");
    });
    ipc.handle("plugin:p:async", async () => {
      throw new TypeError("async failure");
    });
    await expect(ipc.invoke("plugin:p:sync")).rejects.toThrow(
      "Error invoking remote method 'plugin:p:sync': Error: sync failure",
    );
    await expect(ipc.invoke("plugin:p:async")).rejects.toThrow(
      "Error invoking remote method 'plugin:p:async': TypeError: async failure",
    );
  });

  it("removeHandler is silent and frees the channel", async () => {
    const ipc = createMemoryIpc();
    ipc.removeHandler("plugin:p:none");
    ipc.handle("plugin:p:x", () => "first");
    ipc.removeHandler("plugin:p:x");
    await expect(ipc.invoke("plugin:p:x")).rejects.toThrow("No handler registered for 'plugin:p:x'");
    ipc.handle("plugin:p:x", () => "second");
    await expect(ipc.invoke("plugin:p:x")).resolves.toBe("second");
  });

  it("structured-clones payload and result as they cross", async () => {
    const ipc = createMemoryIpc();
    const kept = { list: [1] };
    let received: { list: number[] } | undefined;
    ipc.handle("plugin:p:echo", (payload) => {
      received = payload as { list: number[] };
      received.list.push(99);
      return kept;
    });
    const payload = { list: [1, 2], when: new Date(0) };
    const result = (await ipc.invoke("plugin:p:echo", payload)) as { list: number[] };

    expect(payload.list).toEqual([1, 2]);
    expect(received).not.toBe(payload);
    expect((received as unknown as { when: Date }).when).toBeInstanceOf(Date);
    result.list.push(5);
    expect(kept.list).toEqual([1]);
  });

  it("rejects an uncloneable payload before the handler runs, and an uncloneable result", async () => {
    const ipc = createMemoryIpc();
    let calls = 0;
    ipc.handle("plugin:p:x", () => {
      calls++;
      return { fn: () => 1 };
    });
    await expect(ipc.invoke("plugin:p:x", { fn: () => 1 })).rejects.toMatchObject({ name: "DataCloneError" });
    expect(calls).toBe(0);
    await expect(ipc.invoke("plugin:p:x")).rejects.toThrow(
      /Error invoking remote method 'plugin:p:x': DataCloneError/,
    );
  });

  it("never runs the handler inside the caller's synchronous code", async () => {
    const ipc = createMemoryIpc();
    const order: string[] = [];
    ipc.handle("plugin:p:x", () => order.push("handler"));
    const pending = ipc.invoke("plugin:p:x");
    order.push("after invoke");
    await pending;
    expect(order).toEqual(["after invoke", "handler"]);
  });
});

describe("send / on", () => {
  it("delivers to every listener of the channel, each with its own clone of the payload at send time", async () => {
    const ipc = createMemoryIpc();
    const a: unknown[] = [];
    const b: unknown[] = [];
    ipc.on("plugin:p:status", (payload) => a.push(payload));
    ipc.on("plugin:p:status", (payload) => b.push(payload));
    ipc.on("plugin:p:other", () => {
      throw new Error("wrong channel");
    });
    const payload = { pilots: 42 };
    ipc.send("plugin:p:status", payload);
    payload.pilots = 0;
    await tick();

    expect(a).toEqual([{ pilots: 42 }]);
    expect(b).toEqual([{ pilots: 42 }]);
    expect(a[0]).not.toBe(b[0]);
    expect(a[0]).not.toBe(payload);
  });

  it("stops delivering after unsubscribe, even for a send already made", async () => {
    const ipc = createMemoryIpc();
    const seen: unknown[] = [];
    const off = ipc.on("plugin:p:x", (payload) => seen.push(payload));
    ipc.send("plugin:p:x", 1);
    await tick();
    ipc.send("plugin:p:x", 2);
    off();
    await tick();
    ipc.send("plugin:p:x", 3);
    await tick();
    expect(seen).toEqual([1]);
  });

  it("a listener that throws does not break send or the other listeners, and is reported", async () => {
    const reported: [unknown, string][] = [];
    const ipc = createMemoryIpc({ onListenerError: (error, channel) => reported.push([error, channel]) });
    const seen: unknown[] = [];
    ipc.on("plugin:p:x", () => {
      throw new Error("renderer bug");
    });
    ipc.on("plugin:p:x", (payload) => seen.push(payload));
    expect(() => ipc.send("plugin:p:x", "hello")).not.toThrow();
    await tick();
    expect(seen).toEqual(["hello"]);
    expect(reported).toEqual([[expect.objectContaining({ message: "renderer bug" }), "plugin:p:x"]]);
  });

  it("throws at send when the payload cannot be cloned", () => {
    const ipc = createMemoryIpc();
    expect(() => ipc.send("plugin:p:x", { fn: () => 1 })).toThrow(
      expect.objectContaining({ name: "DataCloneError" }),
    );
  });

  it("send with no listeners is a no-op", () => {
    const ipc = createMemoryIpc();
    expect(() => ipc.send("plugin:p:nobody", { ok: true })).not.toThrow();
  });
});
