// One fake of Electron's ipcMain, webContents, BrowserWindow, app, contextBridge and ipcRenderer, for tests:
// the Electron binary cannot run here. It copies Electron's documented behaviour and its exact wording, from
// lib/browser/ipc-main-impl.ts, lib/browser/api/web-contents.ts and web-frame-main.ts,
// lib/renderer/api/ipc-renderer.ts and the contextBridge docs. Nothing here imports hangar.
import { type ChildProcess, fork } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** What Electron passes to an `ipcMain.handle` listener. */
export interface FakeInvokeEvent {
  sender: FakeWebContents;
  /** Null once the calling frame is gone (Electron ≥ 30 types it `WebFrameMain | null`). */
  senderFrame: FakeWebFrameMain | null;
  processId: number;
  frameId: number;
}

/** What Electron passes to an `ipcRenderer.on` listener: it holds `ipcRenderer` itself. */
export interface FakeRendererEvent {
  sender: FakeIpcRenderer;
  senderId: number;
  ports: unknown[];
}

type InvokeListener = (event: FakeInvokeEvent, ...args: unknown[]) => unknown;
type RendererListener = (event: FakeRendererEvent, ...args: unknown[]) => void;

/** Electron's structured clone across processes; `message` is the error Electron raises when it fails. */
function serialize<T>(value: T, message: string): T {
  try {
    return structuredClone(value);
  } catch {
    throw new Error(message);
  }
}

/** Calls to `console.error` Electron makes itself (it logs, and does not throw, in these places). */
export type ElectronLog = unknown[][];

/** Electron's ipcMain: `handle` / `removeHandler`, and the dispatch of a renderer's invoke. */
export class FakeIpcMain extends EventEmitter {
  readonly #handlers = new Map<string, InvokeListener>();
  readonly #log: ElectronLog;

  constructor(log: ElectronLog) {
    super();
    this.#log = log;
  }

  handle(channel: string, listener: InvokeListener): void {
    if (this.#handlers.has(channel)) {
      throw new Error(`Attempted to register a second handler for '${channel}'`);
    }
    if (typeof listener !== "function") {
      throw new TypeError(`Expected handler to be a function, but found type '${typeof listener}'`);
    }
    this.#handlers.set(channel, listener);
  }

  removeHandler(channel: string): void {
    this.#handlers.delete(channel);
  }

  /** Test helper: the channels that have a handler now. */
  channels(): string[] {
    return [...this.#handlers.keys()];
  }

  /** The main side of `ipcRenderer.invoke` (web-contents.ts, '-ipc-invoke'): a reply of result or error text. */
  async dispatchInvoke(
    event: FakeInvokeEvent,
    channel: string,
    args: unknown[],
  ): Promise<{ result?: unknown; error?: string }> {
    const replyWithError = (error: unknown) => {
      this.#log.push([`Error occurred in handler for '${channel}':`, error]);
      return { error: String(error) };
    };
    const handler = this.#handlers.get(channel);
    if (!handler) return replyWithError(new Error(`No handler registered for '${channel}'`));
    try {
      const result = await handler(event, ...args);
      return { result: serialize(result, "An object could not be cloned.") };
    } catch (error) {
      return replyWithError(error);
    }
  }
}

/** Electron's ipcRenderer, in the preload's isolated world of one webContents. */
export class FakeIpcRenderer {
  readonly #emitter = new EventEmitter();
  readonly #contents: FakeWebContents;
  readonly #ipcMain: FakeIpcMain;
  /** Exceptions page listeners threw; Electron reports them in the renderer's console, main never sees them. */
  readonly listenerErrors: unknown[] = [];

  constructor(contents: FakeWebContents, ipcMain: FakeIpcMain) {
    this.#contents = contents;
    this.#ipcMain = ipcMain;
  }

