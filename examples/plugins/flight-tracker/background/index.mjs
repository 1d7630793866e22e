// flight-tracker: polls the simulator for the aircraft's position and pushes it to the UI over IPC.
// Plain JavaScript with named exports: no createPlugin, no build step.
import { Router } from "express";

const DEFAULT_INTERVAL_MS = 2_000;

// A stand-in for the simulator connection (SimConnect, XPlane UDP…): a sped-up London–New York flight
// that loops every ten minutes, so the plugin has something live to show without a simulator running.
const flight = { callsign: "HGR101", tail: "G-HGRA", from: "EGLL", to: "KJFK" };
const route = { from: { lat: 51.4706, lon: -0.4619 }, to: { lat: 40.6413, lon: -73.7781 } };
const FLIGHT_MS = 10 * 60_000;
const departedAt = Date.now();

/** Where the simulated aircraft is at `now`. */
function readPosition(now) {
  const progress = ((now - departedAt) % FLIGHT_MS) / FLIGHT_MS;
  // Climb over the first tenth of the route, cruise at FL360, descend over the last tenth.
  const altitudeFt = Math.round(36_000 * Math.min(1, progress / 0.1, (1 - progress) / 0.1));
  return {
    ...flight,
    lat: route.from.lat + (route.to.lat - route.from.lat) * progress,
    lon: route.from.lon + (route.to.lon - route.from.lon) * progress,
    altitudeFt,
    progress: Math.round(progress * 1000) / 1000,
    at: new Date(now).toISOString(),
  };
}

/** @type {import("hangar/sdk").PluginLogger | undefined} */
let logger;
/** @type {ReturnType<typeof setInterval> | undefined} */
let timer;
/** @type {ReturnType<typeof readPosition> | null} */
let latest = null;

function stopPolling() {
  clearInterval(timer);
  timer = undefined;
}

/** @param {import("hangar/sdk").PluginContext} ctx */
export async function onStart(ctx) {
  logger = ctx.logger;
  let intervalMs = await ctx.config.get("intervalMs", DEFAULT_INTERVAL_MS);
  if (!Number.isInteger(intervalMs) || intervalMs < 100) {
    ctx.logger.warn(
      "FlightTracker",
      `Config intervalMs must be an integer ≥ 100, using ${DEFAULT_INTERVAL_MS}`,
    );
    intervalMs = DEFAULT_INTERVAL_MS;
  }

  const router = Router();
  router.get("/position", (_req, res) => {
    res.json({ success: true, data: latest });
  });
  ctx.server.registerRouter("/api/flight-tracker", router);

  const poll = () => {
    latest = readPosition(Date.now());
    ctx.ipc.send("position-update", latest);
  };
  poll();
  timer = setInterval(poll, intervalMs);
  // The shell aborts the signal when this context goes away, also when onStart fails later on or
  // onStop times out: clearing the timer here too means it never outlives the context.
  ctx.signal.addEventListener("abort", stopPolling, { once: true });
  ctx.logger.info("FlightTracker", `Tracking ${flight.callsign}, polling every ${intervalMs} ms`);
}

export async function onStop() {
  stopPolling();
  logger?.info("FlightTracker", `Stopped tracking ${flight.callsign}`);
}
