// What testPluginLifecycle found: each problem with the path and phase it showed in, its code, and its fix,
// plus a plain-text rendering that reads well in any test runner's failure output.
import type { ErrorCode, PluginPhase } from "../errors.js";

/** The lifecycle paths testPluginLifecycle drives a plugin through, in the order it runs them. */
export const LIFECYCLE_PATHS = [
  "start-stop",
  "stop-during-start",
  "restart",
  "ota-update",
  "ota-reload",
  "cycles",
  "start-timeout",
  "stop-timeout",
  "resume-timeout",
] as const;

/** One lifecycle path (see docs/testing.md for what each does). */
export type LifecyclePath = (typeof LIFECYCLE_PATHS)[number];

/** What each path does, as the report shows it. */
export const PATH_TITLES: Record<LifecyclePath, string> = {
  "start-stop": "start, then stop",
  "stop-during-start": "stop while onStart is still running",
  restart: "stop, then start again (same module instance, same config)",
  "ota-update": "OTA update (onResume with a fresh context, or onStop + onStart without onResume)",
  "ota-reload": "OTA update that changed the plugin's code (stop, re-import, start)",
  cycles: "repeated start/stop cycles",
  "start-timeout": "onStart times out, then is retried on the next update",
  "stop-timeout": "onStop times out",
  "resume-timeout": "onResume times out, then the plugin is retried on the next update",
};

/**
 * Codes of the problems the harness itself detects (the others are hangar's runtime codes, docs/errors.md).
 * - `HANGAR_TEST_REGISTRATIONS_LOST`: after an OTA update the plugin no longer registers what it did before.
 * - `HANGAR_TEST_RESOURCES_LEAKED`: unbalanced start/stop: each cycle leaves more timers, sockets or servers alive.
 * - `HANGAR_TEST_HOOK_ORDER`: hangar called the hooks out of order (a defect in hangar, not in the plugin).
 * - `HANGAR_TEST_LEFT_BEHIND`: a context or IPC handler outlived the plugin's stop (a defect in hangar).
 */
export type LifecycleTestCode =
  | "HANGAR_TEST_REGISTRATIONS_LOST"
  | "HANGAR_TEST_RESOURCES_LEAKED"
  | "HANGAR_TEST_HOOK_ORDER"
  | "HANGAR_TEST_LEFT_BEHIND";

/** Something the plugin's author must fix. */
export interface LifecycleProblem {
  /** The path that revealed it; `load` when plugin.json could not be read at all. */
  path: LifecyclePath | "load";
  phase: PluginPhase;
  code: ErrorCode | LifecycleTestCode;
  /** What happened, naming the plugin and the phase. */
  message: string;
  /** What to change. */
  fix: string;
  /** Where in the plugin's code, when known: a stack frame, or the stack of the error it threw. */
  at?: string;
  /** How the plugin ran when this was found: in the test process, or isolated in a worker thread. */
  isolation?: "none" | "worker";
}

/** How one path went. */
export interface LifecyclePathResult {
  path: LifecyclePath;
  title: string;
  outcome: "passed" | "failed" | "skipped";
  /** How the plugin ran on this path: in the test process, or isolated in a worker thread (docs/isolation.md). */
  isolation: "none" | "worker";
  /** Why the path was skipped, or something worth knowing that is not a problem. */
  note?: string;
}

/** The result of {@link testPluginLifecycle}. */
export interface LifecycleReport {
  pluginId: string;
  folder: string;
  /** True when there is no problem to fix. */
  ok: boolean;
  problems: LifecycleProblem[];
  paths: LifecyclePathResult[];
  /** The whole report as plain text: pass it as your assertion's message. */
  format(): string;
}

const defect =
  "This is a defect in hangar, not in the plugin: please report it (with this report) at the hangar repository.";

