// Races on the shell over two plugins, one depending on the other: start-up and shutdown in dependency
// order, updates of every subset while anything else is in flight, auth changes, hook outcomes, timeouts.
import { describeRaces } from "./describe-races.js";

/** The transitions where the races are: each must come up in any batch of runs this size. */
const MUST_REACH = [
  "plugin: loaded -> errored", // the dependency failed: the dependent never starts
  "plugin: loaded -> stopped", // shutdown before the dependent's turn
  "plugin: starting -> stopping",
  "plugin: resuming -> stopping",
  "plugin: stopping -> starting",
  "plugin: stopping -> loading",
  "plugin: errored -> loaded",
  "shell: starting -> shuttingDown",
  "shell: starting -> updating",
  "shell: updating -> shuttingDown",
  "shell: updating -> updating", // an update queued behind another
];

describeRaces("shell", "shell machine races (fast-check scheduler, real shell)", MUST_REACH);
