// Runs the ConfigBackend contract against the file backend and the conf backend, and moves data between them.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import Conf from "conf";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConfigBackend } from "../../src/context/config-backend.js";
import { type ConfStoreOptions, createConfStoreBackend } from "../../src/context/config-conf.js";
import { createFileConfigBackend } from "../../src/context/config-file.js";
import {
  type ConfigBackendSubject,
  describeConfigBackendContract,
  roundTripValues,
  setAll,
} from "./config-contract.js";

/**
 * electron-store's constructor, which cannot run without Electron, copied from its source: it renames
 * `name` (default "config") to conf's `configName` and hands the rest to conf.
 */
class ElectronStoreLike extends Conf {
  constructor(options: Partial<ConfStoreOptions> = {}) {
    const withName: Partial<ConfStoreOptions> = { name: "config", ...options };
    withName.configName = withName.name;
    delete withName.name;
    super(withName);
  }
}

const subjects: ConfigBackendSubject[] = [
  {
    name: "file backend",
    create: (configDir, onWarning) =>
      createFileConfigBackend({ dataDir: path.dirname(configDir), onWarning }),
  },
  {
    name: "conf backend (conf)",
    create: (configDir, onWarning) => createConfStoreBackend({ Store: Conf, cwd: configDir, onWarning }),
  },
  {
    name: "conf backend (electron-store's constructor)",
    create: (configDir, onWarning) =>
      createConfStoreBackend({ Store: ElectronStoreLike, cwd: configDir, onWarning }),
  },
];

for (const subject of subjects) describeConfigBackendContract(subject);

describe("one format: values move between headless and Electron mode (after a clean stop)", () => {
  let configDir: string;
  beforeEach(async () => {
    configDir = path.join(await mkdtemp(path.join(tmpdir(), "hangar-config-cross-")), "config");
  });
  afterEach(async () => {
    await rm(path.dirname(configDir), { recursive: true, force: true });
  });

  for (const writer of subjects) {
    for (const reader of subjects) {
      if (writer === reader) continue;
      it(`values written by the ${writer.name} are read by the ${reader.name}, and back`, async () => {
        const warnings: string[] = [];
        const first: ConfigBackend = writer.create(configDir, (_id, message) => warnings.push(message));
        await setAll(first, "pilot-notes", roundTripValues);
        await first.store("pilot-notes").delete("nothing");
        // The handover happens after a clean stop, as when a user copies the folder between modes.
        await first.flush();
        const expected = { ...roundTripValues };
        delete expected.nothing;

        const second = reader.create(configDir, (_id, message) => warnings.push(message));
        expect(await second.store("pilot-notes").getAll()).toEqual(expected);
        await second.store("pilot-notes").set("written_by", reader.name);
        await second.store("pilot-notes").delete("ratio");
        delete expected.ratio;
        await second.flush();

        const third = writer.create(configDir, (_id, message) => warnings.push(message));
        expect(await third.store("pilot-notes").getAll()).toEqual({ ...expected, written_by: reader.name });
        expect(warnings).toEqual([]);
      });
    }
  }
});
