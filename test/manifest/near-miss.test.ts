// The did-you-mean behind misspelt manifest keys, entry files and createShell options.
import { expect, it } from "vitest";
import { didYouMean, nearMiss } from "../../src/manifest/near-miss.js";
import { parseShellOptions } from "../../src/shell-options.js";

it("finds one edit, a case slip or a swap of neighbouring letters; not a tie or a far name", () => {
  const timeouts = ["load", "start", "stop", "resume", "auth", "shutdown", "unresponsive"];
  expect(nearMiss("strat", timeouts)).toBe("start");
  expect(nearMiss("stopp", timeouts)).toBe("stop");
  expect(nearMiss("Resume", timeouts)).toBe("resume");
  expect(nearMiss("start", timeouts)).toBeUndefined();
  expect(nearMiss("sotp", ["stop", "step"])).toBe("stop");
  expect(nearMiss("stap", ["stop", "step"])).toBeUndefined(); // one edit from both: no guess
  expect(nearMiss("xyz", timeouts)).toBeUndefined();
  expect(didYouMean("dependOn", ["dependsOn"])).toBe(' Did you mean "dependsOn"?');
});

it("createShell names a swapped-letter option, nested ones included", () => {
  expect(() => parseShellOptions({ timeouts: { strat: 5 } } as never)).toThrow(
    "createShell was given an unknown option 'timeouts.strat'. Did you mean 'timeouts.start'?",
  );
  expect(() => parseShellOptions({ server: { prot: 1 } } as never)).toThrow("Did you mean 'server.port'?");
});
