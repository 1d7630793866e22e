// fleet-board's UI module, in the reference doc's style: TanStack Query on the plugin's route, usePluginIPC for
// the background's live pushes, and a setting read synchronously with usePluginContext().config.get.
// Built to ui/dist/index.js (plugin.json's ui.entry) by `npm run build`; the shell page supplies React and hangar/react.
import { QueryClient, QueryClientProvider, useQuery, useQueryClient } from "@tanstack/react-query";
import { usePluginContext, usePluginIPC } from "hangar/react";
import { useState } from "react";

interface Aircraft {
  tail: string;
  type: string;
  name: string;
  base: string;
  status: "available" | "in-flight" | "maintenance";
  hours: number;
}

interface StatusUpdate {
  tail: string;
  status: Aircraft["status"];
  inFlight: number;
  at: string;
}

function FleetList() {
  const { pluginUrl, config } = usePluginContext();
  // Synchronous: the shell keeps this snapshot in sync, so a change made by the background shows at once.
  const highlightBase = config.get<string | null>("highlightBase", null);
  const { data, isLoading } = useQuery({
    queryKey: ["fleet"],
    queryFn: () => fetch(pluginUrl("/fleet")).then((r) => r.json()),
  });

  if (isLoading) return <p>Loading...</p>;
  return (
    <ul className="fleet">
      {data?.data?.map((a: Aircraft) => (
        <li
          key={a.tail}
          data-tail={a.tail}
          data-highlight={a.base === highlightBase ? "yes" : "no"}
          style={a.base === highlightBase ? { background: "#f5d76e55" } : undefined}
        >
          <strong>{a.tail}</strong> {a.name} ({a.type}, {a.base}) — <span className="status">{a.status}</span>
        </li>
      ))}
    </ul>
  );
}

function StatusBanner() {
  const [status, setStatus] = useState<StatusUpdate | null>(null);
  const queryClient = useQueryClient();

  usePluginIPC<StatusUpdate>("status-update", (payload) => {
    setStatus(payload);
    // The list comes from the route: ask it again rather than patching it by hand.
    void queryClient.invalidateQueries({ queryKey: ["fleet"] });
  });

  return status ? (
    <p className="banner">
      {status.tail} is now {status.status}; {status.inFlight} in flight
    </p>
  ) : null;
}

function BaseSetting() {
  const { config } = usePluginContext();
  const highlightBase = config.get<string | null>("highlightBase", null);
  const [error, setError] = useState<string | null>(null);
  const choose = (base: string) => {
    setError(null);
    // Through the shell's store, as ctx.config.set: validated, on disk when it resolves, seen by the background.
    config.set("highlightBase", base === "" ? null : base).catch((e: Error) => setError(e.message));
  };
  return (
    <p>
      <label>
        Highlight base{" "}
        <select value={highlightBase ?? ""} onChange={(event) => choose(event.target.value)}>
          <option value="">none</option>
          {["EGLL", "EGGD", "EGPH", "EGCC"].map((base) => (
            <option key={base} value={base}>
              {base}
            </option>
          ))}
        </select>
      </label>{" "}
      <span className="highlight-base">Highlighting: {highlightBase ?? "none"}</span>
      {error ? <span className="error"> {error}</span> : null}
    </p>
  );
}

const queryClient = new QueryClient();

/** The shell page mounts the default export inside <HangarProvider pluginId="fleet-board">. */
export default function FleetBoard() {
  return (
    <QueryClientProvider client={queryClient}>
      <StatusBanner />
      <BaseSetting />
      <FleetList />
    </QueryClientProvider>
  );
}
