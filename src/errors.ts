// Every error hangar raises: a stable `HANGAR_*` code and the sentences it is raised with, which name the plugin,
// the phase and the fix. Call sites pass only the variable parts (Fastify's `createError(code, template)`), so a
// message cannot drift from its twin. docs/errors.md documents each code; test/docs/errors-doc.test.ts keeps the
// two in step (every code, and every example matching one of its code's sentences).

import { describeThrown } from "./thrown.js";

/** What plugin.json must at least hold; said wherever a manifest is missing or wrong. */
const MANIFEST_SHAPE =
  'plugin.json must be a JSON object with at least "id" (lowercase letters, digits, dashes) and "version" (semver)';
/** The plugin id rule, as a page calling `window.hangar` is told it. */
const PLUGIN_ID_RULE =
  "the plugin id must be a plugin.json id: lowercase letters, digits and '-', starting with a letter or digit, at most 64 characters.";
const CONTRACT_FIX =
  'Export default createPlugin({ onStart, onStop }) from "hangar/sdk", or export functions named onStart and onStop.';
const HOOK_FAILED =
  "Plugin '{pluginId}' failed in {hook}{where}: {reason}. Fix the error in the plugin's {hook}; ";
const HOOK_TIMEOUT =
  "Plugin '{pluginId}' did not finish {hook} within {limitMs} ms (phase {phase}). Make {hook} settle sooner (start slow work in the background), or raise background.{phase}TimeoutMs in plugin.json.";
const CONFIG_CALL = "Plugin '{pluginId}' called config.{method}() with";

/**
 * The catalogue: per code, `summary` (what it means, in a line; docs/errors.md's Cause says more) and either
 * one `message` template or named `messages` for the distinct situations one code covers. `{name}` marks a
 * variable part; everything else is the fixed sentence.
 */
