// The few parts of Electron's main-process API that hangar/electron uses, typed structurally so that no
// hangar module imports `electron`: the app passes its own objects in, and Electron's types satisfy these.

/** What Electron hands an `ipcMain.handle` listener as its first argument (only what hangar reads). */
export interface ElectronInvokeEvent {
  /**
   * The frame that called `ipcRenderer.invoke`. Electron types it `WebFrameMain | null`: it is null (or
   * throws on access in some versions) when the frame navigated away or was destroyed before the handler ran.
   */
  readonly senderFrame?: { readonly url: string } | null;
}

/** Electron's `ipcMain`: the methods behind `ipcRenderer.invoke`. */
export interface ElectronIpcMain {
  /** Throws `Attempted to register a second handler for '<channel>'` when the channel already has one. */
  handle(channel: string, listener: (event: ElectronInvokeEvent, ...args: unknown[]) => unknown): void;
  /** Silent when the channel has no handler. */
  removeHandler(channel: string): void;
}

/** A renderer's `webContents`, e.g. `BrowserWindow.webContents`. */
export interface ElectronWebContents {
  /** Serialises `args` with the structured clone algorithm; Electron logs (does not throw) when that fails. */
  send(channel: string, ...args: unknown[]): void;
  /** True once the renderer is gone; `send` on a destroyed webContents throws `Object has been destroyed`. */
  isDestroyed(): boolean;
}

/** The event Electron passes to `before-quit` listeners. */
export interface ElectronQuitEvent {
  preventDefault(): void;
}

/** Electron's `app`, as far as hangar/electron uses it. */
export interface ElectronApp {
  on(event: "before-quit", listener: (event: ElectronQuitEvent) => void): unknown;
  removeListener(event: "before-quit", listener: (event: ElectronQuitEvent) => void): unknown;
  /** Exits at once with `exitCode`, closing every window without emitting `before-quit` or `will-quit`. */
  exit(exitCode?: number): void;
}

/** The part of Electron's `app` that locates per-user data. */
export interface ElectronPaths {
  getPath(name: "userData"): string;
}

/**
 * A child of Electron's `utilityProcess.fork` (Electron's `UtilityProcess`), as far as hangar uses it.
 * Messages it posts with `process.parentPort.postMessage` arrive as 'message' events; its exit code as 'exit'.
 */
export interface ElectronUtilityProcess {
  /** Undefined until the process has spawned, and again after 'exit'. */
  readonly pid: number | undefined;
  /** Structured clone of `message`; only MessagePortMain objects can be transferred. */
  postMessage(message: unknown): void;
  /** Ends the process with SIGTERM (POSIX); true when the signal was sent. */
  kill(): boolean;
  on(event: "spawn", listener: () => void): this;
  on(event: "exit", listener: (code: number) => void): this;
  on(event: "message", listener: (message: unknown) => void): this;
  /** V8 could not continue (e.g. out of heap); 'exit' follows. Experimental in Electron. */
  on(event: "error", listener: (type: "FatalError", location: string, report: string) => void): this;
}

/** Electron's `utilityProcess` module (main process, after `app` is ready). */
export interface ElectronUtilityProcessModule {
  fork(
    modulePath: string,
    args?: string[],
    options?: {
      execArgv?: string[];
      serviceName?: string;
      stdio?: ("pipe" | "ignore" | "inherit")[] | string;
      env?: Record<string, string | undefined>;
    },
  ): ElectronUtilityProcess;
}
