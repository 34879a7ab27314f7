import { describe, expect, it } from "vitest";
import {
  type PartitionEnds,
  partitionLag,
  retentionLeftSeconds,
  unprocessedAgeSeconds,
} from "../../../src/observability/lag.js";

const INT64_MAX = 2n ** 63n - 1n;
/** KEDA's default stalePartitionInfoThreshold. */
const STALE_THRESHOLD = 10_000n;

/**
 * KEDA's azure-eventhub scaler with checkpointStrategy blobMetadata, per partition, modelled on
 * its GetUnprocessedEventCountInPartition / calculateUnprocessedEvents /
 * GetUnprocessedEventCountWithoutCheckpoint (int64 arithmetic, hence bigint).
 */
function kedaUnprocessedEvents(partition: PartitionEnds, checkpoint: number | undefined): number {
  const last = BigInt(partition.lastEnqueuedSequenceNumber);
  const begin = BigInt(partition.beginningSequenceNumber);
  if (last === -1n) return 0;
  if (checkpoint === undefined) {
    if ((begin === 0n && last === 0n) || begin !== last) return Number(last - begin + 1n);
    return 0;
  }
  const c = BigInt(checkpoint);
  const count = last >= c ? last - c : INT64_MAX - c + last;
  return count > INT64_MAX - STALE_THRESHOLD ? 0 : Number(count);
}

function ends(begin: number, last: number): PartitionEnds {
  return { beginningSequenceNumber: begin, lastEnqueuedSequenceNumber: last, isEmpty: last < begin };
}

describe("partitionLag agrees with KEDA's blobMetadata figure", () => {
  // Every partition state a worker's checkpoints produce while retention has dropped nothing
  // unread: checkpoints from begin - 1 up to past the end (stale properties), and none at all.
  const cases: Array<[PartitionEnds, number | undefined]> = [];
  for (const [begin, last] of [
    [0, 0],
    [0, 9],
    [0, 1000],
    [0, -1],
  ] as const) {
    cases.push([ends(begin, last), undefined]);
    for (let c = begin - 1; c <= last + 3; c += 1) if (c >= 0) cases.push([ends(begin, last), c]);
  }
  cases.push([ends(40, 99), 39], [ends(40, 99), 70], [ends(40, 99), 99], [ends(40, 99), undefined]);

  it.each(cases)("partition %o, checkpoint %s", (partition, checkpoint) => {
    expect(partitionLag(partition, checkpoint)).toBe(kedaUnprocessedEvents(partition, checkpoint));
  });

  it("differs only where retention dropped checkpointed-but-unread events (KEDA counts them)", () => {
    expect(partitionLag(ends(50, 99), 10)).toBe(50);
    expect(kedaUnprocessedEvents(ends(50, 99), 10)).toBe(89);
  });

  it("differs for one retained event past 0 without a checkpoint (KEDA counts 0)", () => {
    expect(partitionLag(ends(7, 7), undefined)).toBe(1);
    expect(kedaUnprocessedEvents(ends(7, 7), undefined)).toBe(0);
  });
});

describe("unprocessedAgeSeconds", () => {
  it("is the time since the event was enqueued, 0 when none, unknown when not read", () => {
    expect(unprocessedAgeSeconds(1_000, 91_500)).toBe(90.5);
    expect(unprocessedAgeSeconds(null, 91_500)).toBe(0);
    expect(unprocessedAgeSeconds(undefined, 91_500)).toBeUndefined();
  });
  it("is never negative when the service's clock runs ahead", () => {
    expect(unprocessedAgeSeconds(10_000, 9_000)).toBe(0);
  });
});

describe("retentionLeftSeconds", () => {
  it("is retention minus age, never below 0", () => {
    expect(retentionLeftSeconds(0, 60_000, 3_600_000)).toBe(3_540);
    expect(retentionLeftSeconds(0, 4_000_000, 3_600_000)).toBe(0);
  });
  it("is unknown without a retention, an event, or anything unprocessed", () => {
    expect(retentionLeftSeconds(0, 1, undefined)).toBeUndefined();
    expect(retentionLeftSeconds(undefined, 1, 10)).toBeUndefined();
    expect(retentionLeftSeconds(null, 1, 10)).toBeUndefined();
  });
});
