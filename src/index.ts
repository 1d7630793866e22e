// hangar's public API, as README documents it: the shell, its transports and config backend, its errors, and
// the types of all of these. The machines are in `hangar/machines`; plugins import `hangar/sdk`.

export type { Disposable, Subscription } from "./base/disposable.js";
export type { ConfigBackend, ConfigWarningListener } from "./context/config-backend.js";
export { createFileConfigBackend } from "./context/config-file.js";
export type { LogLevel, LogOptions } from "./context/logger.js";
export type { ErrorCode, PluginPhase } from "./errors.js";
export { ErrorCodes, HangarError } from "./errors.js";
export type { InspectorJson, InspectorRecord, SessionHeader } from "./inspector/client/protocol.js";
export type { InspectorOptions } from "./inspector/inspector.js";
export type { RedactHook, RedactionSite } from "./inspector/recorder.js";
export type { MemoryIpc } from "./ipc/memory.js";
export { createMemoryIpc } from "./ipc/memory.js";
export type { IpcHandler, IpcTransport } from "./ipc/transport.js";
export type {
  IpcAttachOptions,
  WebSocketIpc,
  WebSocketIpcLogger,
  WebSocketIpcOptions,
} from "./ipc/websocket.js";
export { createWebSocketIpc } from "./ipc/websocket.js";
export { childProcessHost } from "./isolation/child-process-host.js";
export type { IsolationHost } from "./isolation/isolate.js";
export type * from "./sdk/types.js";
export type { AuthProvider, Shell, ShellOptions } from "./shell.js";
export { createShell } from "./shell.js";
export type {
  PluginErrorInfo,
  PluginState,
  PluginStatus,
  ShellState,
  ShellStatus,
  WorkerStatus,
} from "./status.js";
