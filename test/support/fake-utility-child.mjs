// The child side of the fake Electron's utilityProcess (test/support/fake-electron.ts): a real Node process
// started by child_process.fork, given what Electron gives a utility process, `process.parentPort`, then the
// module it was forked with. As in Electron (lib/utility/parent-port.ts), parentPort is an EventEmitter whose
// 'message' events carry `{ data, ports }`, messages wait until the first 'message' listener (the port starts
// then), and `postMessage(message)` reaches the parent's 'message' event.
// Usage (by the fake only): fork(this file, [modulePath, ...args])
import { EventEmitter } from "node:events";
import { pathToFileURL } from "node:url";

const [modulePath, ...args] = process.argv.slice(2);
process.argv = [process.argv[0], modulePath, ...args];

const parentPort = new EventEmitter();
const queued = [];
let started = false;
parentPort.postMessage = (message) => {
  if (process.connected) process.send(message);
};
parentPort.on("newListener", (event) => {
  if (event !== "message" || started) return;
  started = true;
  setImmediate(() => {
    for (const message of queued.splice(0)) parentPort.emit("message", message);
  });
});
process.on("message", (data) => {
  const event = { data, ports: [] };
  if (started) parentPort.emit("message", event);
  else queued.push(event);
});
process.parentPort = parentPort;

await import(pathToFileURL(modulePath).href);
