// hangar/testing: the lifecycle harness for plugin authors. It works from vitest, node:test or any runner.
export { type LifecycleTestOptions, testPluginLifecycle } from "./lifecycle.js";
export {
  LIFECYCLE_PATHS,
  type LifecyclePath,
  type LifecyclePathResult,
  type LifecycleProblem,
  type LifecycleReport,
  type LifecycleTestCode,
} from "./report.js";
