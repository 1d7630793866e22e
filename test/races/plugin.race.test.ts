// Races on one plugin's lifecycle through the real shell: start, stop, updates (with and without a code
// change, with and without onResume), auth changes, every hook resolved or rejected in any order, timeouts.
import { describeRaces } from "./describe-races.js";

/** The transitions where the races are: each must come up in any batch of runs this size. */
const MUST_REACH = [
  "plugin: starting -> stopping", // a STOP while onStart runs
  "plugin: resuming -> stopping", // a STOP while onResume runs
  "plugin: starting -> errored", // onStart rejects or times out
  "plugin: resuming -> errored",
  "plugin: stopping -> errored",
  "plugin: stopping -> starting", // update without onResume
  "plugin: stopping -> loading", // update with a code change
  "plugin: errored -> loaded", // retried on update
  "plugin: stopping -> backoff", // a crash while running, onStop done, the restart policy waits
  // Not "backoff -> starting": it needs a tick to land while the plugin waits out its backoff, which about one
  // batch in three of 1,000 runs misses. The model replay takes it deterministically (test/model), and
  // test/e2e/supervision.test.ts and test/e2e/containment.test.ts take it on the real clock.
  "shell: starting -> shuttingDown",
  "shell: updating -> shuttingDown",
  "shell: starting -> updating", // an update queued during start-up
];

describeRaces("plugin", "plugin machine races (fast-check scheduler, real shell)", MUST_REACH);
