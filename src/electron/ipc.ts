// The Electron IPC transport: plugin handlers on ipcMain, plugin pushes to every live renderer.

import { originOf, parseAllowedOrigins } from "../base/origin.js";
import { createError, type HangarError, messageOf } from "../errors.js";
import type { IpcHandler, IpcTransport } from "../ipc/transport.js";
import type { ElectronInvokeEvent, ElectronIpcMain, ElectronWebContents } from "./electron-types.js";

/** Options of {@link electronIpc}. */
export interface ElectronIpcOptions {
  /** Electron's `ipcMain`. */
  ipcMain: ElectronIpcMain;
  /**
   * The renderers that receive `ctx.ipc.send` pushes, asked on every send; destroyed ones are skipped.
   * Usually `() => BrowserWindow.getAllWindows().map((window) => window.webContents)`.
   */
  getWebContents: () => Iterable<ElectronWebContents>;
  /**
   * When given, an invoke is answered only if the calling frame's origin is listed, e.g. `["app://shell"]`
   * or `["http://localhost:5173"]` for a dev server; `"file://"` admits every local file. Any other frame
   * (a page the window navigated to, an embedded iframe) gets a `HANGAR_IPC_SENDER` error instead.
   * Default: no check.
   */
  allowedOrigins?: string[];
}

/**
 * Creates an IpcTransport over Electron's ipcMain, for `createShell({ ipc })`. Plugin handlers receive only
 * the payload, never Electron's event (it holds the sender's webContents). Pushes are checked with
 * `structuredClone` first, because Electron only logs a payload it cannot serialise and delivers nothing.
 */
export function electronIpc(options: ElectronIpcOptions): IpcTransport {
  const { ipcMain, getWebContents } = options;
  if (typeof ipcMain?.handle !== "function" || typeof ipcMain.removeHandler !== "function") {
    throw optionsError("ipcMain must be Electron's ipcMain (with handle and removeHandler)");
  }
  if (typeof getWebContents !== "function") {
    throw optionsError(
      "getWebContents must be a function returning the windows' webContents, e.g. " +
        "() => BrowserWindow.getAllWindows().map((window) => window.webContents)",
    );
  }
  const allowed = options.allowedOrigins === undefined ? null : allowedOriginSet(options.allowedOrigins);

  function checkSender(channel: string, event: ElectronInvokeEvent): void {
    if (!allowed) return;
    let url: string | undefined;
    try {
      url = event?.senderFrame?.url;
    } catch {
      // Electron throws on senderFrame when the frame is already disposed: treat it as gone.
    }
    const origin = url === undefined ? null : originOf(url);
    if (origin !== null && allowed.has(origin)) return;
    const who =
      url === undefined
        ? "a frame that no longer exists"
        : `a frame at origin '${origin ?? "none"}' (${truncate(url)})`;
    throw createError("HANGAR_IPC_SENDER", { channel, sender: who });
  }

  return Object.freeze({
    handle(channel: string, handler: IpcHandler): void {
      // A second handler makes ipcMain throw Electron's own error; it reaches the plugin unchanged.
      ipcMain.handle(channel, (event, ...args) => {
        checkSender(channel, event);
        return handler(args[0]);
      });
    },

    removeHandler(channel: string): void {
      ipcMain.removeHandler(channel);
    },

    send(channel: string, payload: unknown): void {
      try {
        structuredClone(payload);
      } catch (error) {
        throw createError(
          "HANGAR_IPC_UNCLONEABLE",
          "electron",
          { channel, reason: messageOf(error) },
          { cause: error },
        );
      }
      for (const contents of getWebContents()) {
        if (contents.isDestroyed()) continue;
        try {
          contents.send(channel, payload);
        } catch (error) {
          // One failing renderer must not keep the push from the others; Electron itself logs these too.
          console.error(`hangar: sending IPC '${channel}' to a renderer failed: ${messageOf(error)}`);
        }
      }
    },
  });
}

function allowedOriginSet(entries: unknown): Set<string> {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw optionsError(
      "allowedOrigins must be a non-empty array of origins such as 'app://shell'; omit it to accept invokes from every frame",
    );
  }
  return new Set(parseAllowedOrigins(entries, "electronIpc(): allowedOrigins"));
}

function optionsError(problem: string): HangarError {
  return createError("HANGAR_SHELL_OPTIONS", "electronIpc", { problem });
}

function truncate(url: string): string {
  return url.length > 120 ? `${url.slice(0, 117)}...` : url;
}
