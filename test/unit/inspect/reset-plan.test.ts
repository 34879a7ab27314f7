import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/common/errors.js";
import {
  BEFORE_FIRST_OFFSET,
  checkpointForStart,
  describeLiveOwners,
  describeResetTarget,
  isUnchanged,
  liveOwners,
  type PartitionInfo,
  parseResetTarget,
  startAfterTimeLookup,
  startDecision,
} from "../../../src/inspect/index.js";

const NOW = Date.parse("2026-01-01T12:00:00Z");

function partition(begin: number, last: number, lastTimeMs = NOW - 1000): PartitionInfo {
  const isEmpty = last < Math.max(begin, 0);
  return {
    partitionId: "0",
    beginningSequenceNumber: begin,
    lastEnqueuedSequenceNumber: last,
    lastEnqueuedOffset: isEmpty ? "-1" : `off-${last}`,
    lastEnqueuedOnUtc: new Date(isEmpty ? 0 : lastTimeMs),
    isEmpty,
  };
}

describe("parseResetTarget", () => {
  it("accepts earliest, latest, an ISO time and seq:<n>", () => {
    expect(parseResetTarget("earliest")).toEqual({ kind: "earliest" });
    expect(parseResetTarget("latest")).toEqual({ kind: "latest" });
    expect(parseResetTarget("2024-05-01T12:00:00Z")).toEqual({
      kind: "enqueuedTime",
      enqueuedOnMs: Date.parse("2024-05-01T12:00:00Z"),
    });
    expect(parseResetTarget("seq:1200")).toEqual({ kind: "sequence", sequenceNumber: 1200 });
  });
  it.each(["", "first", "seq:", "seq:-1", "seq:1.5", "2024-05-01T12:00:00", "12"])("rejects %j", (text) => {
    expect(() => parseResetTarget(text)).toThrow(ConfigError);
  });
  it("round-trips through describeResetTarget", () => {
    for (const text of ["earliest", "latest", "2024-05-01T12:00:00.000Z", "seq:7"]) {
      expect(describeResetTarget(parseResetTarget(text))).toBe(text);
    }
  });
});

describe("startDecision", () => {
  it("earliest starts at the first retained event", () => {
    expect(startDecision({ kind: "earliest" }, partition(40, 99))).toEqual({
      kind: "start",
      sequenceNumber: 40,
    });
  });
  it("latest starts after the last enqueued event", () => {
    expect(startDecision({ kind: "latest" }, partition(0, 99))).toEqual({
      kind: "start",
      sequenceNumber: 100,
    });
  });
  it("latest and earliest of an empty partition are both its next event", () => {
    expect(startDecision({ kind: "latest" }, partition(-1, -1))).toEqual({
      kind: "start",
      sequenceNumber: 0,
    });
    expect(startDecision({ kind: "earliest" }, partition(-1, -1))).toEqual({
      kind: "start",
      sequenceNumber: 0,
    });
    expect(startDecision({ kind: "latest" }, partition(100, 99))).toEqual({
      kind: "start",
      sequenceNumber: 100,
    });
  });
  it("seq:n starts at n", () => {
    expect(startDecision({ kind: "sequence", sequenceNumber: 37 }, partition(0, 99))).toEqual({
      kind: "start",
      sequenceNumber: 37,
    });
    expect(startDecision({ kind: "sequence", sequenceNumber: 100 }, partition(0, 99))).toEqual({
      kind: "start",
      sequenceNumber: 100,
    });
  });
  it("seq:n before the first retained event starts at the first, with a note", () => {
    const decision = startDecision({ kind: "sequence", sequenceNumber: 5 }, partition(40, 99));
    expect(decision).toMatchObject({ kind: "start", sequenceNumber: 40 });
    expect(decision.kind === "start" && decision.note).toMatch(/no longer retained/);
  });
  it("seq:n past the next event is refused, naming the partition and the latest position", () => {
    expect(() => startDecision({ kind: "sequence", sequenceNumber: 101 }, partition(0, 99))).toThrow(
      /partition 0.*seq:100/,
    );
  });
  it("a time needs a lookup unless nothing was enqueued at or after it", () => {
    const at = NOW - 60_000;
    expect(startDecision({ kind: "enqueuedTime", enqueuedOnMs: at }, partition(0, 99))).toEqual({
      kind: "findTime",
      atOrAfterMs: at,
    });
    expect(startDecision({ kind: "enqueuedTime", enqueuedOnMs: NOW }, partition(0, 99))).toEqual({
      kind: "start",
      sequenceNumber: 100,
      note: "nothing enqueued at or after the time yet",
    });
    expect(startDecision({ kind: "enqueuedTime", enqueuedOnMs: at }, partition(-1, -1))).toMatchObject({
      kind: "start",
      sequenceNumber: 0,
    });
  });
  it("a time exactly at the last event's needs the lookup (that event is included)", () => {
    const last = NOW - 1000;
    expect(startDecision({ kind: "enqueuedTime", enqueuedOnMs: last }, partition(0, 99, last)).kind).toBe(
      "findTime",
    );
  });
});

