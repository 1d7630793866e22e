// Shared test parts for the server tests: a fake PluginView (the seam the shell fills), a real shell app on a
// real port-0 server, and a raw node:http client for requests whose Host header fetch will not let us set.
import { request } from "node:http";
import type { PluginLogger } from "../../src/sdk/types.js";
import { createShellApp } from "../../src/server/app.js";
import { createHttpServer, type ShellHttpServer } from "../../src/server/http-server.js";
import type { PluginView } from "../../src/server/plugin-view.js";
import { RouteTable } from "../../src/server/route-table.js";
import type { PluginState, PluginStatus, ShellState } from "../../src/status.js";

/** The fake's stand-in for the plugin machine's `busy` tag. */
const WAITABLE: ReadonlySet<PluginState> = new Set(["loading", "loaded", "starting", "resuming", "backoff"]);

/** A PluginView over a plain map, with the same waitUntilSettled contract as the shell's. */
export class FakePluginView implements PluginView {
  shell: ShellState = "running";
  readonly #plugins = new Map<string, PluginStatus>();
  readonly #waiters = new Set<() => void>();
  /** How many requests are currently waiting in waitUntilSettled. */
  waiting = 0;
  /** When true, waitUntilSettled answers at once, as if its timeout had passed. */
  expireWaitsAtOnce = false;

  add(id: string, state: PluginState, extra: Partial<PluginStatus> = {}): void {
    this.#plugins.set(id, {
      id,
      version: "1.0.0",
      name: id,
      background: true,
      state,
      timings: { loadMs: 1, startMs: state === "running" ? 2 : null },
      ...extra,
    });
  }

  setState(id: string, state: PluginState): void {
    const status = this.#plugins.get(id);
    if (!status) throw new Error(`no plugin ${id}`);
    this.#plugins.set(id, { ...status, state });
    for (const wake of [...this.#waiters]) wake();
  }

  shellState(): ShellState {
    return this.shell;
  }

  list(): PluginStatus[] {
    return [...this.#plugins.values()];
  }

  get(pluginId: string): PluginStatus | undefined {
    return this.#plugins.get(pluginId);
  }

  /** Restarts recorded by the fake; the status is answered as it is. */
  readonly restarts: string[] = [];

  async restart(pluginId: string): Promise<PluginStatus | undefined> {
    const status = this.#plugins.get(pluginId);
    if (status) this.restarts.push(pluginId);
    return status;
  }

  isBusy(pluginId: string): boolean {
    const status = this.#plugins.get(pluginId);
    return status !== undefined && WAITABLE.has(status.state);
  }

  waitUntilSettled(pluginId: string, timeoutMs: number): Promise<PluginStatus | undefined> {
    const settled = () => {
      const status = this.#plugins.get(pluginId);
      return !status || !WAITABLE.has(status.state);
    };
    if (this.expireWaitsAtOnce || settled()) return Promise.resolve(this.#plugins.get(pluginId));
    return new Promise((resolve) => {
      this.waiting += 1;
      const finish = () => {
        this.waiting -= 1;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(this.#plugins.get(pluginId));
      };
      const check = () => {
        if (settled()) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.#waiters.add(check);
    });
  }
}

/** One call a logger received. */
export interface LogCall {
  level: string;
  pluginId?: string;
  tag?: string;
  message: string;
  data: unknown[];
}

export interface TestShell {
  url: string;
  port: number;
  view: FakePluginView;
  routes: RouteTable;
  server: ShellHttpServer;
  logs: LogCall[];
  close(): Promise<void>;
}

const pluginOf = (data: object | undefined): { pluginId?: string } => {
  const pluginId = (data as { pluginId?: unknown } | undefined)?.pluginId;
  return typeof pluginId === "string" ? { pluginId } : {};
};

/** Starts the real shell app on a real server on 127.0.0.1, port 0. */
export async function startTestShell(
  options: { allowedOrigins?: string[]; token?: string; bodyLimit?: number } = {},
): Promise<TestShell> {
  const view = new FakePluginView();
  const routes = new RouteTable();
  const logs: LogCall[] = [];
  const pluginLogger = (pluginId: string): PluginLogger => {
    const at =
      (level: string) =>
      (tag: string, message: string, ...data: unknown[]) =>
        logs.push({ level, pluginId, tag, message, data });
    return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  };
  let server: ShellHttpServer | undefined;
  const app = createShellApp({
    port: () => server?.port() ?? 0,
    allowedOrigins: options.allowedOrigins ?? [],
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.bodyLimit === undefined ? {} : { bodyLimit: options.bodyLimit }),
    plugins: view,
    routes,
    pluginLogger,
    shellLogger: {
      // A shell record about one plugin (a route failure) names it in its data, as in the JSON log.
      warn: (message, data) => logs.push({ level: "warn", ...pluginOf(data), message, data: [data] }),
      error: (message, data) => logs.push({ level: "error", ...pluginOf(data), message, data: [data] }),
    },
  });
  server = createHttpServer(app, { host: "127.0.0.1", port: 0 });
  const { url, port } = await server.listen();
  const started = server;
  return { url, port, view, routes, server: started, logs, close: () => started.close(1_000) };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An HTTP request with full control of the headers, Host included (omitted when `host` is null). */
export function rawRequest(
  port: number,
  options: { host: string | null; method?: string; path?: string; headers?: Record<string, string> },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.host !== null) headers.host = options.host;
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: options.method ?? "GET",
        path: options.path ?? "/api/_shell/health",
        headers,
        setHost: false,
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Resolves once `condition` holds, checking on each turn of the event loop (no wall-clock assertions). */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}
