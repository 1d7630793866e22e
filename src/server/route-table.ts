// The per-plugin table of mounted routers that the shell's dispatcher consults on every request.
// Express 5 cannot unmount a router, so plugin routers never touch the app: each registration gets its own
// small wrapper Router, and disposing the registration simply drops the wrapper from this table.
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import type { Disposable } from "../context/disposable.js";
import { toDisposable } from "../context/disposable.js";
import { HangarError } from "../errors.js";
import type { PluginRouter } from "../sdk/types.js";
import type { RouteRegistry } from "./route-registry.js";

/** SPEC §1 plugin id rule. A fixed pattern: ids are compared as strings, never pasted into a pattern. */
const PLUGIN_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * Characters a mount path segment may contain. Everything else is refused, which rules out Express path
 * syntax (`:` `*` `(` `{` `?` `+` `[`), percent-encoding, backslashes, whitespace and query/fragment marks.
 */
const LITERAL_SEGMENT = /^[A-Za-z0-9._~-]+$/;

interface Mount {
  readonly path: string;
  /** Number of path segments: a mount with more segments is more specific and is tried first. */
  readonly depth: number;
  /** A Router holding only `use(path, pluginRouter)`, so Express strips the prefix and sets `baseUrl`. */
  readonly handler: express.Router;
  active: boolean;
}

/**
 * Why `path` cannot be a mount path for `pluginId`, or the normalised path when it can.
 * Normalising only removes one trailing slash; anything ambiguous is refused rather than repaired.
 */
function checkMountPath(pluginId: string, path: unknown): { path: string } | { problem: string } {
  if (typeof path !== "string") return { problem: `it is a ${typeof path}, not a string` };
  if (!path.startsWith("/")) return { problem: "it does not start with '/'" };
  const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  if (trimmed.includes("//")) return { problem: "it contains an empty segment ('//')" };
  const segments = trimmed === "/" ? [] : trimmed.split("/").slice(1);
  for (const segment of segments) {
    if (/^\.+$/.test(segment)) return { problem: `it contains a dot segment ('${segment}')` };
    if (segment.includes("%"))
      return { problem: "it contains percent-encoding ('%'); mount paths are literal" };
    if (!LITERAL_SEGMENT.test(segment)) {
      return {
        problem:
          `segment '${segment}' contains characters other than letters, digits and . _ ~ -; mount paths are ` +
          "literal, so put route parameters and wildcards in the router's own routes (router.get('/:id', ...))",
      };
    }
  }
  if (segments[0] !== "api" || segments[1] !== pluginId) {
    return { problem: "it is outside the plugin's namespace" };
  }
  return { path: trimmed };
}

/**
 * Holds every plugin's mounted routers and dispatches requests to them.
 *
 * `register` is what a plugin context's `server.registerRouter` calls; `dispatch` is what the shell's HTTP
 * dispatcher calls once it has decided the request belongs to a running plugin.
 */
export class RouteTable implements RouteRegistry {
  readonly #mounts = new Map<string, Mount[]>();

  /**
   * Mounts `router` at `path` for `pluginId`; disposing the result unmounts it for every later request.
   * @throws HangarError `HANGAR_ROUTE_NAMESPACE` when `path` is not a literal path at `/api/{pluginId}` or below.
   * @throws TypeError when `router` is not a function.
   */
  register(pluginId: string, path: string, router: PluginRouter): Disposable {
    const prefix = `/api/${pluginId}`;
    if (!PLUGIN_ID.test(pluginId)) {
      throw new HangarError(
        "HANGAR_ROUTE_NAMESPACE",
        `Cannot mount a router for plugin '${pluginId}': that is not a valid plugin id, so it has no /api namespace. ` +
          "Plugin ids match ^[a-z0-9][a-z0-9-]{0,63}$.",
        { pluginId },
      );
    }
    const checked = checkMountPath(pluginId, path);
    if ("problem" in checked) {
      throw new HangarError(
        "HANGAR_ROUTE_NAMESPACE",
        `Plugin '${pluginId}' tried to register a router at '${String(path)}', but ${checked.problem}. ` +
          `Mount it at '${prefix}' or a literal path below it, e.g. ctx.server.registerRouter('${prefix}', router).`,
        { pluginId },
      );
    }
    if (typeof router !== "function") {
      throw new TypeError(
        `Plugin '${pluginId}' passed a ${typeof router} to registerRouter('${checked.path}'); pass an Express ` +
          "router, e.g. express.Router().",
      );
    }

    // Case-sensitive, like the namespace check itself: '/api/x/Admin' must not reach a mount at '/api/x/admin'.
    const handler = express.Router({ caseSensitive: true });
    handler.use(checked.path, router as unknown as RequestHandler);
    const mount: Mount = { path: checked.path, depth: checked.path.split("/").length, handler, active: true };

    const list = this.#mounts.get(pluginId) ?? [];
    // Keep the list sorted by depth, most specific first; equal depths keep registration order.
    const at = list.findIndex((other) => other.depth < mount.depth);
    list.splice(at === -1 ? list.length : at, 0, mount);
    this.#mounts.set(pluginId, list);

    return toDisposable(() => {
      mount.active = false;
      const current = this.#mounts.get(pluginId);
      if (!current) return;
      const remaining = current.filter((other) => other !== mount);
      if (remaining.length === 0) this.#mounts.delete(pluginId);
      else this.#mounts.set(pluginId, remaining);
    });
  }

  /** True when `pluginId` has at least one mounted router. */
  has(pluginId: string): boolean {
    return this.count(pluginId) > 0;
  }

  /** How many routers `pluginId` has mounted. */
  count(pluginId: string): number {
    return this.#mounts.get(pluginId)?.length ?? 0;
  }

  /**
   * Offers the request to `pluginId`'s mounts, most specific first. A mount that calls `next()` passes the
   * request to the next one; when none answers, `done()` is called; an error from any mount goes to `done(err)`.
   */
  dispatch(pluginId: string, req: Request, res: Response, done: NextFunction): void {
    // A snapshot, so a registration disposed mid-request cannot shift the iteration.
    const mounts = [...(this.#mounts.get(pluginId) ?? [])];
    let index = 0;
    const tryNext = (err?: unknown): void => {
      if (err !== undefined && err !== null && err !== "router" && err !== "route") {
        done(err);
        return;
      }
      let mount = mounts[index++];
      while (mount && !mount.active) mount = mounts[index++];
      if (!mount) {
        done();
        return;
      }
      mount.handler(req, res, tryNext);
    };
    tryNext();
  }
}