describe("startAfterTimeLookup", () => {
  it("starts at the event found, or after the last one", () => {
    expect(startAfterTimeLookup(partition(0, 99), 42)).toBe(42);
    expect(startAfterTimeLookup(partition(0, 99), undefined)).toBe(100);
  });
});

describe("checkpointForStart", () => {
  it("writes offset -1 with begin - 1 to start at the first retained event", () => {
    expect(checkpointForStart(40, partition(40, 99))).toEqual({
      kind: "checkpoint",
      checkpoint: { sequenceNumber: 39, offset: BEFORE_FIRST_OFFSET },
    });
    expect(checkpointForStart(0, partition(-1, -1))).toEqual({
      kind: "checkpoint",
      checkpoint: { sequenceNumber: -1, offset: "-1" },
    });
  });
  it("uses the last enqueued event's offset from the properties to start after it", () => {
    expect(checkpointForStart(100, partition(0, 99))).toEqual({
      kind: "checkpoint",
      checkpoint: { sequenceNumber: 99, offset: "off-99" },
    });
  });
  it("needs the offset of event n - 1 for any start in between", () => {
    expect(checkpointForStart(37, partition(0, 99))).toEqual({ kind: "readOffsetOf", sequenceNumber: 36 });
    expect(checkpointForStart(41, partition(40, 99))).toEqual({ kind: "readOffsetOf", sequenceNumber: 40 });
  });
});

describe("liveOwners (reset refusal)", () => {
  const ownerships = [
    { partitionId: "0", ownerId: "worker-a", lastModifiedTimeInMs: NOW - 4_000 },
    { partitionId: "1", ownerId: "", lastModifiedTimeInMs: NOW - 1_000 },
    { partitionId: "2", ownerId: "worker-b", lastModifiedTimeInMs: NOW - 70_000 },
    { partitionId: "3", ownerId: "worker-b", lastModifiedTimeInMs: NOW - 59_999 },
  ];
  it("names live owners of the chosen partitions only; relinquished and expired do not hold", () => {
    expect(liveOwners(["0", "1", "2", "3"], ownerships, NOW, 60_000)).toEqual([
      { partitionId: "0", ownerId: "worker-a", secondsSinceRenewal: 4 },
      { partitionId: "3", ownerId: "worker-b", secondsSinceRenewal: 59 },
    ]);
    expect(liveOwners(["1", "2"], ownerships, NOW, 60_000)).toEqual([]);
    expect(liveOwners(["3"], ownerships, NOW, 30_000)).toEqual([]);
  });
  it("describes each as owner and partition", () => {
    expect(describeLiveOwners([{ partitionId: "3", ownerId: "worker-b", secondsSinceRenewal: 5 }])).toEqual([
      "partition 3 is owned by worker-b (renewed 5 s ago)",
    ]);
  });
});

describe("isUnchanged", () => {
  it("is true only when sequence number and offset both match", () => {
    const after = { sequenceNumber: 9, offset: "90" };
    expect(isUnchanged({ before: { sequenceNumber: 9, offset: "90" }, after })).toBe(true);
    expect(isUnchanged({ before: { sequenceNumber: 9, offset: "91" }, after })).toBe(false);
    expect(isUnchanged({ before: undefined, after })).toBe(false);
  });
});
