// Plugin folders written file by file into one temp folder, for tests of loading a single plugin.
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";

export interface PluginFolders {
  /** The temp folder, symlinks resolved (module paths in errors and stacks are real paths). */
  readonly root: string;
  /** Writes `files` (path relative to the plugin folder → content) into `<root>/<name>`; returns that folder. */
  plugin(name: string, files: Record<string, string>): Promise<string>;
  cleanup(): Promise<void>;
}

export async function createPluginFolders(prefix: string): Promise<PluginFolders> {
  const root = await realpath(await mkdtemp(path.join(os.tmpdir(), prefix)));
  return {
    root,
    async plugin(name, files) {
      const folder = path.join(root, name);
      for (const [file, content] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(folder, file)), { recursive: true });
        await writeFile(path.join(folder, file), content);
      }
      return folder;
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/**
 * The plugin-folder writer of the current suite: its temp folder is made before the suite's tests and removed
 * after them. Call at the top of a file or a describe block.
 */
export function pluginFoldersOfSuite(
  prefix: string,
): (name: string, files: Record<string, string>) => Promise<string> {
  let folders: PluginFolders | undefined;
  beforeAll(async () => {
    folders = await createPluginFolders(prefix);
  });
  afterAll(async () => {
    await folders?.cleanup();
  });
  return (name, files) => folders!.plugin(name, files);
}

/** A minimal plugin.json with a background module. */
export const backgroundManifest = (id: string, entryModule: string): string =>
  JSON.stringify({ id, version: "1.0.0", background: { entryModule } });