const FIXES: Partial<Record<ErrorCode | LifecycleTestCode, string>> = {
  HANGAR_START_FAILED:
    "Make onStart succeed: fix the error it throws (see 'at'). Catch what may legitimately fail (a network call, a missing file), log it with ctx.logger and start without it.",
  HANGAR_STOP_FAILED:
    "Make onStop succeed: release what you can and catch what may fail. A failing onStop leaves the plugin errored until the next update.",
  HANGAR_RESUME_FAILED:
    "Make onResume succeed with the fresh context it receives (register routes and IPC handlers on it again), or fix the error it throws.",
  HANGAR_START_TIMEOUT:
    "Let onStart settle within its limit: start slow work without awaiting it (and stop that work when ctx.signal aborts), or raise background.startTimeoutMs in plugin.json.",
  HANGAR_STOP_TIMEOUT:
    "Let onStop settle within its limit: do not wait for slow remote calls on the way out, or raise background.stopTimeoutMs in plugin.json.",
  HANGAR_RESUME_TIMEOUT:
    "Let onResume settle within its limit, or raise background.resumeTimeoutMs in plugin.json.",
  HANGAR_CONTEXT_DISPOSED:
    "Stop timers, listeners and pending work when the context goes away: ctx.signal.addEventListener('abort', ...) or clear them in onStop, and check ctx.signal.aborted after each await. In a real shell such a call throws from a timer and crashes Electron's main process.",
  HANGAR_ROUTE_NAMESPACE: "Mount routers at /api/{pluginId} or a literal path below it.",
  HANGAR_DEPENDENCY_MISSING:
    "Pass the folders of the plugins named in dependsOn as options.dependencies (by default they are looked for beside the plugin's folder).",
  HANGAR_DEPENDENCY_FAILED: "Fix the plugin it depends on first (run testPluginLifecycle on that one).",
  HANGAR_DEPENDENCY_CYCLE: "Remove the cycle from dependsOn.",
  HANGAR_TEST_REGISTRATIONS_LOST:
    "Register routes and IPC handlers again in onResume: the context it receives starts empty, and the old context's registrations went away with it.",
  HANGAR_TEST_RESOURCES_LEAKED:
    "Release in onStop (or when ctx.signal aborts) every timer, socket and server onStart created: clearInterval/clearTimeout, server.close(), socket.destroy().",
  HANGAR_TEST_HOOK_ORDER: defect,
  HANGAR_TEST_LEFT_BEHIND: defect,
};

const LOAD_FIX =
  "Fix plugin.json or the entry module as the message says; `hangar validate <folder>` checks both without starting anything.";

/** The fix for a problem with `code`. */
export function fixFor(code: ErrorCode | LifecycleTestCode): string {
  const fix = FIXES[code];
  if (fix) return fix;
  if (
    code.startsWith("HANGAR_MANIFEST_") ||
    code.startsWith("HANGAR_ENTRY_") ||
    code.startsWith("HANGAR_MODULE_")
  ) {
    return LOAD_FIX;
  }
  return `See ${code} in hangar's docs/errors.md; the message says what was wrong.`;
}

/** Builds the report object; `ok` and `format()` derive from the problems and paths. */
export function createReport(
  pluginId: string,
  folder: string,
  problems: LifecycleProblem[],
  paths: LifecyclePathResult[],
): LifecycleReport {
  return {
    pluginId,
    folder,
    ok: problems.length === 0,
    problems,
    paths,
    format: () => formatReport(pluginId, folder, problems, paths),
  };
}

const MARKS = { passed: "✓", failed: "✗", skipped: "-" } as const;

function formatReport(
  pluginId: string,
  folder: string,
  problems: LifecycleProblem[],
  paths: LifecyclePathResult[],
): string {
  const verdict =
    problems.length === 0
      ? "no problems"
      : `${problems.length} problem${problems.length === 1 ? "" : "s"} to fix`;
  const lines = [`Lifecycle test of plugin '${pluginId}' (${folder}): ${verdict}`];
  const reasons = new Set(paths.map((result) => (result.outcome === "skipped" ? result.note : null)));
  if (paths.length > 0 && reasons.size === 1 && !reasons.has(null)) {
    // Nothing ran (a UI-only plugin, an unreadable plugin.json): one line says why.
    lines.push(`  - every path skipped: ${paths[0]!.note}`);
  } else {
    // Each way the plugin ran under a heading of its own, when it ran both ways.
    const both = new Set(paths.map((result) => result.isolation)).size > 1;
    let heading: string | null = null;
    for (const result of paths) {
      if (both && heading !== result.isolation) {
        heading = result.isolation;
        lines.push(heading === "worker" ? "  isolated (a worker thread):" : "  in-process:");
      }
      lines.push(`  ${MARKS[result.outcome]} ${result.path}: ${result.title}`);
      if (result.note) lines.push(`      ${result.outcome === "skipped" ? "skipped: " : ""}${result.note}`);
    }
  }
  problems.forEach((problem, index) => {
    const where = problem.isolation === "worker" ? " (isolated)" : "";
    lines.push("", `${index + 1}) ${problem.code} in phase ${problem.phase}, path ${problem.path}${where}`);
    lines.push(`   ${problem.message}`);
    if (problem.at) lines.push(`   at: ${problem.at.split("\n").join("\n       ")}`);
    lines.push(`   fix: ${problem.fix}`);
  });
  return lines.join("\n");
}
