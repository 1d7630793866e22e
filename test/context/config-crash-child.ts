// The crash test's child: sets config values until it is killed, printing each one once its set has resolved.
// Usage: node --import tsx config-crash-child.ts <dataDir> <round> <journalLimitBytes> <journalIdleMs>
import { createFileConfigBackend } from "../../src/context/config-file.js";

const [dataDir, round, journalLimitBytes, journalIdleMs] = process.argv.slice(2);
if (!dataDir || !round || !journalLimitBytes || !journalIdleMs)
  throw new Error("usage: config-crash-child.ts <dataDir> <round> <journalLimitBytes> <journalIdleMs>");

// Small limits make the journal fold into the JSON file often, so kills land inside folds too.
const store = createFileConfigBackend({
  dataDir,
  journalLimitBytes: Number(journalLimitBytes),
  journalIdleMs: Number(journalIdleMs),
  onWarning: (_pluginId, message) => process.stdout.write(`warning ${JSON.stringify(message)}\n`),
}).store("crashy");
process.stdout.write("loading\n");
await store.getAll(); // reads the JSON file and replays the journal a killed round left
process.stdout.write("ready\n");

// Eight loops, so writes are batched (group commit) and a kill can land between any two steps of a write.
// Each loop adds new keys and overwrites its own `latest`, which must never go back after a restart; now and
// then every loop pauses at once, so the store goes idle and its journal is folded into the JSON file.
const idle = Number(journalIdleMs);
let sets = 0;
let pause: Promise<unknown> = Promise.resolve();
await Promise.all(
  Array.from({ length: 8 }, async (_, worker) => {
    for (let n = 0; ; n++) {
      await pause;
      if (++sets % 96 === 0) pause = new Promise((resolve) => setTimeout(resolve, idle + 5));
      const key = `r${round}-w${worker}-${n}`;
      await store.set(key, { round: Number(round), worker, n, pad: n % 8 === 0 ? "x".repeat(8192) : "" });
      process.stdout.write(`ack ${key}\n`);
      await store.set(`r${round}-w${worker}-latest`, n);
      process.stdout.write(`latest r${round}-w${worker}-latest ${n}\n`);
    }
  }),
);
