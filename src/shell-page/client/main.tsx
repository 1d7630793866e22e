// The shell page at `/` of `hangar run`: every plugin with its live state, and each plugin's UI module mounted
// inside its own HangarProvider over one WebSocket connection. Bundled by scripts/build-ui.mjs; React and
// hangar's browser modules come from the page's import map, the same copies the plugin UIs import.
import { connectHangar, type HangarConnection } from "hangar/client";
import { HangarProvider } from "hangar/react";
import { Component, type ComponentType, type ReactNode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import type { PluginStatus } from "../../status.js";
import type { PluginUiInfo } from "../routes.js";

/** How often the plugin list is read again. */
const POLL_MS = 1_000;
const TOKEN_KEY = "hangar.session-token";

/**
 * The session token (`server.token`), when the shell has one: `hangar run` prints the page's URL as `/#token=…`.
 * A fragment never reaches a server or a Referer; the page moves it to this tab's sessionStorage (a reload
 * keeps working) and out of the address bar.
 */
function sessionToken(): string | null {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, "", location.pathname + location.search);
    return fromHash;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

/**
 * Adds the token to this page's own /api requests, so plugin UIs fetch `pluginUrl(…)` exactly as the reference doc
 * shows (as an Electron shell would add it with session.webRequest). Other origins never see it.
 */
function sendTokenWithApiRequests(token: string): void {
  const original = window.fetch.bind(window);
  window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (
      url.origin !== location.origin ||
      !url.pathname.startsWith("/api/") ||
      request.headers.has("authorization")
    ) {
      return original(request);
    }
    const headers = new Headers(request.headers);
    headers.set("authorization", `Bearer ${token}`);
    return original(new Request(request, { headers }));
  };
}

const token = sessionToken();
if (token) sendTokenWithApiRequests(token);
const bridgeUrl = new URL("/_hangar/ipc", location.href);
bridgeUrl.protocol = location.protocol === "https:" ? "wss:" : "ws:";
if (token) bridgeUrl.searchParams.set("token", token);
const connection: HangarConnection = connectHangar(bridgeUrl.href, { reconnect: true });
// For debugging and the browser tests: the page's one connection (listenerCount() shows who still listens).
(window as unknown as { hangarShell: { connection: HangarConnection } }).hangarShell = { connection };

function usePoll<T>(url: string, initial: T): [T, string | null] {
  const [value, setValue] = useState<T>(initial);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async (): Promise<void> => {
      try {
        const response = await fetch(url, { cache: "no-store" });
        const body = (await response.json()) as T & { error?: string };
        if (stopped) return;
        if (!response.ok) throw new Error(body.error ?? `${url} answered ${response.status}`);
        setValue(body);
        setError(null);
      } catch (caught) {
        if (!stopped) setError(caught instanceof Error ? caught.message : String(caught));
      }
      if (!stopped) timer = setTimeout(read, POLL_MS);
    };
    void read();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [url]);
  return [value, error];
}

/** One plugin UI that throws must not take the page, or the other UIs, down with it. */
class UiBoundary extends Component<{ id: string; children: ReactNode }, { error: Error | null }> {
  override state = { error: null as Error | null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  override render(): ReactNode {
    if (this.state.error) {
      return (
        <p className="ui-error" role="alert">
          The UI of plugin '{this.props.id}' failed: {this.state.error.message}
        </p>
      );
    }
    return this.props.children;
  }
}

function PluginUi({ info }: { info: PluginUiInfo & { url: string } }): ReactNode {
  const [loaded, setLoaded] = useState<{ Ui: ComponentType } | { error: string } | null>(null);
  useEffect(() => {
    let current = true;
    import(/* @vite-ignore */ info.url).then(
      (module: { default?: unknown }) => {
        if (!current) return;
        if (typeof module.default === "function") setLoaded({ Ui: module.default as ComponentType });
        else
          setLoaded({
            error: `${info.entry} has no default export; export the plugin's root component as default.`,
          });
      },
      (error: unknown) =>
        current && setLoaded({ error: `${info.entry} could not be loaded: ${String(error)}` }),
    );
    return () => {
      current = false;
    };
  }, [info.url, info.entry]);
  if (loaded === null) return <p className="muted">Loading {info.entry}…</p>;
  if ("error" in loaded) return <p className="ui-error">{loaded.error}</p>;
  const { Ui } = loaded;
  return (
    <UiBoundary id={info.id}>
      <HangarProvider pluginId={info.id} transport={connection}>
        <Ui />
      </HangarProvider>
    </UiBoundary>
  );
}

function PluginCard({
  status,
  ui,
  stale,
}: {
  status: PluginStatus;
  ui: PluginUiInfo | undefined;
  /** The shell does not answer: the state shown is only the last one known. */
  stale: boolean;
}): ReactNode {
  const [shown, setShown] = useState(true);
  const state = stale ? "unknown" : status.state;
  return (
    <section className="plugin" data-plugin={status.id}>
      <header>
        <h2>{status.name}</h2>
        <span className="id">{status.id}</span>
        <span className="version">v{status.version}</span>
        <span
          className={`state state-${state}`}
          data-state={state}
          title={stale ? `last known: ${status.state}` : undefined}
        >
          {stale ? `unknown (was ${status.state})` : state}
        </span>
        {ui?.url ? (
          <button type="button" onClick={() => setShown((value) => !value)}>
            {shown ? "Hide UI" : "Show UI"}
          </button>
        ) : null}
      </header>
      {status.error ? (
        <p className="error">
          {status.error.code} in phase {status.error.phase}: {status.error.message}
        </p>
      ) : null}
      {ui?.error ? <p className="ui-error">{ui.error}</p> : null}
      {ui?.url && shown ? (
        <div className="plugin-ui">
          {/* Keyed by the URL, which changes when the UI is rebuilt (routes.ts adds the file's version): the old
              UI and its HangarProvider unmount (their listeners go) before the new module mounts. */}
          <PluginUi key={ui.url} info={{ ...ui, url: ui.url }} />
        </div>
      ) : null}
    </section>
  );
}

/** Whether the page's connection has ever been open: a later "connecting" is a lost link, not a first one. */
let everOpen = false;

function App(): ReactNode {
  const [plugins, pluginsError] = usePoll<PluginStatus[]>("/api/_shell/plugins", []);
  const [uis] = usePoll<PluginUiInfo[]>("/_hangar/shell/uis", []);
  // Read at each render (the poll re-renders every second): the page itself holds no listener on the connection,
  // so what listens there is the plugin UIs, and nothing once they are unmounted.
  const link = connection.state;
  if (link === "open") everOpen = true;
  // "connecting" is the first link being made; once the link has been lost, or the shell does not answer the
  // plugin list, the page says "disconnected" (the connection keeps retrying behind it).
  const shown = link === "open" ? "open" : everOpen || pluginsError ? "disconnected" : "connecting";
  return (
    <main>
      <header className="top">
        <h1>hangar</h1>
        <span>
          {plugins.length} plugin{plugins.length === 1 ? "" : "s"}
        </span>
        <span className={`link link-${shown}`} data-link={shown}>
          {shown === "disconnected" ? "disconnected" : `IPC ${shown}`}
        </span>
      </header>
      {pluginsError ? <p className="error">The shell did not answer: {pluginsError}</p> : null}
      {plugins.map((status) => (
        <PluginCard
          key={status.id}
          status={status}
          ui={uis.find((ui) => ui.id === status.id)}
          stale={pluginsError !== null}
        />
      ))}
    </main>
  );
}

const root = document.getElementById("root");
if (root) createRoot(root).render(<App />);
