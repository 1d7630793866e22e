// The per-plugin table of mounted routers that the shell's dispatcher consults on every request.
// Express 5 cannot unmount a router, so plugin routers never touch the app: the table strips the mount path
// itself and calls the plugin's router directly, and disposing a registration simply drops it from the table.
import type { NextFunction, Request, Response } from "express";
import type { Disposable } from "../base/disposable.js";
import { toDisposable } from "../base/disposable.js";
import { createError } from "../errors.js";
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
  readonly router: PluginRouter;
  /** Registration order across the table: a request sees only mounts older than itself. */
  readonly seq: number;
}

/**
 * One plugin's mounts, grouped by depth (number of path segments): a deeper mount is more specific and is
 * tried first; equal depths keep registration order. Each group is a Set, so registering and disposing are
 * O(1) whatever the number of routes (a plugin may mount thousands), and a Set's iterator stays valid while
 * entries are added or deleted, so a request in progress needs no copy of the list.
 */
interface PluginMounts {
  /** Depths present, deepest first; changes only when a depth gains its first or loses its last mount. */
  depths: number[];
  readonly byDepth: Map<number, Set<Mount>>;
  size: number;
  /** The mount, while there is exactly one (the common case, dispatched without walking the groups). */
  only: Mount | null;
}

/**
 * The `scheme://host` part of an absolute-form request target (`GET http://host/path`), which Express keeps in
 * front of `req.url` while it strips a mount path; empty for the usual origin-form (`GET /path`).
 */
function protohostOf(url: string): string {
  if (url.length === 0 || url[0] === "/") return "";
  const query = url.indexOf("?");
  const scheme = url.slice(0, query === -1 ? url.length : query).indexOf("://");
  if (scheme === -1) return "";
  const slash = url.indexOf("/", scheme + 3);
  return slash === -1 ? url : url.slice(0, slash);
}

/** True when `mountPath` prefixes `pathname` at a segment boundary: '/api/x' matches '/api/x' and '/api/x/y', not '/api/xy'. */
function mountMatches(mountPath: string, pathname: string): boolean {
  if (!pathname.startsWith(mountPath)) return false;
  return pathname.length === mountPath.length || pathname[mountPath.length] === "/";
}

/** The one mount of a plugin that has exactly one. */
function soleMount(plugin: PluginMounts): Mount | null {
  for (const group of plugin.byDepth.values()) for (const mount of group) return mount;
  return null;
}

/** Strips the mount path from `req.url` and appends it to `req.baseUrl`, as Express's `app.use(path, router)` does. */
function enterMount(req: Request, url: string, protohost: string, baseUrl: string, mountPath: string): void {
  const rest = url.slice(protohost.length + mountPath.length);
  req.url = protohost + (protohost === "" && !rest.startsWith("/") ? `/${rest}` : rest);
  req.baseUrl = baseUrl + mountPath;
}

/**
 * Calls a plugin's router as an Express Layer would: a synchronous throw or a rejected promise becomes
 * `next(error)`, so a failing route reaches the shell's error answer instead of escaping.
 */
