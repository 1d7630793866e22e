// hangar/client where there is no global WebSocket (Node 20): a clear error naming the fix, not a ReferenceError.
import { afterEach, expect, it } from "vitest";
import { connectHangar } from "../../src/client/index.js";

const original = Object.getOwnPropertyDescriptor(globalThis, "WebSocket");
afterEach(() => {
  if (original) Object.defineProperty(globalThis, "WebSocket", original);
});

it("says what connectHangar() needs when the runtime has no WebSocket", () => {
  if (original) delete (globalThis as { WebSocket?: unknown }).WebSocket;
  expect(() => connectHangar("ws://127.0.0.1:9/_hangar/ipc")).toThrow(
    /needs a global WebSocket.*Node 20 has none: run node with --experimental-websocket/,
  );
});
