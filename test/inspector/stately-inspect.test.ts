// Any XState inspect observer given to the shell still works: @statelyai/inspect's WebSocket inspector, with
// a local WebSocket server on loopback standing in for Stately's UI, receives the events of every actor.
import type { AddressInfo } from "node:net";
import { createWebSocketInspector } from "@statelyai/inspect";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { createWorkspace, testShell, type Workspace } from "../support/plugins.js";
import { writeFleet } from "./harness.js";

interface StatelyEvent {
  type: string;
  name?: string;
  sessionId: string;
  definition?: string;
  snapshot?: { value?: unknown };
  event?: { type?: string };
}

let ws: Workspace | undefined;
let server: WebSocketServer | undefined;
let stopInspector: (() => void) | undefined;
afterEach(async () => {
  stopInspector?.();
  for (const client of server?.clients ?? []) client.terminate();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await ws?.cleanup();
});

describe("@statelyai/inspect through createShell({ inspect })", () => {
  it("receives the shell's and every plugin's actors, events and snapshots over its WebSocket", async () => {
    server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((resolve) => server?.once("listening", () => resolve()));
    const received: StatelyEvent[] = [];
    server.on("connection", (socket) => {
      socket.on("message", (data) => received.push(JSON.parse(String(data)) as StatelyEvent));
    });
    const { port } = server.address() as AddressInfo;
    const inspector = createWebSocketInspector({ url: `ws://127.0.0.1:${port}` });
    stopInspector = () => inspector.stop();

    ws = await createWorkspace();
    await writeFleet(ws);
    // The shell's own inspector runs beside it: both observers see everything.
    const { shell } = testShell(ws, { inspect: inspector.inspect, inspector: true });
    await shell.start();
    await shell.update();

    const latestValue = (name: string) => {
      const sessionId = received.find(
        (event) => event.type === "@xstate.actor" && event.name === name,
      )?.sessionId;
      const snapshots = received.filter(
        (event) => event.type === "@xstate.snapshot" && event.sessionId === sessionId,
      );
      return snapshots.at(-1)?.snapshot?.value;
    };
    await expect.poll(() => latestValue("shell")).toBe("running");
    // A plugin's value is the machine's own: its steps are nested in `active` (docs/lifecycle.md).
    await expect.poll(() => latestValue("plugin:alpha")).toEqual({ active: "running" });
    expect(latestValue("plugin:gamma")).toBe("errored");
    expect(latestValue("plugin:ui-only")).toBe("inactive");
    // Invoked steps are actors too, each under its own session id.
    const names = received.filter((event) => event.type === "@xstate.actor").map((event) => event.name);
    expect(names).toContain("0.plugin.active.starting");
    await expect
      .poll(
        () =>
          received.filter((event) => event.type === "@xstate.event" && event.event?.type === "UPDATE").length,
      )
      .toBe(5);

    await shell.stop();
    expect(shell.status().state).toBe("stopped");
  });
});