const catalogue = {
  // manifest and loading (phase `load`)
  HANGAR_MANIFEST_UNREADABLE: {
    summary: "plugin.json is missing or is not valid JSON",
    messages: {
      missing: `Plugin folder '{folder}' could not be loaded: {file} does not exist. Create it; ${MANIFEST_SHAPE}.`,
      unreadable:
        "Plugin folder '{folder}' could not be loaded: {file} cannot be read ({reason}). Check that it is a readable file.",
      notJson:
        "Plugin folder '{folder}' could not be loaded: {file} is not valid JSON ({reason}). Fix the JSON syntax.",
    },
  },
  HANGAR_MANIFEST_INVALID: {
    summary: "plugin.json does not match the schema",
    messages: {
      schema: `Plugin folder '{folder}' could not be loaded: plugin.json does not match the schema. {issues}\nFix the fields listed above; ${MANIFEST_SHAPE}.`,
      noEntry:
        "Plugin '{pluginId}' ({folder}) could not be loaded: plugin.json has no background.entryModule. Add one, or do not load a UI-only plugin.",
      extension:
        "Plugin '{pluginId}' ({folder}) could not be loaded: background.entryModule \"{entry}\" leads to {realEntry}, whose extension hangar cannot load. Use one of {extensions}.",
      idChanged:
        "Plugin '{pluginId}' ({folder}) now declares id '{newId}'. A plugin's id cannot change while the shell runs: restart the shell to pick up the new id.",
      warning: "Plugin '{pluginId}': {problem}",
    },
  },
  HANGAR_MANIFEST_DUPLICATE_ID: {
    summary: "two plugin folders declare the same id",
    message:
      "Plugin folder '{folder}' could not be loaded: its id '{pluginId}' is already declared by '{owner}'. Give one of them a different id in plugin.json, or remove one folder.",
  },
  HANGAR_ENTRY_OUTSIDE_PLUGIN: {
    summary: "background.entryModule resolves outside the plugin folder",
    message:
      'Plugin \'{pluginId}\' ({folder}) could not be loaded: background.entryModule "{entry}" {how}. Give a path relative to the plugin folder that stays inside it, e.g. "background/index.ts".',
  },
  HANGAR_ENTRY_NOT_FOUND: {
    summary: "background.entryModule does not exist",
    messages: {
      missing:
        "Plugin '{pluginId}' ({folder}) could not be loaded: background.entryModule \"{entry}\" does not exist ({reason}).{hint} Create the file or fix the path in plugin.json.",
      notFile:
        'Plugin \'{pluginId}\' ({folder}) could not be loaded: background.entryModule "{entry}" is not a file. Point it at the module file itself, e.g. "background/index.ts".',
    },
  },
  HANGAR_MODULE_IMPORT: {
    summary: "the entry module threw or failed to compile while being imported",
    messages: {
      threw:
        "Plugin '{pluginId}' could not be loaded: importing {file} failed: {reason}. Fix the module so it imports without throwing.",
      missingPackage:
        "Plugin '{pluginId}' could not be loaded: importing {file} failed: {reason}. Package '{packageName}' is not installed where the plugin can find it: run \"npm install {packageName}\" in {folder}.",
    },
  },
  HANGAR_MODULE_CONTRACT: {
    summary: "the entry module does not export onStart/onStop functions",
    messages: {
      defaultExport: `Plugin '{pluginId}' could not be loaded: {file} has a default export that is not a valid plugin module; {problems}. ${CONTRACT_FIX}`,
      createPlugin: `Plugin '{pluginId}' could not be loaded: {file} calls createPlugin with an invalid module; {problems}. ${CONTRACT_FIX}`,
      namedExports: `Plugin '{pluginId}' could not be loaded: {file} exports neither a default createPlugin(...) object nor named onStart/onStop; {problems}. ${CONTRACT_FIX}`,
    },
  },
  HANGAR_LOAD_FAILED: {
    summary: "loading failed for another reason",
    messages: {
      folder: "Plugin folder '{folder}' could not be loaded: {reason}. Check the folder's permissions.",
      evaluation:
        "Plugin '{pluginId}' could not be loaded: while its module was evaluated, its code threw or left a promise rejected without a handler: {reason}. Fix the module's top-level code.",
      other: "Plugin '{pluginId}' could not be loaded: {reason}.",
    },
  },
  HANGAR_LOAD_TIMEOUT: {
    summary: "importing the entry module did not settle within the load timeout",
    message:
      "Plugin '{pluginId}': importing its entry module{file} did not settle within {limitMs} ms (phase load). A top-level await that never ends hangs the import: move slow work into onStart, or raise background.loadTimeoutMs in plugin.json (timeouts.load for every plugin). The other plugins start regardless; this one is retried on the next update.",
  },
  HANGAR_WORKER_BOOT_TIMEOUT: {
    summary: "an isolated plugin's worker did not start within the load timeout, before its import began",
    message:
      "Plugin '{pluginId}': its worker did not start within {limitMs} ms (phase load), so its entry module was never imported. The plugin's code is not the cause: the machine may be overloaded (many workers starting at once). Raise background.loadTimeoutMs in plugin.json (timeouts.load for every plugin), or start fewer isolated plugins at once. The other plugins start regardless; this one is retried on the next update.",
  },
  // dependencies (phase `dependency`)
  HANGAR_DEPENDENCY_MISSING: {
    summary: "dependsOn names a plugin that does not exist or has no background module",
    messages: {
      one: "Plugin '{pluginId}' cannot start: it depends on {names}, which is not installed or has no background module. Install it or remove {names} from dependsOn in its plugin.json.",
      many: "Plugin '{pluginId}' cannot start: it depends on {names}, which are not installed or have no background module. Install them or remove {names} from dependsOn in its plugin.json.",
    },
  },
  HANGAR_DEPENDENCY_FAILED: {
    summary: "a plugin named in dependsOn is not running",
    messages: {
      notRunning:
        "Plugin '{pluginId}' depends on '{dependency}', which is {state}{reason}. Fix '{dependency}' first; '{pluginId}' is retried on the next update.",
      startRefused:
        "Plugin '{pluginId}' was not started: it depends on '{dependency}', which is {state}{reason}. Fix '{dependency}' first, then start '{pluginId}' again.",
    },
  },
  HANGAR_DEPENDENCY_CYCLE: {
    summary: "dependsOn forms a cycle",
    messages: {
      own: "Plugin '{pluginId}' cannot start: its dependsOn forms a cycle {route}. Remove one of these dependsOn entries.",
      tangle:
        "Plugin '{pluginId}' cannot start: it is one of {count} plugins whose dependsOn entries form cycles, among them {route}. Remove dependsOn entries until no plugin depends on itself through others.",
      towardCycle:
        "Plugin '{pluginId}' cannot start: it depends on '{reached}' ({path}), which is on the dependsOn cycle {route}. Break that cycle.",
    },
  },
  // lifecycle phases
  HANGAR_START_FAILED: {
    summary: "onStart threw or rejected",
    message: `${HOOK_FAILED}it is retried on the next update.`,
  },
  HANGAR_START_TIMEOUT: {
    summary: "onStart did not settle within the start timeout",
    message: HOOK_TIMEOUT,
  },
  HANGAR_STOP_FAILED: {
    summary: "onStop threw or rejected",
    message: `${HOOK_FAILED}the plugin starts again on the next update (after a shutdown, on the shell's next start).`,
  },
  HANGAR_STOP_TIMEOUT: {
    summary: "onStop did not settle within the stop timeout",
    message: HOOK_TIMEOUT,
  },
  HANGAR_RESUME_FAILED: {
    summary: "onResume threw or rejected",
    message: `${HOOK_FAILED}it is retried on the next update.`,
  },
  HANGAR_RESUME_TIMEOUT: {
    summary: "onResume did not settle within the resume timeout",
    message: HOOK_TIMEOUT,
  },
  HANGAR_SHUTDOWN_TIMEOUT: {
    summary: "the whole shutdown exceeded its budget",
    message:
      "The whole shutdown exceeded its budget of {budgetMs} ms; hangar released the plugin without waiting any longer. Make onStop settle sooner, or raise timeouts.shutdown.",
  },
  // supervision and containment (phase `run`, SPEC §11–§12)
  HANGAR_PLUGIN_CRASHED: {
    summary: "the plugin's code threw or rejected outside any hook, or its worker died",
    messages: {
      outsideHook:
        "Plugin '{pluginId}' crashed outside any hook: {cause}: {reason}. hangar ran its onStop and disposed its context; the other plugins carry on. Catch errors in timers, listeners and promises the plugin starts.",
      workerEnded: "Plugin '{pluginId}'s worker was ended by hangar.",
      workerOutOfMemory:
        "Plugin '{pluginId}' ran out of memory (phase {phase}): its worker reached background.memoryLimitMb ({limitMb} MB) and was ended. Find what the plugin keeps allocating, or raise memoryLimitMb in plugin.json.",
      workerUncaught:
        "Plugin '{pluginId}' crashed (phase {phase}): {cause}: {reason} (uncaught in its worker, which ended). Catch the error in the plugin, or handle the promise it rejected.",
      workerExited:
        "Plugin '{pluginId}' ended its worker with exit code {exitCode} (phase {phase}), e.g. by calling process.exit(). A plugin must not exit: to fail, throw from its hook; to end, let hangar stop it and end the worker.",
      workerSignal:
        "Plugin '{pluginId}'s process was ended by {signal} (phase {phase}): a native addon's crash (SIGSEGV, SIGBUS), an abort (SIGABRT) or a kill from outside hangar. Check the plugin's native modules, and what else on the machine ends processes.",
    },
  },
  HANGAR_PLUGIN_UNRESPONSIVE: {
    summary: "an isolated plugin's event loop did not answer within the unresponsive timeout",
    message:
      "Plugin '{pluginId}' stopped answering: its worker's event loop was blocked for {silentMs} ms {where} (phase {phase}), longer than timeouts.unresponsive ({limitMs} ms); hangar ended the worker. Find the busy loop or long synchronous work in the plugin and move it off the event loop.",
  },
  HANGAR_PROCESS_EXIT: {
    summary: "plugin code called process.exit(); it was refused",
    message:
      "Plugin '{pluginId}' called process.exit({exitCode}); hangar refused it, because a plugin cannot end the shell's process. Throw an error instead: in a hook it fails the hook, elsewhere the plugin crashes and its restart policy applies.",
  },
  HANGAR_RESTART_LIMIT: {
    summary: "the plugin crashed more often than its restart policy allows",
    message:
      "Plugin '{pluginId}' crashed again after {restarts} restart(s) within {windowMs} ms (background.restart.maxRestarts is {maxRestarts}), so hangar stopped restarting it. Last cause: {cause} Fix the crash, then start it again: hangar update {pluginId} (which re-imports its code), POST /api/_shell/plugins/{pluginId}/restart, or shell.restartPlugin(\"{pluginId}\"); any update of the shell retries it too.",
  },
  // context services
  HANGAR_CONTEXT_DISPOSED: {
    summary: "a registration was attempted on a disposed plugin context",
    message:
      "Plugin '{pluginId}' called {call} after its context was disposed (its onStop ran, or its onStart failed or timed out). Stop timers and listeners when ctx.signal aborts.",
  },
  HANGAR_ROUTE_NAMESPACE: {
    summary: "a router was registered outside /api/{pluginId}",
    messages: {
      invalidId:
        "Cannot mount a router for plugin '{pluginId}': that is not a valid plugin id, so it has no /api namespace. Plugin ids match ^[a-z0-9][a-z0-9-]{0,63}$.",
      outside:
        "Plugin '{pluginId}' tried to register a router at '{path}', but {problem}. Mount it at '{prefix}' or a literal path below it, e.g. ctx.server.registerRouter('{prefix}', router).",
    },
  },
  HANGAR_ROUTE_FAILED: {
    summary: "an error escaped a plugin's route handler: that request failed with 500",
    message:
      "Plugin '{pluginId}' route {route} failed: {reason}. The request was answered 500 (or cut off, if its headers had gone out); the plugin keeps running. Catch the error in the route handler and answer with a status of your own.",
  },
  HANGAR_IPC_HANDLER_FAILED: {
    summary: "an error escaped a plugin's IPC handler: that invoke was rejected",
    message:
      "Plugin '{pluginId}' IPC handler '{channel}' failed: {reason}. The invoke was rejected with this error's message; the plugin keeps running. Catch the error in the handler and return a result that says what went wrong.",
  },
  HANGAR_IPC_CHANNEL: {
    summary: "an IPC channel name is empty or malformed",
    messages: {
      plugin: "Plugin '{pluginId}' called ipc.{method}() with {problem}",
      page: "{call}: {problem}",
      pagePluginId: `{call}: ${PLUGIN_ID_RULE}`,
    },
  },
  HANGAR_IPC_UNCLONEABLE: {
    summary: "an IPC payload cannot be structured-cloned",
    messages: {
      plugin:
        "Plugin '{pluginId}' called ipc.send('{channel}') with a payload that cannot be structured-cloned ({reason}). Send plain data: functions, symbols and objects holding them cannot reach a renderer.",
      electron:
        "IPC send on '{channel}' has a payload that cannot be structured-cloned ({reason}); Electron would only log it and deliver nothing. Send plain data.",
    },
  },
  HANGAR_IPC_SENDER: {
    summary: "an IPC invoke came from a renderer frame whose origin is not allowed",
    message:
      "IPC invoke on '{channel}' refused: it came from {sender}, which is not in electronIpc's allowedOrigins. Add that origin to allowedOrigins if this page should reach plugins.",
  },
  HANGAR_CONFIG_KEY: {
    summary: "a config key is empty or reserved",
    messages: {
      notString: `${CONFIG_CALL} a {type} key; config keys are non-empty strings. Pass the key as a string, e.g. config.{method}("refresh_interval").`,
      empty: `${CONFIG_CALL} an empty key; config keys are non-empty strings. Give the value a name.`,
      reserved: `${CONFIG_CALL} the key '{key}', which is reserved because it could pollute object prototypes. Choose another key name.`,
      electronStore: `${CONFIG_CALL} the key '{key}', which electron-store reserves for its own data. Choose another key name.`,
    },
  },
  HANGAR_CONFIG_VALUE: {
    summary: "a config value is not plain JSON data",
    message:
      "Plugin '{pluginId}' called config.set('{key}', value) with a value that is not plain JSON data: {problem}. Store only strings, finite numbers, booleans, null, arrays and plain objects.",
  },
  HANGAR_CONFIG_CORRUPT: {
    summary: "a config file could not be parsed and was moved aside",
    messages: {
      movedAside:
        "The config file of plugin '{pluginId}' could not be used: {problem}. It was moved to {moved} and the plugin starts with an empty config; copy back any values you need from the moved file.",
      moveFailed:
        "The config file of plugin '{pluginId}' ({file}) could not be used ({problem}) and could not be moved aside: {reason}. Move or delete it by hand.",
      reservedKey:
        "The config file of plugin '{pluginId}' ({file}) has the reserved key '{key}'; hangar ignores it. Remove it from the file.",
      tempFileLeft:
        "A temp file left by an interrupted config write, {file}, could not be deleted: {reason}. It is safe to delete by hand.",
    },
  },
  HANGAR_CONFIG_READ: {
    summary: "a config file exists but could not be read (permissions, I/O error)",
    message:
      "Plugin '{pluginId}' could not read its config file {file}: {reason}. Check the file's permissions; hangar will try again on the next config call.",
  },
  HANGAR_CONFIG_WRITE: {
    summary: "a config file could not be written",
    message:
      "Plugin '{pluginId}' could not save its config to {file}: {reason}. The change was not saved; check that {folder} is writable and the disk has space.",
  },
  // shell
  HANGAR_PORT_IN_USE: {
    summary: "the server port is taken by another process",
    message:
      "Port {port} on {host} is already in use by another process. Stop it, or choose another port with --port / server.port (0 picks a free one).",
  },
  HANGAR_SERVER_CLOSED: {
    summary: "the shell's server stopped while the shell was running, closed by code other than hangar's",
    message:
      "The shell's HTTP server on {url} was closed while the shell was running, and not by hangar: code in the process (most likely a plugin that closed every net.Server it found) closed it. hangar stops the plugins and exits with code 1; find the plugin that calls close() on servers it did not create.",
  },
  HANGAR_SERVER_LISTEN: {
    summary: "the server could not listen for another reason",
    messages: {
      denied:
        "The shell's HTTP server could not listen on {where}: {reason}. The process may not bind that port; choose a port above 1023 with --port / server.port.",
      notLocal:
        "The shell's HTTP server could not listen on {where}: {reason}. That host is not an address of this machine; use 127.0.0.1 (--host / server.host).",
      other:
        "The shell's HTTP server could not listen on {where}: {reason}. Check --host / --port (server.host / server.port).",
    },
  },
  HANGAR_DATA_DIR_LOCKED: {
    summary: "another running shell holds the data folder",
    message:
      "The data folder {folder} is in use by another hangar shell ({holder}). Stop that shell, or give this one another folder with --data-dir / dataDir.",
  },
  HANGAR_FOLDER_UNWRITABLE: {
    summary: "a folder hangar must create or write into cannot be created or written",
    message:
      "{what} {folder} cannot be created or written: {reason}. Give {option} a folder this process may create and write.",
  },
  HANGAR_AUTH_FAILED: {
    summary: "the auth provider threw; the shell continues unauthenticated",
    message:
      "The auth provider's init() failed: {reason}. The shell continues unauthenticated until shell.setAuth() is called; fix the provider, or have it answer from a cached session.",
  },
  HANGAR_AUTH_TIMEOUT: {
    summary: "the auth provider did not answer in time; the shell continues unauthenticated",
    message:
      "Auth did not initialise within {limitMs} ms; the shell continues unauthenticated. Make the auth provider's init() settle sooner, or raise timeouts.auth.",
  },
  HANGAR_SHELL_OPTIONS: {
    summary: "createShell was given invalid options",
    messages: {
      invalid: "createShell was given invalid options:\n{issues}",
      unknownOption: "createShell was given an unknown option '{option}'. Did you mean '{suggestion}'?",
      utilityProcess:
        "utilityProcessHost(utilityProcess): pass Electron's utilityProcess module (the utilityProcess export of the electron package, in the main process).",
      inspector:
        "createShell was given an invalid inspector option: {problem}. Pass inspector: true, or { token?: string, allowActions?: boolean, redact?: (value, site) => value }.",
      pluginPathUnusable:
        "Plugin path '{path}' cannot be used ({reason}). Pass an existing plugin folder or a folder holding plugin folders.",
      pluginPathNotFolder:
        "Plugin path '{path}' is not a folder. Pass a plugin folder or a folder holding plugin folders.",
      sessionToken:
        "server.token must be a string of at least 16 characters from A-Z a-z 0-9 - . _ ~ + / (optionally ending in '='), so it can be sent as 'Authorization: Bearer <token>'. Generate one per session, e.g. crypto.randomBytes(32).toString('base64url').",
      wildcardOrigin:
        "{option} contains {entry}, which is not an origin ('*' and 'null' would let any page in). List exact origins instead, such as 'http://localhost:5173', 'app://shell' or 'file://'.",
      webSocketLimit:
        "createWebSocketIpc was given {option}: {value}; pass a positive whole number of {unit}.",
      electronIpc: "electronIpc(): {problem}.",
      electronConfigApp:
        "electronConfig(): app must be Electron's app (with getPath), so config can live under its userData folder.",
      electronApp: "attachToElectronApp(app, shell): app must be Electron's app (with on and exit).",
      electronShell: "attachToElectronApp(app, shell): shell must be the object createShell() returned.",
      electronTimeout:
        "attachToElectronApp(): timeoutMs is {timeoutMs}; pass a positive number of milliseconds, or omit it to use the shell's shutdown budget plus 5 s.",
      initId:
        "'{id}' is not a valid plugin id: use 1–64 lowercase letters, digits and dashes, starting with a letter or digit. Pass one with --id.",
      initNotEmpty:
        "{folder} is not empty ({entries}): hangar init writes only into a new or empty folder, so it never overwrites your files.",
    },
  },
  HANGAR_SHELL_STATE: {
    summary: "a shell method was called in a state that does not allow it",
    messages: {
      pluginControl:
        "shell.{method}('{pluginId}') was called while the shell is {state}; call it once shell.start() has resolved, between updates, and before shell.stop().",
      startAfterStop:
        "shell.start() was called after shell.stop(): a stopped shell cannot restart. Create a new shell.",
      update:
        "shell.update() was called while the shell is {state}; call it after shell.start() and before shell.stop().",
      updateDropped:
        "The update did not complete: the shell is {state}. Updates are dropped once shutdown begins.",
      serverClosed: "This HTTP server was closed; create a new one to listen again.",
      webSocketBridge:
        "This WebSocket IPC bridge is already {how}. Create one bridge per shell with createWebSocketIpc().",
      inspectorActor:
        "The inspector has no actor '{actor}'. Use an id from the actor tree, such as 'shell' or 'plugin:<id>'.",
      inspectorRestart: "Only plugins can be restarted from the inspector; '{actor}' is not a plugin actor.",
    },
  },
  HANGAR_PLUGIN_UNKNOWN: {
    summary: "a shell method or route named a plugin id the shell does not have",
    messages: {
      shell: "No plugin '{pluginId}' in this shell; known plugins: {known}.",
      http: "No plugin '{pluginId}'. GET /api/_shell/plugins lists the known plugins.",
    },
  },
  HANGAR_INTERNAL: {
    summary: "a defect in hangar itself",
    messages: {
      shellActorStopped: "The hangar shell actor stopped unexpectedly; see the log.",
      graphviz:
        "hangar graph: Graphviz could not render a statechart diagram: {messages}. This is a defect in hangar's DOT output; please report it with the machine that failed.",
      configStoreId:
        "The config backend was asked for the store of '{pluginId}', which is not a valid plugin id ({pattern}); ids are validated with plugin.json, so this is a defect in the caller.",
    },
  },
} as const satisfies Record<string, CatalogueEntry>;

