// The probe loop of test/support/responsiveness.ts must fail a server that freezes, however loaded the machine:
// its excuses (the test's own stalls, the server thread's waits for a CPU) never cover a thread that is busy.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { expect, it } from "vitest";
import { startProbeLoop } from "../support/responsiveness.js";

// A plain HTTP server whose /freeze answers, then blocks its event loop for 600 ms of CPU time (as an in-process
// busy loop would; on a loaded machine that takes several times as long on the clock), then prints "thawed".
const server = `
const http = require("node:http");
const s = http.createServer((req, res) => {
  res.setHeader("content-type", "application/json");
  res.end("{}");
  if (req.url === "/freeze") setTimeout(() => {
    const from = process.cpuUsage();
    while (process.cpuUsage(from).user < 600_000) {}
    console.log("thawed");
  }, 50);
});
s.listen(0, "127.0.0.1", () => console.log(s.address().port));`;

it("blames a 600 ms (CPU time) freeze of the serving thread on it, however loaded the machine", async () => {
  const child = spawn(process.execPath, ["-e", server], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const line = (await lines.next()).value as string;
    const base = `http://127.0.0.1:${line.trim()}`;

    // The first fetch of a process loads its HTTP client: not part of any probe.
    await (await fetch(`${base}/ok`)).json();
    const probe = startProbeLoop(`${base}/ok`, { servedBy: child.pid });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await fetch(`${base}/freeze`);
    expect((await lines.next()).value).toBe("thawed");
    await new Promise((resolve) => setTimeout(resolve, 100));
    const seen = await probe.stop();
    // The frozen thread spent its 600 ms of CPU inside one probe's wait: blamed on it, whatever the load.
    expect(seen.maxShellMs, seen.summary).toBeGreaterThan(500);
  } finally {
    child.kill();
  }
});
