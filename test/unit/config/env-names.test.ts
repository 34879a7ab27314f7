import { describe, expect, it } from "vitest";
import { KNOWN_ENV_NAMES, unknownEnvVariables } from "../../../src/config/env-names.js";
import { readRawWorkerOptions } from "../../../src/config/source.js";

describe("unknown EHW_ variables", () => {
  it("names a misspelled variable with the closest known one", () => {
    const unknown = unknownEnvVariables({
      EHW_CHECKPOINT_EVRY: "5",
      EHW_CHECKPOINT_EVERY: "7",
      PATH: "/bin",
    });
    expect(unknown).toEqual([
      {
        name: "EHW_CHECKPOINT_EVRY",
        suggestion: "EHW_CHECKPOINT_EVERY",
        message: "unknown variable EHW_CHECKPOINT_EVRY is ignored (did you mean EHW_CHECKPOINT_EVERY?)",
      },
    ]);
  });

  it("gives no suggestion when nothing is close, and leaves every known variable alone", () => {
    const known = Object.fromEntries([...KNOWN_ENV_NAMES].map((name) => [name, "x"]));
    expect(unknownEnvVariables(known)).toEqual([]);
    expect(unknownEnvVariables({ EHW_SOMETHING_ELSE_ENTIRELY: "1" })[0]?.suggestion).toBeUndefined();
  });

  it("is reported by the worker's config reader, which still ignores the variable", () => {
    const read = readRawWorkerOptions([], { EHW_CHECKPOINT_EVRY: "5" }, "/tmp");
    expect(read.unknownVariables.map((u) => u.name)).toEqual(["EHW_CHECKPOINT_EVRY"]);
    expect(read.raw.checkpointEvery).toBeUndefined();
  });
});
