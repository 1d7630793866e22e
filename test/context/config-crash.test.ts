// Crash test: a child process sets config values and is killed with SIGKILL at random moments, many times:
// while it replays the journal on open, mid-append, mid-fold. Between rounds the journal's tail is sometimes
// torn as power loss would leave it. After each kill every set the child saw resolve must be there, and the
// JSON file must be whole. HANGAR_CRASH_ROUNDS (default 30) and HANGAR_CRASH_SEED (default: random, printed)
// control the run.
import { spawn } from "node:child_process";
import { appendFile, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import Conf from "conf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFileConfigBackend } from "../../src/context/config-file.js";
import { readConfigJournal } from "../../src/context/config-journal.js";
import type { JsonValue } from "../../src/sdk/types.js";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const childScript = fileURLToPath(new URL("./config-crash-child.ts", import.meta.url));
const rounds = Number(process.env.HANGAR_CRASH_ROUNDS ?? 30);
const seed = Number(process.env.HANGAR_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: a small seeded generator, so a failing run can be replayed with HANGAR_CRASH_SEED. */
function random(state: number): () => number {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface RoundResult {
  acked: Map<string, JsonValue>;
  latest: Map<string, number>;
  warnings: string[];
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** When to kill: once the child starts loading (replaying the journal), once it is ready, or after N acks. */
type KillAt = "loading" | "ready" | number;

/** Runs the child until `killAt` (then a random short moment), and kills it with SIGKILL. */
function crashRound(
  dataDir: string,
  round: number,
  journal: { limitBytes: number; idleMs: number },
  killAt: KillAt,
  delay: () => Promise<void>,
) {
  return new Promise<RoundResult>((resolve, reject) => {
    const args = [childScript, dataDir, String(round), String(journal.limitBytes), String(journal.idleMs)];
    const child = spawn(process.execPath, ["--import", "tsx", ...args], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const result: RoundResult = {
      acked: new Map(),
      latest: new Map(),
      warnings: [],
      signal: null,
      stderr: "",
    };
    let acks = 0;
    let killing = false;
    const kill = () => {
      if (killing) return;
      killing = true;
      void delay().then(() => child.kill("SIGKILL"));
    };
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      result.stderr += chunk;
    });
    createInterface({ input: child.stdout }).on("line", (line) => {
      const [kind, key, value] = line.split(" ");
      if (kind === "warning") result.warnings.push(line);
      if (kind === "ack" && key) {
        const [, r, w, n] = /^r(\d+)-w(\d+)-(\d+)$/.exec(key) ?? [];
        result.acked.set(key, { round: Number(r), worker: Number(w), n: Number(n) });
        acks++;
      }
      if (kind === "latest" && key) {
        result.latest.set(key, Number(value));
        acks++;
      }
      if (kind === killAt || (typeof killAt === "number" && acks >= killAt)) kill();
    });
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      result.signal = signal;
      resolve(result);
    });
  });
}

describe("config survives SIGKILL", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "hangar-config-crash-"));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it(
    `keeps every acknowledged set across ${rounds} kills at random moments (seed ${seed})`,
    async () => {
      const next = random(seed);
      const acked = new Map<string, JsonValue>();
      const latest = new Map<string, number>();
      let killedMidWrite = 0;
      let killedLoading = 0;
      let tornTails = 0;
      const journalFile = path.join(dataDir, "config", "crashy.json.journal");
      const jsonFile = path.join(dataDir, "config", "crashy.json");
      for (let round = 1; round <= rounds; round++) {
        const where = `round ${round} (HANGAR_CRASH_SEED=${seed})`;
        const pickKill = next();
        const killAt: KillAt =
          pickKill < 0.15 ? "loading" : pickKill < 0.25 ? "ready" : 1 + Math.floor(next() * 240);
        if (killAt === "loading") killedLoading++;
        // Fold often (a small journal, a short idle time) or rarely, so kills land in every step of a fold.
        const journal = {
          limitBytes: [2048, 16_384, 1024 * 1024][Math.floor(next() * 3)]!,
          idleMs: [5, 20, 1000][Math.floor(next() * 3)]!,
        };
        // Kill right away, after the pending callbacks, or after up to 3 ms: different points inside a write.
        const pick = next();
        const wait = next() * 3;
        const delay = () =>
          new Promise<void>((resolve) => {
            if (pick < 0.3) resolve();
            else if (pick < 0.6) setImmediate(resolve);
            else setTimeout(resolve, wait);
          });
        const result = await crashRound(dataDir, round, journal, killAt, delay);
        expect(result.signal, `${where}: the child ended by itself: ${result.stderr}`).toBe("SIGKILL");
        expect(result.warnings, where).toEqual([]);
        for (const [key, value] of result.acked) acked.set(key, value);
        for (const [key, n] of result.latest) latest.set(key, n);

        const names = await readdir(path.join(dataDir, "config")).catch(() => [] as string[]);
        if (names.some((name) => name.endsWith(".tmp"))) killedMidWrite++;
        // Power loss can leave the last, unacknowledged record half written, or as zeros: tear it so.
        if (names.includes("crashy.json.journal") && next() < 0.25) {
          const torn = [
            Buffer.from('73 0badc0de\n[["torn",{"this record":"was never acknowledged"'),
            Buffer.alloc(1 + Math.floor(next() * 600)),
            Buffer.from(`${Math.floor(next() * 1e6)}`),
          ][Math.floor(next() * 3)]!;
          await appendFile(journalFile, torn);
        }
        const onDisk = await readConfigJournal(journalFile);
        if (onDisk.tornBytes > 0) tornTails++;
        // The JSON file is never torn: it is whole, or absent before the first write.
        const text = await readFile(jsonFile, "utf8").catch(() => null);
        if (text !== null) expect(() => JSON.parse(text), `${where}: the JSON file is damaged`).not.toThrow();

        const warnings: string[] = [];
        const store = createFileConfigBackend({ dataDir, onWarning: (_id, m) => warnings.push(m) }).store(
          "crashy",
        );
        const all = await store.getAll();
        expect(warnings, `${where}: the file was damaged`).toEqual([]);
        expect(all.torn, `${where}: a torn record was replayed`).toBeUndefined();
        const missing = [...acked.keys()].filter((key) => all[key] === undefined);
        expect(missing, `${where}: acknowledged sets lost`).toEqual([]);
        for (const [key, value] of acked) expect(all[key], `${where}: ${key}`).toMatchObject(value as object);
        for (const [key, n] of latest) {
          expect(all[key], `${where}: ${key} went back`).toBeGreaterThanOrEqual(n);
        }
        // The loaded store cleaned up after the dead child (no folder yet: killed before its first write).
        const left = await readdir(path.join(dataDir, "config")).catch(() => [] as string[]);
        expect(left.filter((name) => name.endsWith(".tmp"))).toEqual([]);
      }
      // A clean stop folds the journal in: electron-store's reader (conf) then sees exactly the same values.
      const backend = createFileConfigBackend({ dataDir });
      const expected = await backend.store("crashy").getAll();
      await backend.flush();
      expect(await readdir(path.join(dataDir, "config"))).toEqual(["crashy.json"]);
      const conf = new Conf({ cwd: path.join(dataDir, "config"), configName: "crashy" });
      expect(conf.store).toEqual(expected);
      console.info(
        `config crash test: ${rounds} rounds, ${acked.size + latest.size} keys acknowledged, ` +
          `${killedMidWrite} kills left a temp file (mid-write or mid-fold), ${killedLoading} during ` +
          `the journal's replay, ${tornTails} restarts over a torn journal tail, seed ${seed}`,
      );
    },
    rounds * 15_000,
  );
});