  /** lib/renderer/api/ipc-renderer.ts: arguments and result are cloned; errors arrive as text only. */
  async invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    const sent = serialize(args, "An object could not be cloned.");
    // Across the process boundary: main handles it on a later turn.
    await new Promise((resolve) => setImmediate(resolve));
    const contents = this.#contents;
    const event: FakeInvokeEvent = {
      sender: contents,
      senderFrame: contents.isDestroyed() ? null : contents.mainFrame,
      processId: 1,
      frameId: 1,
    };
    const { error, result } = await this.#ipcMain.dispatchInvoke(event, channel, sent);
    if (error) throw new Error(`Error invoking remote method '${channel}': ${error}`);
    return result;
  }

  on(channel: string, listener: RendererListener): this {
    this.#emitter.on(channel, listener);
    return this;
  }

  removeListener(channel: string, listener: RendererListener): this {
    this.#emitter.removeListener(channel, listener);
    return this;
  }

  off(channel: string, listener: RendererListener): this {
    return this.removeListener(channel, listener);
  }

  listenerCount(channel: string): number {
    return this.#emitter.listenerCount(channel);
  }

  /** Delivery of a main-side `send`, already serialised. */
  deliver(channel: string, args: unknown[]): void {
    const event: FakeRendererEvent = { sender: this, senderId: 0, ports: [] };
    for (const listener of this.#emitter.listeners(channel) as RendererListener[]) {
      try {
        listener(event, ...serialize(args, "An object could not be cloned."));
      } catch (error) {
        this.listenerErrors.push(error);
      }
    }
  }
}

/** Electron's WebFrameMain: the frame a webContents shows, with its URL. */
export class FakeWebFrameMain {
  url: string;
  readonly #contents: FakeWebContents;
  readonly #log: ElectronLog;

  constructor(contents: FakeWebContents, url: string, log: ElectronLog) {
    this.#contents = contents;
    this.url = url;
    this.#log = log;
  }

  /** web-frame-main.ts: a serialisation failure is logged, never thrown. */
  send(channel: string, ...args: unknown[]): void {
    if (typeof channel !== "string") throw new Error("Missing required channel argument");
    try {
      const sent = serialize(args, "Failed to serialize arguments");
      const renderer = this.#contents.ipcRenderer;
      setImmediate(() => {
        if (!this.#contents.isDestroyed()) renderer.deliver(channel, sent);
      });
    } catch (error) {
      this.#log.push(["Error sending from webFrameMain: ", error]);
    }
  }
}

/** Electron's webContents: `send`, `isDestroyed`, `loadURL`, `destroy`, plus the renderer side for tests. */
export class FakeWebContents extends EventEmitter {
  static #nextId = 1;
  readonly id = FakeWebContents.#nextId++;
  readonly mainFrame: FakeWebFrameMain;
  readonly ipcRenderer: FakeIpcRenderer;
  #destroyed = false;

  constructor(ipcMain: FakeIpcMain, log: ElectronLog, url = "about:blank") {
    super();
    this.mainFrame = new FakeWebFrameMain(this, url, log);
    this.ipcRenderer = new FakeIpcRenderer(this, ipcMain);
  }

