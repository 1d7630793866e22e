// The public shape of what `shell.status()` and the shell's HTTP routes report (SPEC §4–§5).
import type { ErrorCode, PluginPhase } from "./errors.js";

/**
 * States of a plugin actor (SPEC §4), plus `inactive` for UI-only plugins and `backoff` (waiting to be
 * restarted after a crash, SPEC §11).
 */
export type PluginState =
  | "loading"
  | "loaded"
  | "starting"
  | "running"
  | "resuming"
  | "stopping"
  | "backoff"
  | "stopped"
  | "errored"
  | "inactive";

/** States of the shell actor (SPEC §5). */
export type ShellState =
  | "idle"
  | "booting"
  | "starting"
  | "running"
  | "updating"
  | "shuttingDown"
  | "stopped"
  | "failed";

/** Why a plugin is errored. */
export interface PluginErrorInfo {
  phase: PluginPhase;
  /** The `HANGAR_*` code of the cause when it has one, else the phase's own code. */
  code: ErrorCode;
  /** Names the plugin, the phase and the cause. */
  message: string;
}

/** One plugin as the shell sees it. */
export interface PluginStatus {
  id: string;
  version: string;
  name: string;
  /** False for a UI-only plugin (no `background` in plugin.json). */
  background: boolean;
  state: PluginState;
  error?: PluginErrorInfo;
  warnings?: string[];
  /** ISO time at which onStart (or onResume) last succeeded. */
  startedAt?: string;
  /** Restarts after crashes within the restart policy's current window (SPEC §11); absent when 0. */
  restarts?: number;
  timings: { loadMs: number | null; startMs: number | null };
  /** Present while an isolated plugin's worker thread runs (`background.isolation: "worker"`, docs/isolation.md). */
  worker?: WorkerStatus;
}

/** An isolated plugin's worker thread, as its last heartbeat reported it. */
export interface WorkerStatus {
  /** The worker's `threadId` (the same in a CPU profile or `--inspect`); 0 in a utility process. */
  threadId: number;
  /** The process id, when the plugin runs in an Electron utility process (hangar/electron's utilityProcessHost). */
  pid?: number;
  /** V8 heap in use in the worker, in bytes; null until the first heartbeat answer. */
  heapUsedBytes: number | null;
  /** Milliseconds between the last answered heartbeat's ping and its answer; null until the first one. */
  lastHeartbeatLagMs: number | null;
  /** The worker's heap limit (`background.memoryLimitMb`), in MB. */
  memoryLimitMb: number;
}

export interface ShellStatus {
  state: ShellState;
  /**
   * Present once the shell is `stopped` or `failed`: whether the shutdown was clean. `clean: false` with a
   * `problem` when the shutdown budget ran out (a plugin was released with HANGAR_SHUTDOWN_TIMEOUT) or an error
   * from no plugin shut the shell down; the CLI then exits 1 and `attachToElectronApp` calls `app.exit(1)`.
   */
  shutdown?: { clean: true } | { clean: false; problem: string };
  plugins: PluginStatus[];
  server: { url: string | null };
  /** Present when the shell serves the inspector: the page's URL with its session token (null until listening). */
  inspector?: { url: string | null };
  /**
   * Present when the shell serves the shell page (`shellPage: true`): its URL, never with the session token (a
   * shell with `server.token` is opened at `${url}#token=<token>`; docs/ui.md).
   */
  shellPage?: { url: string | null };
}
