// Where hangar keeps a cache between runs (the build cache of plugin generations, the command's V8 code cache).
import path from "node:path";

/**
 * A cache folder: `configured` (an environment variable's value) when set — `off` or `0` switches the cache off
 * (null), any other value is the folder — else `node_modules/.cache/hangar/<name>` of the project hangar is
 * installed in (the `node_modules` that holds hangar; in a checkout of hangar itself, its own), as other tools
 * keep theirs. `packageRoot` is hangar's package folder.
 */
export function hangarCacheFolder(
  packageRoot: string,
  name: string,
  configured: string | undefined,
): string | null {
  if (configured === "off" || configured === "0") return null;
  if (configured !== undefined && configured !== "") return path.resolve(configured);
  const parent = path.dirname(packageRoot);
  const nodeModules =
    path.basename(parent) === "node_modules" ? parent : path.join(packageRoot, "node_modules");
  return path.join(nodeModules, ".cache", "hangar", name);
}
