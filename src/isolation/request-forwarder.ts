// Forwards HTTP requests from the shell's dispatcher to an isolated plugin's worker, over the worker's private
// unix-domain socket: method, URL, headers and body stream in, status, headers and body stream back.
import http from "node:http";
import type { NextFunction, Request, Response } from "express";
import type { PluginRouter } from "../sdk/types.js";
import { answerGone } from "./port-forwarder.js";
import {
  BASE_HEADER,
  HOP_BY_HOP_HEADERS,
  MOUNT_HEADER,
  OUTCOME_HEADER,
  reviveError,
  type SerialisedError,
} from "./protocol.js";

/** One isolated plugin's forwarding: a keep-alive agent to its worker's socket, closed when the worker ends. */
export class RequestForwarder {
  readonly #pluginId: string;
  #agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  constructor(pluginId: string) {
    this.#pluginId = pluginId;
  }

  /** Ends every connection to the worker: requests in flight answer 503. Later requests use a fresh agent. */
  close(): void {
    this.#agent.destroy();
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  }

  /** The handler the shell's route table mounts in place of the plugin's router at one mount path. */
  forwarderFor(socketPath: string, mountId: number): PluginRouter {
    const handler = (req: Request, res: Response, next: NextFunction): void => {
      const headers: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(req.headers))
        if (!HOP_BY_HOP_HEADERS.has(name)) headers[name] = value;
      headers[MOUNT_HEADER] = String(mountId);
      headers[BASE_HEADER] = req.baseUrl;
      const agent = this.#agent;
      const outgoing = http.request({ socketPath, agent, method: req.method, path: req.url, headers });
      let answered = false;
      outgoing.on("response", (incoming) => {
        answered = true;
        const outcome = incoming.headers[OUTCOME_HEADER];
        if (outcome === "next") {
          incoming.resume();
          next();
          return;
        }
        if (outcome === "error") {
          const chunks: Buffer[] = [];
          incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
          incoming.on("end", () => {
            let error: Error;
            try {
              error = reviveError(JSON.parse(Buffer.concat(chunks).toString("utf8")) as SerialisedError);
            } catch {
              error = new Error("the route failed in the plugin's worker");
            }
            next(error);
          });
          incoming.on("error", () => answerGone(this.#pluginId, res));
          return;
        }
        res.statusCode = incoming.statusCode ?? 502;
        if (incoming.statusMessage) res.statusMessage = incoming.statusMessage;
        for (const [name, value] of Object.entries(incoming.headers)) {
          if (value !== undefined && !HOP_BY_HOP_HEADERS.has(name)) res.setHeader(name, value);
        }
        incoming.pipe(res);
        // The worker cut the answer short (it ended, or the route failed after sending headers).
        incoming.on("aborted", () => res.destroy());
        incoming.on("error", () => res.destroy());
      });
      outgoing.on("error", () => {
        if (!answered) answerGone(this.#pluginId, res);
        else res.destroy();
      });
      // The client went away: stop the plugin's work on it too.
      res.on("close", () => {
        if (!res.writableFinished) outgoing.destroy();
      });
      req.pipe(outgoing);
    };
    return handler as unknown as PluginRouter;
  }
}