/** One code's entry in the catalogue. */
interface CatalogueEntry {
  readonly summary: string;
  readonly message?: string;
  readonly messages?: Readonly<Record<string, string>>;
}

type Catalogue = typeof catalogue;

/** Every error code hangar raises. Public: users match on them. */
export type ErrorCode = keyof Catalogue;

/** All error codes hangar raises, each with what it means in a line. Public: users match on the codes. */
export const ErrorCodes: { readonly [C in ErrorCode]: Catalogue[C]["summary"] } = Object.freeze(
  Object.fromEntries(Object.entries(catalogue).map(([code, entry]) => [code, entry.summary])),
) as { readonly [C in ErrorCode]: Catalogue[C]["summary"] };

/** Characters that end a placeholder name: `{0,63}` or `{ token?: string }` in a sentence are text, not names. */
type NotInName = " " | "," | ":" | "?" | "(" | ")" | "'" | '"' | "." | "-" | "/" | "{" | "}";
type Digit = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9";
/** The `{name}` placeholders of a template, as a union of names. */
type Placeholders<T extends string> = T extends `${string}{${infer Name}}${infer Rest}`
  ?
      | (Name extends `${Digit}${string}` | `${string}${NotInName}${string}` | "" ? never : Name)
      | Placeholders<Rest>
  : never;
