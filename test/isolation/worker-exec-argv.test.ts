// A plugin's worker gets the process's Node options without its preloads: a shell started under `node --import tsx`
// (or `tsx app.ts`) must not boot tsx again in every worker (docs/isolation.md, "What it costs").
import { describe, expect, it } from "vitest";
import { workerExecArgv } from "../../src/isolation/isolate.js";

describe("workerExecArgv", () => {
  it("drops --import, --require, -r and --loader in both spellings, with their values", () => {
    expect(
      workerExecArgv([
        "--import",
        "tsx",
        "--require=./otel.cjs",
        "-r",
        "dotenv/config",
        "--experimental-loader",
        "./hooks.mjs",
        "--loader=./other.mjs",
        "--import=data:text/javascript,",
      ]),
    ).toEqual([]);
  });

  it("keeps every other option in order, including a value that looks like a preload's", () => {
    expect(
      workerExecArgv([
        "--conditions",
        "development",
        "--import",
        "tsx",
        "--enable-source-maps",
        "--conditions=--import",
        "--no-warnings",
      ]),
    ).toEqual([
      "--conditions",
      "development",
      "--enable-source-maps",
      "--conditions=--import",
      "--no-warnings",
    ]);
  });

  it("reads process.execArgv by default", () => {
    expect(workerExecArgv()).toEqual(workerExecArgv(process.execArgv));
    expect(workerExecArgv()).not.toContain("--import");
  });
});
