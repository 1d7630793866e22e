// Which plugin a piece of running code belongs to: an AsyncLocalStorage scope entered around every call into
// plugin code (inherited by the timers, listeners and promises it creates), and stack frames under a plugin's
// folder for code reached through something shared (a listener on a shared EventEmitter runs in the emitter's scope).
import { AsyncLocalStorage } from "node:async_hooks";
import path from "node:path";
import { stackOf } from "../thrown.js";

/**
 * The call in progress that an escaped error should fail first, when it is still waiting: a hook in flight,
 * an HTTP request, an IPC invoke. `fail` returns false when the flow has already settled.
 */
export interface PluginFlow {
  fail(error: unknown): boolean;
}

/** Where an escaped error was caught. */
export type FaultOrigin = "uncaughtException" | "unhandledRejection";

/** Who owns a plugin's scope: a shell's containment (src/containment/shell-containment.ts). */
export interface ContainmentOwner {
  /** An error escaped code attributed to one of this owner's plugins. Never throws. */
  contain(scope: PluginScope, error: unknown, origin: FaultOrigin): void;
  /** Plugin code called process.exit(): log it and return the error to throw at the call. */
  refuseExit(scope: PluginScope, code: unknown): Error;
  /** An error no plugin owns reached the process: log it and shut the shell down. */
  failUnattributed(error: unknown, origin: FaultOrigin): Promise<void>;
}

/** What the running code belongs to. Created by the shell; compared by identity, never inspected by plugins. */
export interface PluginScope {
  readonly owner: ContainmentOwner;
  readonly pluginId: string;
  /** The import generation of the code; -1 when unknown (attributed by a stack frame without one). */
  readonly generation: number;
  /**
   * The context the code was started under (a PluginContextHandle): null for module evaluation, undefined
   * when unknown (attributed by stack). A scope whose context is no longer the plugin's current one is stale.
   */
  readonly context: object | null | undefined;
  readonly flow: PluginFlow | null;
}

const storage = new AsyncLocalStorage<PluginScope>();

/** Runs `fn` as code of `scope`'s plugin: everything it schedules inherits the scope. */
export function runInScope<T>(scope: PluginScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** Runs `fn` outside any plugin's scope (hangar's own follow-up work after a fault, so it is not blamed on the plugin). */
export function runOutsideScope<T>(fn: () => T): T {
  return storage.exit(fn);
}

/** The scope of the code running now, if it is a plugin's. */
export function currentScope(): PluginScope | undefined {
  return storage.getStore();
}

interface FolderOwner {
  owner: ContainmentOwner;
  pluginId: string;
}

// Real folder (with a trailing separator) → the plugin that lives there. Several shells may share a process.
const folders = new Map<string, FolderOwner>();

/** Records that code under `realFolder` is `pluginId`'s, for stack attribution. Disposing forgets it. */
export function registerPluginFolder(
  realFolder: string,
  owner: ContainmentOwner,
  pluginId: string,
): () => void {
  const key = realFolder.endsWith(path.sep) ? realFolder : realFolder + path.sep;
  const entry = { owner, pluginId };
  folders.set(key, entry);
  return () => {
    if (folders.get(key) === entry) folders.delete(key);
  };
}

/**
 * The plugin whose file is the topmost plugin frame of `stack`, or undefined. Only called on the error path
 * (an escaped error, a process.exit call): it costs a scan of the frames against every registered folder.
 */
export function attributeStack(stack: unknown): PluginScope | undefined {
  if (typeof stack !== "string" || folders.size === 0) return undefined;
  for (const raw of stack.split("\n")) {
    const line = raw.trimStart();
    if (!line.startsWith("at ")) continue;
    const frame = frameLocation(line);
    if (frame === null) continue;
    for (const [folder, entry] of folders) {
      if (!frame.includes(folder)) continue;
      // A frame names the plugin's own file, not its generation: a reloaded generation runs from a built file
      // whose source map names the original files (src/loader/bundle.ts).
      return {
        owner: entry.owner,
        pluginId: entry.pluginId,
        generation: -1,
        context: undefined,
        flow: null,
      };
    }
  }
  return undefined;
}

/** The file part of one stack line, decoded: `file:///x/y.mjs?...`, `/x/y.js`, or tsx's `data:...?filePath=...`. */
function frameLocation(line: string): string | null {
  const dataUrl = line.lastIndexOf("filePath=");
  const raw = dataUrl === -1 ? line : line.slice(dataUrl + "filePath=".length);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Errors hangar has already reported (a late call's warning): the process handler only swallows them. */
const reported = new WeakSet<object>();

/** Marks `error` as already reported to the plugin's log and status. */
export function markReported(error: object): void {
  reported.add(error);
}

/** True when `error` was marked by {@link markReported}. */
export function wasReported(error: unknown): boolean {
  return typeof error === "object" && error !== null && reported.has(error);
}

/**
 * The scope an escaped error belongs to: the thrower's stack wins when it names a plugin other than the
 * current scope's (a listener on a shared emitter runs in the emitter's scope), else the current scope.
 */
export function attributeError(error: unknown): PluginScope | undefined {
  const scope = currentScope();
  // Read without throwing: this runs inside the process handlers (a stack getter may throw, a Proxy trap may).
  const byStack = attributeStack(stackOf(error));
  if (byStack && (!scope || scope.owner !== byStack.owner || scope.pluginId !== byStack.pluginId))
    return byStack;
  return scope;
}