/** A variable part: numbers are written as they are (`String(n)`). */
type Part = string | number;
/** The arguments after the code for one template: its parts (none to pass when it has none), then options. */
type PartsArgs<T extends string> = [Placeholders<T>] extends [never]
  ? [parts?: Record<string, never>, options?: HangarErrorOptions]
  : [parts: { readonly [K in Placeholders<T>]: Part }, options?: HangarErrorOptions];
/** What follows the code: `(parts, options?)` for a one-sentence code, `(sentence, parts, options?)` otherwise. */
export type ErrorArgs<C extends ErrorCode> = C extends ErrorCode
  ? Catalogue[C] extends { readonly message: infer T extends string }
    ? PartsArgs<T>
    : Catalogue[C] extends { readonly messages: infer M extends Readonly<Record<string, string>> }
      ? { [S in keyof M & string]: [sentence: S, ...PartsArgs<M[S]>] }[keyof M & string]
      : never
  : never;

/** Lifecycle phases a plugin can fail in (SPEC §4). */
export type PluginPhase = "load" | "dependency" | "start" | "resume" | "stop" | "run";

/**
 * The one phase→code table: the code of a failure in each phase when the cause carries no `HANGAR_*` code of
 * its own (`failed`), and of running out of that phase's time limit (`timeout`). The plugin machine, the shell's
 * hook runner, worker isolation and hangar/testing read it here.
 */
