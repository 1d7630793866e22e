// The example shell's page: a plugin route over HTTP (fetch to 127.0.0.1:2066) and plugin IPC through
// window.hangar (invoke, and live updates pushed by flight-tracker). Runs in a sandboxed renderer: no Node.
import type { HangarBridge } from "hangar/preload";

/** Exposed by preload.ts through hangar/preload's exposePluginBridge. */
const { hangar } = window as unknown as { hangar: HangarBridge };

/** The shell's HTTP server (createShell's default host and port). */
const SHELL_URL = "http://127.0.0.1:2066";

interface Position {
  callsign: string;
  from: string;
  to: string;
  lat: number;
  lon: number;
  altitudeFt: number;
  progress: number;
}

interface Aircraft {
  tail: string;
  type: string;
  name: string;
  base: string;
  status: string;
}

/** The plugins' response shape: check `success` before reading `data`. */
type PluginResponse<T> = { success: true; data: T } | { success: false; error: string };

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (!found) throw new Error(`index.html has no #${id}`);
  return found;
}

function showPosition(position: Position): void {
  element("position").textContent =
    `${position.callsign} ${position.from}→${position.to}: ${position.lat.toFixed(2)}, ${position.lon.toFixed(2)} ` +
    `at ${position.altitudeFt.toLocaleString()} ft (${Math.round(position.progress * 100)}%)`;
}

function showFleet(fleet: Aircraft[]): void {
  const table = element("fleet");
  table.replaceChildren(
    ...fleet.map((aircraft) => {
      const row = document.createElement("tr");
      for (const text of [aircraft.tail, aircraft.type, aircraft.name, aircraft.base, aircraft.status]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      return row;
    }),
  );
}

/** HTTP: the route flight-tracker registered under /api/flight-tracker. */
async function loadPosition(): Promise<void> {
  const response = await fetch(`${SHELL_URL}/api/flight-tracker/position`);
  const body = (await response.json()) as PluginResponse<Position | null>;
  if (body.success && body.data) showPosition(body.data);
}

/** IPC invoke: the handler fleet-board registered with ctx.ipc.handle("get-fleet", ...). */
async function loadFleet(): Promise<void> {
  const result = (await hangar.invoke("fleet-board", "get-fleet")) as PluginResponse<Aircraft[]>;
  if (result.success) showFleet(result.data);
  else element("status").textContent = `Fleet unavailable: ${result.error}`;
}

// IPC push: flight-tracker's ctx.ipc.send("position-update", position), every couple of seconds.
hangar.on("flight-tracker", "position-update", (payload) => showPosition(payload as Position));

Promise.all([loadPosition(), loadFleet()]).then(
  () => {
    element("status").textContent = "Connected.";
  },
  (error: unknown) => {
    element("status").textContent =
      `Could not reach the shell: ${error instanceof Error ? error.message : error}`;
  },
);