function callRouter(router: PluginRouter, req: Request, res: Response, next: NextFunction): void {
  try {
    const returned: unknown = (router as unknown as (q: Request, s: Response, n: NextFunction) => unknown)(
      req,
      res,
      next,
    );
    if (
      returned instanceof Promise ||
      (typeof returned === "object" && returned !== null && "then" in returned)
    ) {
      (returned as PromiseLike<unknown>).then(undefined, (error: unknown) => {
        next(error ?? new Error("Rejected promise"));
      });
    }
  } catch (error) {
    next(error);
  }
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
  readonly #mounts = new Map<string, PluginMounts>();
  #seq = 0;

  /**
   * Mounts `router` at `path` for `pluginId`; disposing the result unmounts it for every later request.
   * @throws HangarError `HANGAR_ROUTE_NAMESPACE` when `path` is not a literal path at `/api/{pluginId}` or below.
   * @throws TypeError when `router` is not a function.
   */
  register(pluginId: string, path: string, router: PluginRouter): Disposable {
    const prefix = `/api/${pluginId}`;
    if (!PLUGIN_ID.test(pluginId)) {
      throw createError("HANGAR_ROUTE_NAMESPACE", "invalidId", { pluginId });
    }
    const checked = checkMountPath(pluginId, path);
    if ("problem" in checked) {
      throw createError("HANGAR_ROUTE_NAMESPACE", "outside", {
        pluginId,
        path: String(path),
        problem: checked.problem,
        prefix,
      });
    }
    if (typeof router !== "function") {
      throw new TypeError(
        `Plugin '${pluginId}' passed a ${typeof router} to registerRouter('${checked.path}'); pass an Express ` +
          "router, e.g. express.Router().",
      );
    }

    const mount: Mount = { path: checked.path, router, seq: ++this.#seq };
    const depth = checked.path.split("/").length;
    let plugin = this.#mounts.get(pluginId);
    if (!plugin) {
      plugin = { depths: [], byDepth: new Map(), size: 0, only: null };
      this.#mounts.set(pluginId, plugin);
    }
    let group = plugin.byDepth.get(depth);
    if (!group) {
      group = new Set();
      plugin.byDepth.set(depth, group);
      // Replaced, not changed in place: a request in progress keeps the depths it started with.
      plugin.depths = [...plugin.depths, depth].sort((a, b) => b - a);
    }
    group.add(mount);
    plugin.size += 1;
    plugin.only = plugin.size === 1 ? mount : null;
    const owner = plugin;
    const members = group;

    return toDisposable(() => {
      if (!members.delete(mount)) return;
      owner.size -= 1;
      if (members.size === 0) {
        owner.byDepth.delete(depth);
        owner.depths = owner.depths.filter((other) => other !== depth);
      }
      owner.only = owner.size === 1 ? soleMount(owner) : null;
      if (owner.size === 0 && this.#mounts.get(pluginId) === owner) this.#mounts.delete(pluginId);
    });
  }

  /** True when `pluginId` has at least one mounted router. */
  has(pluginId: string): boolean {
    return this.count(pluginId) > 0;
  }

  /** How many routers `pluginId` has mounted. */
  count(pluginId: string): number {
    return this.#mounts.get(pluginId)?.size ?? 0;
  }

  /**
   * Offers the request to `pluginId`'s mounts whose path prefixes the request path, most specific first. Like
   * Express's `app.use(path, router)`, each sees `req.url` without the mount path and `req.baseUrl` with it (both
   * restored afterwards); the match is case-sensitive, like the namespace check: '/api/x/Admin' never reaches a
   * mount at '/api/x/admin'. A mount that calls `next()` passes the request to the next one; when none answers,
   * `done()` is called; an error from any mount, thrown, rejected or passed to next, goes to `done(err)`.
   */
  dispatch(pluginId: string, req: Request, res: Response, done: NextFunction): void {
    const plugin = this.#mounts.get(pluginId);
    if (!plugin) {
      done();
      return;
    }
    const url = req.url;
    const baseUrl = req.baseUrl;
    const protohost = protohostOf(url);
    const query = url.indexOf("?");
    const pathname = url.slice(protohost.length, query === -1 ? url.length : query);
    // The common case, one router per plugin, without the walk over depths: every request pays for the walk.
    const only = plugin.only;
    if (only !== null) {
      if (!mountMatches(only.path, pathname)) {
        done();
        return;
      }
      enterMount(req, url, protohost, baseUrl, only.path);
      callRouter(only.router, req, res, (err?: unknown) => {
        req.url = url;
        req.baseUrl = baseUrl;
        if (err !== undefined && err !== null && err !== "router" && err !== "route") done(err);
        else done();
      });
      return;
    }
    // Mounts registered after this request arrived are not offered to it; disposed ones leave their Set.
    const newest = this.#seq;
    const depths = plugin.depths;
    let depthIndex = 0;
    let group: Iterator<Mount> | null = null;
    const nextMount = (): Mount | undefined => {
      for (;;) {
        if (group === null) {
          const depth = depths[depthIndex++];
          if (depth === undefined) return undefined;
          group = plugin.byDepth.get(depth)?.values() ?? null;
          continue;
        }
        const step = group.next();
        if (step.done) group = null;
        else if (step.value.seq <= newest) return step.value;
      }
    };

    const tryNext = (err?: unknown): void => {
      req.url = url;
      req.baseUrl = baseUrl;
      if (err !== undefined && err !== null && err !== "router" && err !== "route") {
        done(err);
        return;
      }
      let mount = nextMount();
      while (mount !== undefined && !mountMatches(mount.path, pathname)) mount = nextMount();
      if (mount === undefined) {
        done();
        return;
      }
      enterMount(req, url, protohost, baseUrl, mount.path);
      callRouter(mount.router, req, res, tryNext);
    };
    tryNext();
  }
}
