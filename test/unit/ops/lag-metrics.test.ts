import { describe, expect, it } from "vitest";
import { WorkerMetrics } from "../../../src/ops/metrics.js";
import { ownedPartitionLag } from "../../../src/ops/partition-lag.js";
import type { PartitionStatus } from "../../../src/worker/partition/processor.js";
import { sampleValue } from "./exposition.js";

const NOW = 1_700_000_100_000;
const props = (last: number, lastTimeMs: number, begin = 0) => ({
  lastEnqueuedSequenceNumber: last,
  lastEnqueuedTimeMs: lastTimeMs,
  beginningSequenceNumber: begin,
});
const base = {
  claimCheckpointSequenceNumber: undefined,
  lastReceivedSequenceNumber: undefined,
  status: undefined,
  nowMs: NOW,
  retentionMs: undefined,
};

describe("ownedPartitionLag", () => {
  it("counts from the last checkpoint written, else the one the ownership started from", () => {
    const claimOnly = { ...base, properties: props(99, NOW), claimCheckpointSequenceNumber: 40 };
    expect(ownedPartitionLag(claimOnly).checkpointLagEvents).toBe(59);
    const written = { ...claimOnly, status: { lastCheckpoint: { sequenceNumber: 90, offset: "9" } } };
    expect(ownedPartitionLag(written).checkpointLagEvents).toBe(9);
    expect(ownedPartitionLag({ ...base, properties: props(99, NOW, 10) }).checkpointLagEvents).toBe(90);
    expect(ownedPartitionLag({ ...base, properties: undefined }).checkpointLagEvents).toBeUndefined();
  });

  it("ages from the oldest event held unfinished, with the retention left", () => {
    const lag = ownedPartitionLag({
      ...base,
      properties: props(99, NOW),
      status: { lastCheckpoint: undefined, oldestIncompleteEnqueuedTimeMs: NOW - 30_000 },
      retentionMs: 60_000,
    });
    expect(lag.oldestUnprocessedAgeSeconds).toBe(30);
    expect(lag.retentionLeftSeconds).toBe(30);
  });

  it("is 0 old when every received event is done and nothing newer is enqueued", () => {
    const lag = ownedPartitionLag({
      ...base,
      properties: props(50, NOW - 5_000),
      lastReceivedSequenceNumber: 50,
      status: { lastCheckpoint: undefined, oldestIncompleteEnqueuedTimeMs: null },
      retentionMs: 60_000,
    });
    expect(lag.oldestUnprocessedAgeSeconds).toBe(0);
    expect(lag.retentionLeftSeconds).toBeUndefined();
  });

  it("takes the newest event's age as a lower bound when newer events are not received yet", () => {
    const lag = ownedPartitionLag({
      ...base,
      properties: props(60, NOW - 5_000),
      lastReceivedSequenceNumber: 50,
      status: { lastCheckpoint: undefined, oldestIncompleteEnqueuedTimeMs: null },
    });
    expect(lag.oldestUnprocessedAgeSeconds).toBe(5);
  });

  it("has no age while the processor reports none", () => {
    expect(
      ownedPartitionLag({ ...base, properties: props(60, NOW) }).oldestUnprocessedAgeSeconds,
    ).toBeUndefined();
  });
});

function status(partitionId: string, fields: Partial<PartitionStatus>): PartitionStatus {
  return {
    partitionId,
    state: "running",
    inFlight: 0,
    queued: 0,
    processed: 0,
    failed: 0,
    lastCheckpoint: undefined,
    ...fields,
  };
}

describe("WorkerMetrics lag gauges", () => {
  it("export checkpoint lag, oldest unprocessed age and retention left per owned partition", async () => {
    const m = new WorkerMetrics({ defaultMetrics: false, retentionMs: 3_600_000, clock: () => NOW });
    const partitions = [
      status("0", {
        lastCheckpoint: { sequenceNumber: 70, offset: "70" },
        oldestIncompleteEnqueuedTimeMs: NOW - 12_000,
      }),
    ];
    m.watch({ status: () => ({ partitions }) });
    m.partitionClaimed("0", 10).partitionProperties?.(props(99, NOW - 1_000));
    m.partitionClaimed("1");
    const text = await m.text();
    expect(sampleValue(text, "ehw_partition_checkpoint_lag_events", { partition: "0" })).toBe(29);
    expect(sampleValue(text, "ehw_partition_oldest_unprocessed_age_seconds", { partition: "0" })).toBe(12);
    expect(sampleValue(text, "ehw_partition_retention_left_seconds", { partition: "0" })).toBe(3_588);
    // Partition 1 has neither properties nor a status yet: no sample rather than a made-up 0.
    expect(sampleValue(text, "ehw_partition_checkpoint_lag_events", { partition: "1" })).toBeUndefined();
    expect(
      sampleValue(text, "ehw_partition_oldest_unprocessed_age_seconds", { partition: "1" }),
    ).toBeUndefined();
  });

  it("export no retention gauge when the retention is not known", async () => {
    const m = new WorkerMetrics({ defaultMetrics: false });
    expect(await m.text()).not.toContain("retention_left");
  });

  it("forget the last owner's properties when the partition is claimed again", async () => {
    const m = new WorkerMetrics({ defaultMetrics: false, clock: () => NOW });
    m.partitionClaimed("0").partitionProperties?.(props(99, NOW));
    m.partitionClosed("0", "OwnershipLost");
    m.partitionClaimed("0", 99);
    expect(
      sampleValue(await m.text(), "ehw_partition_checkpoint_lag_events", { partition: "0" }),
    ).toBeUndefined();
  });
});
