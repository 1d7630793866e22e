// fleet-board: serves the airline's fleet to the UI over HTTP routes and IPC, from the VA's API or a bundled file.
import { readFile } from "node:fs/promises";
import { json, Router } from "express";
import { createPlugin, type PluginContext } from "hangar/sdk";

interface Aircraft {
  tail: string;
  type: string;
  name: string;
  base: string;
  status: "available" | "in-flight" | "maintenance";
  hours: number;
}

/** The reference doc's response shape: the UI checks `success` before reading `data`. */
type FleetResponse<T> = { success: true; data: T } | { success: false; error: string };

// Used while `upstreamUrl` is null (the default), so the plugin works offline and in tests.
const bundledFleet = new URL("../data/fleet.json", import.meta.url);

async function loadFleet(ctx: PluginContext): Promise<Aircraft[]> {
  const upstreamUrl = await ctx.config.get<string | null>("upstreamUrl", null);
  if (!upstreamUrl) return JSON.parse(await readFile(bundledFleet, "utf8")) as Aircraft[];

  const token = ctx.auth.getToken();
  const response = await fetch(upstreamUrl, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    // Give up when the plugin stops, and never hang a UI request on a slow API.
    signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(5_000)]),
  });
  if (!response.ok) throw new Error(`${upstreamUrl} answered ${response.status}`);
  return (await response.json()) as Aircraft[];
}

/** Status changes reported through POST /fleet/:tail/status, over what the source says; per plugin instance. */
const reported = new Map<string, Aircraft["status"]>();

async function fleetResponse(ctx: PluginContext): Promise<FleetResponse<Aircraft[]>> {
  try {
    const fleet = await loadFleet(ctx);
    return { success: true, data: fleet.map((a) => ({ ...a, status: reported.get(a.tail) ?? a.status })) };
  } catch (error) {
    ctx.logger.error("FleetBoard", "Failed to fetch fleet", error);
    return { success: false, error: "Failed to fetch fleet" };
  }
}

const statuses: readonly Aircraft["status"][] = ["available", "in-flight", "maintenance"];

/** What the UI's StatusBanner shows; pushed on `status-update` whenever an aircraft's status changes. */
interface StatusUpdate {
  tail: string;
  status: Aircraft["status"];
  inFlight: number;
  at: string;
}

function isUpstreamUrl(value: unknown): value is string | null {
  if (value === null) return true;
  if (typeof value !== "string" || !URL.canParse(value)) return false;
  const { protocol } = new URL(value);
  return protocol === "http:" || protocol === "https:";
}

export default createPlugin({
  async onStart(ctx) {
    const router = Router();

    router.get("/fleet", async (_req, res) => {
      const result = await fleetResponse(ctx);
      res.status(result.success ? 200 : 502).json(result);
    });

    router.get("/fleet/:tail", async (req, res) => {
      const result = await fleetResponse(ctx);
      if (!result.success) {
        res.status(502).json(result);
        return;
      }
      const tail = req.params.tail.toUpperCase();
      const aircraft = result.data.find((a) => a.tail === tail);
      if (aircraft) res.json({ success: true, data: aircraft });
      else res.status(404).json({ success: false, error: `No aircraft with tail ${tail} in the fleet` });
    });

    router.post("/config", json(), async (req, res) => {
      const upstreamUrl: unknown = req.body?.upstreamUrl;
      if (!isUpstreamUrl(upstreamUrl)) {
        res.status(400).json({
          success: false,
          error: 'Send { "upstreamUrl": "https://…" } (an http or https URL), or null for the bundled fleet',
        });
        return;
      }
      await ctx.config.set("upstreamUrl", upstreamUrl);
      ctx.logger.info("FleetBoard", `Fleet source set to ${upstreamUrl ?? "the bundled fleet"}`);
      res.json({ success: true, data: { upstreamUrl } });
    });

    // A dispatcher reports an aircraft's new status; every open UI hears it at once over IPC.
    router.post("/fleet/:tail/status", json(), async (req, res) => {
      const status: unknown = req.body?.status;
      if (!statuses.includes(status as Aircraft["status"])) {
        res.status(400).json({ success: false, error: `Send { "status": "${statuses.join('" | "')}" }` });
        return;
      }
      const result = await fleetResponse(ctx);
      const tail = req.params.tail.toUpperCase();
      if (!result.success || !result.data.some((a) => a.tail === tail)) {
        res.status(404).json({ success: false, error: `No aircraft with tail ${tail} in the fleet` });
        return;
      }
      reported.set(tail, status as Aircraft["status"]);
      const fleet = (await fleetResponse(ctx)) as { success: true; data: Aircraft[] };
      const update: StatusUpdate = {
        tail,
        status: status as Aircraft["status"],
        inFlight: fleet.data.filter((a) => a.status === "in-flight").length,
        at: new Date().toISOString(),
      };
      ctx.ipc.send("status-update", update);
      res.json({ success: true, data: update });
    });

    // The base the board highlights: a setting the UI reads with usePluginContext().config.get, and sets too.
    router.post("/settings", json(), async (req, res) => {
      const highlightBase: unknown = req.body?.highlightBase;
      if (
        highlightBase !== null &&
        (typeof highlightBase !== "string" || !/^[A-Z]{4}$/.test(highlightBase))
      ) {
        res
          .status(400)
          .json({ success: false, error: 'Send { "highlightBase": "EGLL" } (an ICAO code), or null' });
        return;
      }
      await ctx.config.set("highlightBase", highlightBase);
      res.json({ success: true, data: { highlightBase } });
    });

    ctx.server.registerRouter("/api/fleet-board", router);
    // For renderers that prefer a request over HTTP; routes remain the better fit for TanStack Query.
    ctx.ipc.handle("get-fleet", () => fleetResponse(ctx));
    ctx.logger.info("FleetBoard", "Routes and IPC handler registered");
  },

  async onStop() {
    // The shell removes this plugin's routes and IPC handlers with its context; reported statuses go with it.
    reported.clear();
  },
});
