// The example plugins, run by a real shell on port 0 with real config files: what a plugin author would try.
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import express from "express";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createFileConfigBackend,
  createMemoryIpc,
  createShell,
  type MemoryIpc,
  type Shell,
} from "../../src/index.js";

const examples = fileURLToPath(new URL("../../examples/plugins", import.meta.url));

let dataDir: string;
let logs: string[];
let ipc: MemoryIpc;
const shells: Shell[] = [];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "hangar-examples-"));
  logs = [];
  ipc = createMemoryIpc();
});

afterEach(async () => {
  for (const shell of shells.splice(0)) await shell.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** Starts a shell on the examples and returns it with its base URL. */
async function startShell(): Promise<{ shell: Shell; url: string }> {
  const shell = createShell({
    plugins: [examples],
    dataDir,
    server: { port: 0 },
    ipc,
    log: { format: "json", level: "debug", destination: { write: (chunk: string) => logs.push(chunk) } },
  });
  shells.push(shell);
  await shell.start();
  const url = shell.status().server.url;
  if (!url) throw new Error("the shell has no server URL after start");
  return { shell, url };
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

async function postJson(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** A stand-in for the VA's fleet API, on a real port: records the Authorization header it receives. */
async function startUpstream(
  fleet: unknown[],
): Promise<{ url: string; authorizations: string[]; server: Server }> {
  const authorizations: string[] = [];
  const app = express();
  app.get("/fleet", (req, res) => {
    authorizations.push(req.headers.authorization ?? "");
    res.json(fleet);
  });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fleet`, authorizations, server };
}

describe("the example plugins", () => {
  it("start together: three background plugins run, the UI-only gallery is inactive", async () => {
    const { shell } = await startShell();
    const states = Object.fromEntries(shell.status().plugins.map((p) => [p.id, [p.state, p.background]]));
    expect(states).toEqual({
      "fleet-board": ["running", true],
      "flight-tracker": ["running", true],
      "pilot-notes": ["running", true],
      "livery-gallery": ["inactive", false],
    });
  });
});

describe("fleet-board", () => {
  it("serves the bundled fleet over HTTP and IPC while no upstream is set", async () => {
    const { url } = await startShell();
    const fleet = await getJson(`${url}/api/fleet-board/fleet`);
    expect(fleet.status).toBe(200);
    expect(fleet.body).toMatchObject({
      success: true,
      data: expect.arrayContaining([expect.objectContaining({ tail: "G-HGRA" })]),
    });
    expect((fleet.body as { data: unknown[] }).data).toHaveLength(5);

    expect(await getJson(`${url}/api/fleet-board/fleet/g-hgrc`)).toMatchObject({
      status: 200,
      body: { success: true, data: { tail: "G-HGRC", type: "A321neo", status: "maintenance" } },
    });
    expect(await getJson(`${url}/api/fleet-board/fleet/N12345`)).toMatchObject({
      status: 404,
      body: { success: false, error: expect.stringContaining("N12345") },
    });

    expect(await ipc.invoke("plugin:fleet-board:get-fleet", undefined)).toEqual(fleet.body);
  });

  it("rejects an upstream URL that is not http(s), and keeps the bundled fleet", async () => {
    const { url } = await startShell();
    for (const upstreamUrl of ["ftp://fleet.example/fleet", "not a url", 42, undefined]) {
      const answer = await postJson(`${url}/api/fleet-board/config`, { upstreamUrl });
      expect(answer).toMatchObject({
        status: 400,
        body: { success: false, error: expect.stringContaining("upstreamUrl") },
      });
    }
    const fleet = await getJson(`${url}/api/fleet-board/fleet`);
    expect((fleet.body as { data: unknown[] }).data).toHaveLength(5);
  });

  it("fetches from a configured upstream with the shell's token, remembers it across restarts, and reports an outage", async () => {
    const upstreamFleet = [
      { tail: "N801VA", type: "B737-800", name: "Mile High", base: "KSFO", status: "available", hours: 10 },
    ];
    const upstream = await startUpstream(upstreamFleet);
    try {
      const first = await startShell();
      first.shell.setAuth({ token: "va-session-1" });
      expect(
        await postJson(`${first.url}/api/fleet-board/config`, { upstreamUrl: upstream.url }),
      ).toMatchObject({
        status: 200,
        body: { success: true, data: { upstreamUrl: upstream.url } },
      });
      expect(await getJson(`${first.url}/api/fleet-board/fleet/N801VA`)).toMatchObject({
        status: 200,
        body: { success: true, data: { name: "Mile High" } },
      });
      expect(upstream.authorizations).toEqual(["Bearer va-session-1"]);
      await first.shell.stop();

      const second = await startShell();
      const fleet = await getJson(`${second.url}/api/fleet-board/fleet`);
      expect(fleet.body).toEqual({ success: true, data: upstreamFleet });
      expect(upstream.authorizations.at(-1)).toBe("");

      await new Promise((resolve) => upstream.server.close(resolve));
      expect(await getJson(`${second.url}/api/fleet-board/fleet`)).toEqual({
        status: 502,
        body: { success: false, error: "Failed to fetch fleet" },
      });
      expect(logs.some((line) => line.includes("Failed to fetch fleet"))).toBe(true);

      // null switches back to the bundled fleet.
      await postJson(`${second.url}/api/fleet-board/config`, { upstreamUrl: null });
      expect(
        ((await getJson(`${second.url}/api/fleet-board/fleet`)).body as { data: unknown[] }).data,
      ).toHaveLength(5);
    } finally {
      upstream.server.close();
    }
  });
});

describe("flight-tracker", () => {
  it("pushes positions at the configured interval and stops pushing once stopped", async () => {
    // Configure through the same file backend the shell uses, as a settings screen would have.
    const config = createFileConfigBackend({ dataDir });
    await config.store("flight-tracker").set("intervalMs", 100);
    await config.flush();

    const updates: unknown[] = [];
    ipc.on("plugin:flight-tracker:position-update", (payload) => updates.push(payload));
    const { shell, url } = await startShell();
    while (updates.length < 3) await sleep(20);
    expect(updates[0]).toMatchObject({ callsign: "HGR101", tail: "G-HGRA", from: "EGLL", to: "KJFK" });

    expect(await getJson(`${url}/api/flight-tracker/position`)).toMatchObject({
      status: 200,
      body: { success: true, data: { callsign: "HGR101", lat: expect.any(Number), lon: expect.any(Number) } },
    });

    await shell.stop();
    const afterStop = updates.length;
    await sleep(350);
    expect(updates).toHaveLength(afterStop);
    expect(logs.some((line) => line.includes("Stopped tracking HGR101"))).toBe(true);
  });
});

describe("pilot-notes", () => {
  it("keeps notes across restarts, and re-registers its routes after an update", async () => {
    const first = await startShell();
    const notesUrl = `${first.url}/api/pilot-notes/notes`;
    expect(await postJson(notesUrl, { text: "   " })).toMatchObject({
      status: 400,
      body: { success: false },
    });

    // Posted at once: neither may overwrite the other.
    const posted = await Promise.all([
      postJson(notesUrl, { text: "Fuel at EGLL is slow on stand 512" }),
      postJson(notesUrl, { text: "KJFK 31L ILS out until Friday" }),
    ]);
    expect(posted.map((answer) => answer.status)).toEqual([201, 201]);
    await first.shell.stop();

    const second = await startShell();
    const texts = async () =>
      ((await getJson(`${second.url}/api/pilot-notes/notes`)).body as { data: { text: string }[] }).data.map(
        (note) => note.text,
      );
    expect((await texts()).sort()).toEqual([
      "Fuel at EGLL is slow on stand 512",
      "KJFK 31L ILS out until Friday",
    ]);

    await second.shell.update();
    expect(second.shell.status().plugins.find((p) => p.id === "pilot-notes")?.state).toBe("running");
    expect(logs.some((line) => line.includes("routes re-registered on the fresh context"))).toBe(true);
    expect(await texts()).toHaveLength(2);
    expect(await postJson(`${second.url}/api/pilot-notes/notes`, { text: "After the update" })).toMatchObject(
      {
        status: 201,
      },
    );
    expect(await texts()).toHaveLength(3);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