  send(channel: string, ...args: unknown[]): void {
    if (this.#destroyed) throw new TypeError("Object has been destroyed");
    this.mainFrame.send(channel, ...args);
  }

  isDestroyed(): boolean {
    return this.#destroyed;
  }

  getURL(): string {
    if (this.#destroyed) throw new TypeError("Object has been destroyed");
    return this.mainFrame.url;
  }

  async loadURL(url: string): Promise<void> {
    if (this.#destroyed) throw new TypeError("Object has been destroyed");
    this.mainFrame.url = url;
  }

  /** Closes the renderer: pushes no longer arrive, later calls throw `Object has been destroyed`. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.emit("destroyed");
  }
}

/**
 * Copies a value from one JavaScript world to the other as contextBridge does: plain objects and arrays
 * are copied, functions become proxies that copy their arguments and results, promises are proxied,
 * errors keep only their message, symbols are dropped and prototypes are lost.
 */
function acrossWorlds(value: unknown): unknown {
  if (typeof value === "function") {
    const fn = value as (...args: unknown[]) => unknown;
    return (...args: unknown[]) => {
      try {
        return acrossWorlds(fn(...args.map(acrossWorlds)));
      } catch (error) {
        throw acrossWorlds(error);
      }
    };
  }
  if (typeof value === "symbol") return undefined;
  if (value === null || typeof value !== "object") return value;
  // Tags, not instanceof: the preload may run in another realm (a vm context), as in Electron.
  const tag = Object.prototype.toString.call(value);
  if (tag === "[object Promise]") {
    return Promise.resolve(value).then(acrossWorlds, (error: unknown) => Promise.reject(acrossWorlds(error)));
  }
  if (tag === "[object Error]") return new Error((value as Error).message);
  if (Array.isArray(value)) return value.map(acrossWorlds);
  if (tag === "[object Date]" || tag === "[object RegExp]" || ArrayBuffer.isView(value)) {
    return structuredClone(value);
  }
  const copy: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) copy[key] = acrossWorlds(entry);
  return copy;
}

/** Electron's contextBridge for one renderer: what it exposes lands on `mainWorld` (the page's `window`). */
export class FakeContextBridge {
  readonly mainWorld: Record<string, unknown> = {};

  exposeInMainWorld(apiKey: string, api: unknown): void {
    if (Object.hasOwn(this.mainWorld, apiKey)) {
      throw new Error("Cannot bind an API on top of an existing property on the window object");
    }
    this.mainWorld[apiKey] = acrossWorlds(api);
  }
}

/** What a preload script receives from `require("electron")` in this fake. */
export interface FakePreloadElectron {
  contextBridge: FakeContextBridge;
  ipcRenderer: FakeIpcRenderer;
}

/** Electron's `app`: quit sequence (`before-quit` → windows close → `will-quit` → `quit`), `exit`, `getPath`. */
export class FakeApp extends EventEmitter {
  /** The exit code once the app has ended (quit: 0; exit: its code), else null. */
  exitCode: number | null = null;
  /** Every `app.exit` call, in order (a real app ends at the first; the fake records them to catch doubles). */
  readonly exitCalls: number[] = [];
  readonly #paths: Record<string, string>;
  readonly #closeAllWindows: () => void;
  readonly #exited: Promise<number>;
  #resolveExited: (code: number) => void = () => {};

  constructor(paths: Record<string, string>, closeAllWindows: () => void) {
    super();
    this.#paths = paths;
    this.#closeAllWindows = closeAllWindows;
    this.#exited = new Promise((resolve) => {
      this.#resolveExited = resolve;
    });
  }

  getPath(name: string): string {
    const found = this.#paths[name];
    if (found === undefined) throw new Error(`Failed to get '${name}' path`);
    return found;
  }

  /** Like Cmd+Q or `app.quit()`: `before-quit` first; a listener may prevent the quit. */
  quit(): void {
    if (this.exitCode !== null) return;
    const beforeQuit = preventableEvent();
    this.emit("before-quit", beforeQuit);
    // A listener that called app.exit() ended the app there and then.
    if (beforeQuit.defaultPrevented || this.exitCode !== null) return;
    this.#closeAllWindows();
    const willQuit = preventableEvent();
    this.emit("will-quit", willQuit);
    if (willQuit.defaultPrevented) return;
    this.#end(0);
    this.emit("quit", preventableEvent(), 0);
  }

  /** Exits at once: every window closes, and neither `before-quit` nor `will-quit` is emitted. */
  exit(exitCode = 0): void {
    this.exitCalls.push(exitCode);
    if (this.exitCode !== null) return;
    this.#closeAllWindows();
    this.#end(exitCode);
  }

  /** Test helper: resolves with the exit code when the app ends. */
  whenExited(): Promise<number> {
    return this.#exited;
  }

  #end(code: number): void {
    this.exitCode = code;
    this.#resolveExited(code);
  }
}

function preventableEvent(): { defaultPrevented: boolean; preventDefault(): void } {
  const event = {
    defaultPrevented: false,
    preventDefault() {
      event.defaultPrevented = true;
    },
  };
  return event;
}

/** Electron's BrowserWindow, bound to one fake Electron. */
export interface FakeBrowserWindow {
  readonly webContents: FakeWebContents;
  /** The page's `window`: what the preload exposed through contextBridge. */
  readonly page: Record<string, unknown>;
  /** Runs a preload script in this window's isolated world. */
  runPreload(preload: (electron: FakePreloadElectron) => void): void;
  loadURL(url: string): Promise<void>;
  isDestroyed(): boolean;
  /** Closes the window and destroys its webContents. */
  close(): void;
}

export interface FakeBrowserWindowClass {
  new (options?: { url?: string }): FakeBrowserWindow;
  getAllWindows(): FakeBrowserWindow[];
}

/** One Electron "process": its ipcMain, app, windows, and what Electron logged on its own. */
export interface FakeElectron {
  ipcMain: FakeIpcMain;
  app: FakeApp;
  BrowserWindow: FakeBrowserWindowClass;
  webContents: { getAllWebContents(): FakeWebContents[] };
  utilityProcess: FakeUtilityProcessModule;
  /** Electron's own console.error calls (clone failures on send, handler errors). */
  log: ElectronLog;
}

/** The child side of the fake utility process: gives the module `process.parentPort`, then imports it. */
const UTILITY_CHILD = fileURLToPath(new URL("./fake-utility-child.mjs", import.meta.url));

/** Options of Electron's `utilityProcess.fork` the fake honours. */
export interface FakeForkOptions {
  execArgv?: string[];
  serviceName?: string;
  stdio?: ("pipe" | "ignore" | "inherit")[] | string;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/**
 * Electron's UtilityProcess (lib/browser/api/utility-process.ts, docs/api/utility-process.md), backed by a real
 * child_process.fork of Node. `pid` is undefined until 'spawn' and again after 'exit'; messages are structured
 * clones (Node's "advanced" serialisation); posting to a process that has exited does nothing; `kill()` sends
 * SIGTERM. 'exit' carries the exit code; a process ended by a signal reports 128 + the signal's number (what
 * waitpid's status gives a shell). stdout/stderr are null unless piped, as in Electron.
 *
 * A V8 fatal error in the child (out of heap) is Electron's experimental 'error' event — `type` `"FatalError"`,
 * `location`, `report` (a Node.js diagnostic report, as JSON text) — and 'exit' follows, "no matter if you listen
 * to the error event" (docs/api/utility-process.md). The fake gets the same facts from Node itself: the child
 * runs with `--report-on-fatalerror` into a private folder, and a report found there when it has exited is
 * emitted as 'error' before 'exit' (its `header.event`, e.g. "Reached heap limit", as the location).
 */
export class FakeUtilityProcess extends EventEmitter {
  pid: number | undefined = undefined;
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  readonly #child: ChildProcess;

