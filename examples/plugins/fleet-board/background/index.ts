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

async function fleetResponse(ctx: PluginContext): Promise<FleetResponse<Aircraft[]>> {
  try {
    return { success: true, data: await loadFleet(ctx) };
  } catch (error) {
    ctx.logger.error("FleetBoard", "Failed to fetch fleet", error);
    return { success: false, error: "Failed to fetch fleet" };
  }
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

    ctx.server.registerRouter("/api/fleet-board", router);
    // For renderers that prefer a request over HTTP; routes remain the better fit for TanStack Query.
    ctx.ipc.handle("get-fleet", () => fleetResponse(ctx));
    ctx.logger.info("FleetBoard", "Routes and IPC handler registered");
  },

  async onStop() {
    // Nothing to release: the shell removes this plugin's routes and IPC handlers with its context.
  },
});
