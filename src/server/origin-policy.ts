// Which Host headers and browser Origins may reach the shell (SPEC §6): one implementation for HTTP and WebSocket.
import { parseAllowedOrigins } from "../base/origin.js";

/** The Host and Origin rules of one shell server. Both the Express app and the IPC bridge ask the same instance. */
export interface OriginPolicy {
  /** True when `host` (the raw Host header) names this server on loopback: DNS-rebinding protection. */
  isAllowedHost(host: string | undefined): boolean;
  /** True when `origin` (the raw Origin header) is one of the server's own origins or in `allowedOrigins`. */
  isAllowedOrigin(origin: string): boolean;
  /** The Host values accepted right now, for messages that tell the caller what to use instead. */
  allowedHosts(): string[];
}

export interface OriginPolicyOptions {
  /** The port actually bound. Read on every check, because port 0 only becomes real after listen. */
  port: () => number;
  /** Extra browser origins, e.g. `http://localhost:5173`. `*`, `null` and empty entries are refused. */
  allowedOrigins: string[];
}

/**
 * Builds the Host/Origin rules for a server on loopback.
 * @throws HangarError `HANGAR_SHELL_OPTIONS` when `allowedOrigins` contains `*`, `null` or an empty entry.
 */
export function createOriginPolicy(options: OriginPolicyOptions): OriginPolicy {
  const extraOrigins = parseAllowedOrigins(options.allowedOrigins, "server.allowedOrigins");

  const allowedHosts = (): string[] => {
    const port = options.port();
    const hosts = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
    // A browser omits the default port from Host.
    if (port === 80) hosts.push("127.0.0.1", "localhost", "[::1]");
    return hosts;
  };

  // Asked on every request: the accepted hosts are rebuilt only when the port changes (port 0 becomes real).
  let hostsPort = Number.NaN;
  let hosts: ReadonlySet<string> = new Set();

  return Object.freeze({
    allowedHosts,
    isAllowedHost(host: string | undefined): boolean {
      if (host === undefined) return false;
      const port = options.port();
      if (port !== hostsPort) {
        hosts = new Set(allowedHosts());
        hostsPort = port;
      }
      return hosts.has(host) || hosts.has(host.toLowerCase());
    },
    isAllowedOrigin(origin: string): boolean {
      if (origin === "null") return false;
      const port = options.port();
      return (
        origin === `http://127.0.0.1:${port}` ||
        origin === `http://localhost:${port}` ||
        extraOrigins.includes(origin)
      );
    },
  });
}