export const phaseCodes = {
  load: { failed: "HANGAR_LOAD_FAILED", timeout: "HANGAR_LOAD_TIMEOUT" },
  dependency: { failed: "HANGAR_DEPENDENCY_FAILED", timeout: null },
  start: { failed: "HANGAR_START_FAILED", timeout: "HANGAR_START_TIMEOUT" },
  resume: { failed: "HANGAR_RESUME_FAILED", timeout: "HANGAR_RESUME_TIMEOUT" },
  stop: { failed: "HANGAR_STOP_FAILED", timeout: "HANGAR_STOP_TIMEOUT" },
  run: { failed: "HANGAR_PLUGIN_CRASHED", timeout: "HANGAR_PLUGIN_UNRESPONSIVE" },
} as const satisfies Record<PluginPhase, { failed: ErrorCode; timeout: ErrorCode | null }>;

export interface HangarErrorOptions {
  /** Default: the `pluginId` part of the sentence, when it has one. */
  pluginId?: string;
  phase?: PluginPhase;
  cause?: unknown;
}

/** The brand every HangarError carries on its prototype; Symbol.for, so each copy of hangar sees the same key. */
const HANGAR_ERROR = Symbol.for("hangar.HangarError");

/**
 * An error with a stable code. `message` is a full sentence that says what to do. Raise one with
 * {@link createError}; the constructor is for an error whose sentence was already made (one revived after
 * crossing a worker boundary, or a copy with its message redacted).
 *
 * `error instanceof HangarError` holds across copies of hangar (the `hangar run` CLI is a bundle, so a plugin
 * that imports `hangar` gets a second copy): it checks a `Symbol.for("hangar.HangarError")` brand, not the
 * prototype chain.
 */
