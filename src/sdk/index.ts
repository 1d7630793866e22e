// hangar/sdk: everything a plugin author imports. Depends on nothing else in hangar and on no package.
export { createPlugin } from "./create-plugin.js";
export type * from "./types.js";
