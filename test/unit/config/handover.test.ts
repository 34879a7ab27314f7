import { describe, expect, it } from "vitest";
import { baseEnv, compile, messageOf } from "./helpers.js";

describe("hand-over settings", () => {
  it("default to on, a 10 s drain and a bound of two loops plus the drain", () => {
    const config = compile([], {
      ...baseEnv(),
      EHW_UPDATE_INTERVAL_MS: "2000",
      EHW_OWNERSHIP_EXPIRATION_MS: "6000",
    });
    expect(config.handover).toEqual({ enabled: true, drainTimeoutMs: 10_000, timeoutMs: 14_000 });
  });

  it("take flags, and derive the bound from a drain that was set", () => {
    const config = compile(["--handover", "false", "--handover-drain-timeout-ms", "500"], {
      ...baseEnv(),
      EHW_UPDATE_INTERVAL_MS: "1000",
      EHW_OWNERSHIP_EXPIRATION_MS: "3000",
    });
    expect(config.handover).toEqual({ enabled: false, drainTimeoutMs: 500, timeoutMs: 2500 });
  });

  it("refuse a bound shorter than one loop plus the drain, naming both and the default", () => {
    const message = messageOf(() =>
      compile(["--handover-timeout-ms", "5000"], {
        ...baseEnv(),
        EHW_UPDATE_INTERVAL_MS: "1000",
        EHW_OWNERSHIP_EXPIRATION_MS: "3000",
        EHW_HANDOVER_DRAIN_TIMEOUT_MS: "4500",
      }),
    );
    expect(message).toContain('--handover-timeout-ms="5000"');
    expect(message).toContain("updateIntervalMs + handoverDrainTimeoutMs = 5500 (default 6500)");
  });

  it("refuse a value that is not true or false", () => {
    expect(messageOf(() => compile([], { ...baseEnv(), EHW_HANDOVER: "yes" }))).toContain(
      'EHW_HANDOVER="yes" is not true or false',
    );
  });
});
