import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/common/errors.js";
import { childEnvironment } from "../../../src/config/process.js";
import { readRawSendOptions } from "../../../src/config/send.js";

describe("childEnvironment", () => {
  it("keeps this process's variables except its EHW_ settings, and adds the given ones", () => {
    process.env.EHW_PROBE_SETTING = "from-parent";
    try {
      const env = childEnvironment({ EHW_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true" });
      expect(env.PATH).toBe(process.env.PATH);
      expect(env.EHW_PROBE_SETTING).toBeUndefined();
      expect(env.EHW_STORAGE_CONNECTION_STRING).toBe("UseDevelopmentStorage=true");
    } finally {
      delete process.env.EHW_PROBE_SETTING;
    }
  });
});

describe("readRawSendOptions", () => {
  it("takes the flag over the env var and labels values that came from the environment", () => {
    const env = { EHW_EVENTHUB_CONNECTION_STRING: "Endpoint=sb://x/", EHW_EVENTHUB_NAME: "env-hub" };
    const read = readRawSendOptions(["--hub", "flag-hub", "--count", "5", "--json"], env);
    expect(read.raw).toMatchObject({ connectionString: "Endpoint=sb://x/", hub: "flag-hub", count: "5" });
    expect(read.raw.labels).toEqual({ connectionString: "EHW_EVENTHUB_CONNECTION_STRING" });
    expect(read.json).toBe(true);
  });

  it("counts an empty variable as unset", () => {
    expect(readRawSendOptions([], { EHW_EVENTHUB_NAME: "" }).raw.hub).toBeUndefined();
  });

  it("rejects an unknown flag with a ConfigError", () => {
    expect(() => readRawSendOptions(["--cuont", "3"], {})).toThrow(ConfigError);
  });
});
