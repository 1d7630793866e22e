// The crash test's child: sets config values until it is killed, printing each one once its set has resolved.
// Usage: node --import tsx config-crash-child.ts <dataDir> <round>
import { createFileConfigBackend } from "../../src/context/config-file.js";

const [dataDir, round] = process.argv.slice(2);
if (!dataDir || !round) throw new Error("usage: config-crash-child.ts <dataDir> <round>");

const store = createFileConfigBackend({
  dataDir,
  onWarning: (_pluginId, message) => process.stdout.write(`warning ${JSON.stringify(message)}\n`),
}).store("crashy");
await store.getAll();
process.stdout.write("ready\n");

// Eight loops, so writes are batched (group commit) and a kill can land between any two steps of a write.
// Each loop adds new keys and overwrites its own `latest`, which must never go back after a restart.
await Promise.all(
  Array.from({ length: 8 }, async (_, worker) => {
    for (let n = 0; ; n++) {
      const key = `r${round}-w${worker}-${n}`;
      await store.set(key, { round: Number(round), worker, n, pad: n % 8 === 0 ? "x".repeat(8192) : "" });
      process.stdout.write(`ack ${key}\n`);
      await store.set(`r${round}-w${worker}-latest`, n);
      process.stdout.write(`latest r${round}-w${worker}-latest ${n}\n`);
    }
  }),
);