export class HangarError extends Error {
  readonly code: ErrorCode;
  readonly pluginId: string | undefined;
  readonly phase: PluginPhase | undefined;

  constructor(code: ErrorCode, message: string, options: HangarErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HangarError";
    this.code = code;
    this.pluginId = options.pluginId;
    this.phase = options.phase;
  }
}
Object.defineProperty(HangarError.prototype, HANGAR_ERROR, { value: true });
Object.defineProperty(HangarError, Symbol.hasInstance, {
  value: function hasInstance(this: unknown, value: unknown): boolean {
    // A subclass keeps the ordinary prototype check.
    if (this !== HangarError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === "object" && value !== null && HANGAR_ERROR in value;
  },
});

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9]*)\}/g;

/** The template for `code` (and `sentence`, for a code with several), and where the parts begin in `args`. */
function templateOf(
  code: ErrorCode,
  args: readonly unknown[],
): { template: string; rest: readonly unknown[] } {
  const entry: CatalogueEntry = catalogue[code];
  if (entry.message !== undefined) return { template: entry.message, rest: args };
  const sentence = args[0] as string;
  const template = entry.messages?.[sentence];
  if (template === undefined) throw new TypeError(`hangar: ${code} has no sentence '${String(sentence)}'`);
  return { template, rest: args.slice(1) };
}