  constructor(modulePath: string, args: string[] = [], options: FakeForkOptions = {}) {
    super();
    const stdio = options.stdio ?? "inherit";
    type Io = "pipe" | "ignore" | "inherit";
    const [, out = "inherit", err = "inherit"] = (
      typeof stdio === "string" ? [stdio, stdio, stdio] : stdio
    ) as Io[];
    const reports = mkdtempSync(path.join(os.tmpdir(), "fake-utility-report-"));
    this.#child = fork(UTILITY_CHILD, [modulePath, ...args], {
      execArgv: [...(options.execArgv ?? []), "--report-on-fatalerror", `--report-directory=${reports}`],
      env: options.env ?? process.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdio: ["ignore", out, err, "ipc"],
      serialization: "advanced",
    });
    this.stdout = this.#child.stdout;
    this.stderr = this.#child.stderr;
    this.#child.on("spawn", () => {
      this.pid = this.#child.pid;
      this.emit("spawn");
    });
    this.#child.on("message", (message) => this.emit("message", message));
    // 'close' comes after the IPC channel is drained: every message the child sent arrives before 'exit'.
    this.#child.on("close", (code, signal) => {
      const exitCode = code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0);
      const fatal = readdirSync(reports).find((name) => name.endsWith(".json"));
      // Electron's 'exit' follows whether or not anyone listens to 'error': no listener, no throw.
      if (fatal !== undefined && this.listenerCount("error") > 0) {
        const report = readFileSync(path.join(reports, fatal), "utf8");
        const header = (JSON.parse(report) as { header?: { event?: string } }).header;
        this.emit("error", "FatalError", header?.event ?? "unknown", report);
      }
      rmSync(reports, { recursive: true, force: true });
      this.emit("exit", exitCode);
      this.pid = undefined;
    });
  }

  postMessage(message: unknown, transfer?: unknown[]): void {
    if (transfer && transfer.length > 0) {
      throw new TypeError("Invalid value for transfer: only MessagePortMain objects can be transferred");
    }
    if (this.#child.connected) this.#child.send(message as never);
  }

  kill(): boolean {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return false;
    return this.#child.kill("SIGTERM");
  }
}

