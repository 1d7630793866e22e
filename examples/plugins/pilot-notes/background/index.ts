// pilot-notes: a pilot's notes, kept in the plugin's config so they survive restarts and OTA updates.
import { randomUUID } from "node:crypto";
import { json, Router } from "express";
import { createPlugin, type PluginContext } from "hangar/sdk";

interface Note {
  id: string;
  text: string;
  createdAt: string;
}

const MAX_NOTE_LENGTH = 2_000;

// Appends run one after another: two notes posted at once must not overwrite each other.
let appending: Promise<unknown> = Promise.resolve();

function appendNote(ctx: PluginContext, note: Note): Promise<void> {
  const done = appending.then(async () => {
    const notes = (await ctx.config.get<Note[]>("notes", [])) ?? [];
    await ctx.config.set("notes", [...notes, note]);
  });
  appending = done.catch(() => {});
  return done;
}

/** Routes belong to the context they were registered on, so every fresh context needs them again. */
function registerRoutes(ctx: PluginContext): void {
  const router = Router();

  router.get("/notes", async (_req, res) => {
    res.json({ success: true, data: await ctx.config.get<Note[]>("notes", []) });
  });

  router.post("/notes", json(), async (req, res) => {
    const text: unknown = req.body?.text;
    if (typeof text !== "string" || text.trim() === "" || text.length > MAX_NOTE_LENGTH) {
      res.status(400).json({
        success: false,
        error: `Send { "text": "…" } with a note of 1 to ${MAX_NOTE_LENGTH} characters`,
      });
      return;
    }
    const note: Note = { id: randomUUID(), text: text.trim(), createdAt: new Date().toISOString() };
    await appendNote(ctx, note);
    res.status(201).json({ success: true, data: note });
  });

  ctx.server.registerRouter("/api/pilot-notes", router);
}

export default createPlugin({
  async onStart(ctx) {
    registerRoutes(ctx);
    const notes = (await ctx.config.get<Note[]>("notes", [])) ?? [];
    ctx.logger.info("PilotNotes", `Started with ${notes.length} saved note(s)`);
  },

  async onStop() {
    // Let a note being saved reach the disk before the shell flushes config and exits.
    await appending;
  },

  // After an OTA update the old context is gone, and its routes with it: register them on the new one.
  async onResume(ctx) {
    registerRoutes(ctx);
    ctx.logger.info("PilotNotes", "Resumed after update: routes re-registered on the fresh context");
  },
});
