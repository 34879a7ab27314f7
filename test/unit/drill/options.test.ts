import { describe, expect, it } from "vitest";
import { compileDrillOptions } from "../../../src/drill/options.js";
import { effectiveRate } from "../../../src/drill/run-drill.js";
import { parseBlobListing } from "../../../src/drill/sampler.js";
import { planSchedule } from "../../../src/drill/schedule.js";

describe("compileDrillOptions", () => {
  it("applies the drill defaults and the fast worker timing", () => {
    const options = compileDrillOptions({}, 12345);
    expect(options).toMatchObject({
      seed: 12345,
      workers: 3,
      partitions: 8,
      events: 50_000,
      keys: 64,
      out: "drill-report",
    });
    expect(options.workerFlags).toEqual({
      "--update-interval-ms": "2000",
      "--ownership-expiration-ms": "10000",
      "--strategy": "greedy",
      "--retry-delay-ms": "200",
    });
    // expiry + 2 update intervals + 2 s: a crashed owner's partitions are claimed before the next fault.
    expect(options.faultSpacingMs).toBe(16_000);
    expect(options.verdictSettings).toEqual({
      checkpointEvery: 100,
      concurrency: 16,
      ordering: "partition",
      maxBatchSize: 100,
      batchPipeline: true,
    });
  });

  it("passes worker flags through and judges with them", () => {
    const options = compileDrillOptions({
      workerFlags: { "--ordering": "key", "--checkpoint-every": "50", "--ownership-expiration-ms": "60000" },
      kill: "2",
      restartHub: true,
    });
    expect(options.workerFlags["--ordering"]).toBe("key");
    expect(options.workerFlags["--ownership-expiration-ms"]).toBe("60000");
    expect(options.verdictSettings).toMatchObject({ ordering: "key", checkpointEvery: 50 });
    expect(options.faults).toMatchObject({ kill: 2, "restart-hub": 1, term: 0 });
  });

  it("rejects a bad number, naming the flag", () => {
    expect(() => compileDrillOptions({ workers: "0" })).toThrow(/--workers must be a whole number from 1/);
    expect(() => compileDrillOptions({ kill: "two" })).toThrow(/--kill/);
    expect(() => compileDrillOptions({ workerFlags: { "--ordering": "random" } })).toThrow(
      /--ordering must be one of partition, key, none/,
    );
  });
});

describe("effectiveRate", () => {
  it("spreads the events over the fault schedule unless a rate is given", () => {
    const options = compileDrillOptions(
      { events: "20000", kill: "1", firstFaultMs: "4000", faultSpacingMs: "6000" },
      1,
    );
    const plan = planSchedule({ seed: 1, counts: options.faults, firstAtMs: 4000, spacingMs: 6000 });
    const rate = effectiveRate(options, plan) as number;
    // One fault at 4.0–5.2 s, then one spacing: 10–11.2 s for 20000 events.
    expect(rate).toBeGreaterThanOrEqual(1786);
    expect(rate).toBeLessThanOrEqual(2000);
    expect(effectiveRate({ ...options, ratePerSecond: 300 }, plan)).toBe(300);
    expect(effectiveRate(options, [])).toBeUndefined();
  });
});

describe("parseBlobListing", () => {
  it("reads owners and checkpoints of the hub and consumer group only", () => {
    const blobs: Array<{ name: string; metadata?: Record<string, string> }> = [
      { name: "127.0.0.1:5672/drill/$default/ownership/0", metadata: { ownerid: "w1" } },
      { name: "127.0.0.1:5672/drill/$default/ownership/1", metadata: { ownerid: "" } },
      {
        name: "127.0.0.1:5672/drill/$default/checkpoint/0",
        metadata: { sequencenumber: "41", offset: "4100" },
      },
      { name: "127.0.0.1:5672/other/$default/checkpoint/0", metadata: { sequencenumber: "9" } },
      { name: "127.0.0.1:5672/drill/$default/checkpoint/2", metadata: {} },
    ];
    expect(parseBlobListing(blobs, "drill", "$Default", 7)).toEqual({
      checkpoint: { atMs: 7, sequenceNumbers: { "0": 41 } },
      ownership: { atMs: 7, owners: { "0": "w1", "1": "" } },
    });
  });
});