function fill(template: string, parts: Readonly<Record<string, Part>> | undefined): string {
  return template.replace(PLACEHOLDER, (whole, name: string, at: number) => {
    if (parts === undefined || !Object.hasOwn(parts, name)) return whole;
    const value = String(parts[name]);
    // A part that is a sentence of its own ("…restart policy applies.") before the template's period: one period.
    const doubled = template[at + whole.length] === "." && value.endsWith(".") && !value.endsWith("..");
    return doubled ? value.slice(0, -1) : value;
  });
}

/**
 * The sentence for `code` with its variable parts filled in, for places that carry a code and a message
 * without throwing (a plugin's status, a validation report, a log line).
 *
 * @example errorMessage("HANGAR_CONFIG_READ", { pluginId: "fleet-board", file, reason: "EACCES" })
 */
export function errorMessage<C extends ErrorCode>(code: C, ...args: ErrorArgs<C>): string {
  const { template, rest } = templateOf(code, args);
  return fill(template, rest[0] as Record<string, Part> | undefined);
}

/**
 * A HangarError for `code` whose message is the catalogue's sentence with `parts` filled in: call sites pass
 * only the variable parts. `options.pluginId` defaults to the `pluginId` part.
 *
 * @example throw createError("HANGAR_ENTRY_NOT_FOUND", "notFile", { pluginId, folder, entry }, { phase: "load" })
 */
