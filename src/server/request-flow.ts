// One request to a plugin's route, as the code it starts is attributed (SPEC §11): the rule for an error escaping
// the route's continuations (a timer it set, a promise it forgot), shared by the shell's in-process dispatch
// (app.ts) and an isolated plugin's worker (src/isolation/worker-main.ts), so both say the same words.
import type { ServerResponse } from "node:http";
import { messageOf } from "../errors.js";

/**
 * What an error escaping a route's code fails. Before the answer, the request fails as a thrown route does
 * ({@link failRequest}: the shell answers 500, `HANGAR_ROUTE_FAILED`); after it, the first such error is logged
 * (`Route GET /api/x/y left code that failed after the response was sent: …`) and the rest dropped, so an interval
 * left behind cannot flood the log. The plugin runs on either way. One object per request, its methods on the
 * prototype: a per-request closure costs every request.
 */
export abstract class RouteRequestFlow<Res extends ServerResponse = ServerResponse> {
  #failed = false;
  #lateErrors = 0;

  constructor(readonly res: Res) {}

  /** Always true: the error is this request's (its failure, or its one late record). Never throws. */
  fail(error: unknown): boolean {
    const { res } = this;
    if (!this.#failed && !res.headersSent && !res.writableEnded) {
      this.#failed = true;
      this.failRequest(error);
      return true;
    }
    if (++this.#lateErrors === 1) {
      this.logLate(
        `Route ${this.route()} left code that failed after the response was sent: ${messageOf(error)}`,
        error,
      );
    }
    return true;
  }

  /** The route as the shell names it: `POST /api/audit/flight` (the path before a router rewrote `req.url`). */
  protected abstract route(): string;
  /** Fails the request, not yet answered, with `error`. */
  protected abstract failRequest(error: unknown): void;
  /** Logs the first late error to the plugin's logger (tag `http`). */
  protected abstract logLate(message: string, error: unknown): void;
}