/** Electron's `utilityProcess` module, which forks {@link FakeUtilityProcess}es and remembers them. */
export interface FakeUtilityProcessModule {
  fork(modulePath: string, args?: string[], options?: FakeForkOptions): FakeUtilityProcess;
  /** Test helper: every process forked so far. */
  readonly forked: FakeUtilityProcess[];
}

/** Creates an independent fake Electron. `userData` is what `app.getPath("userData")` answers. */
export function createFakeElectron(options: { userData?: string } = {}): FakeElectron {
  const log: ElectronLog = [];
  const ipcMain = new FakeIpcMain(log);
  const windows = new Set<FakeBrowserWindow>();

  class BrowserWindow implements FakeBrowserWindow {
    readonly webContents: FakeWebContents;
    readonly #bridge = new FakeContextBridge();
    #destroyed = false;

    constructor(windowOptions: { url?: string } = {}) {
      this.webContents = new FakeWebContents(ipcMain, log, windowOptions.url);
      windows.add(this);
    }

    static getAllWindows(): FakeBrowserWindow[] {
      return [...windows];
    }

    get page(): Record<string, unknown> {
      return this.#bridge.mainWorld;
    }

    runPreload(preload: (electron: FakePreloadElectron) => void): void {
      preload({ contextBridge: this.#bridge, ipcRenderer: this.webContents.ipcRenderer });
    }

    loadURL(url: string): Promise<void> {
      return this.webContents.loadURL(url);
    }

    isDestroyed(): boolean {
      return this.#destroyed;
    }

    close(): void {
      if (this.#destroyed) return;
      this.#destroyed = true;
      windows.delete(this);
      this.webContents.destroy();
    }
  }

  const app = new FakeApp({ userData: options.userData ?? "/nonexistent/fake-electron-user-data" }, () => {
    for (const window of [...windows]) window.close();
  });
  return {
    ipcMain,
    app,
    BrowserWindow,
    webContents: { getAllWebContents: () => [...windows].map((window) => window.webContents) },
    utilityProcess: createFakeUtilityProcess(),
    log,
  };
}

function createFakeUtilityProcess(): FakeUtilityProcessModule {
  const forked: FakeUtilityProcess[] = [];
  return {
    forked,
    fork(modulePath, args, options) {
      const child = new FakeUtilityProcess(modulePath, args, options);
      forked.push(child);
      return child;
    },
  };
}