export function createError<C extends ErrorCode>(code: C, ...args: ErrorArgs<C>): HangarError {
  const { template, rest } = templateOf(code, args);
  const parts = rest[0] as Record<string, Part> | undefined;
  const options = (rest[1] as HangarErrorOptions | undefined) ?? {};
  const pluginId = options.pluginId ?? (typeof parts?.pluginId === "string" ? parts.pluginId : undefined);
  const error = new HangarError(code, fill(template, parts), { ...options, pluginId });
  // The stack starts where the error was raised, not in this function.
  Error.captureStackTrace?.(error, createError);
  return error;
}

/** The sentences of `code`, as templates with `{name}` for each variable part (docs/errors.md's test reads them). */
export function errorTemplates(code: ErrorCode): string[] {
  const entry: CatalogueEntry = catalogue[code];
  return entry.message !== undefined ? [entry.message] : Object.values(entry.messages ?? {});
}

/** True when `value` carries one of hangar's codes (a HangarError, or an error that crossed a boundary). */
export function hasHangarCode(value: unknown): value is { code: ErrorCode; message: string } {
  if (typeof value !== "object" || value === null) return false;
  const code = (value as { code?: unknown }).code;
  return typeof code === "string" && Object.hasOwn(ErrorCodes, code);
}

/**
 * The message of anything thrown, without assuming it is an Error, and without ever throwing (a Proxy, a throwing
 * getter or toString: src/thrown.ts); capped at MAX_THROWN_TEXT characters.
 */
export function messageOf(value: unknown): string {
  return describeThrown(value).message;
}
