import { describe, expect, it } from "vitest";
import {
  computeStatusRows,
  computeStatusTotals,
  isOwnershipExpired,
  ownershipState,
  type PartitionInfo,
  partitionLag,
  type StatusInputs,
  strayPartitionIds,
} from "../../../src/inspect/index.js";

const NOW = Date.parse("2026-01-01T12:00:00Z");
const EXPIRY = 60_000;

function partition(partitionId: string, begin: number, last: number, overrides: Partial<PartitionInfo> = {}) {
  const isEmpty = last < Math.max(begin, 0);
  return {
    partitionId,
    beginningSequenceNumber: begin,
    lastEnqueuedSequenceNumber: last,
    lastEnqueuedOffset: isEmpty ? "-1" : String(last * 100),
    lastEnqueuedOnUtc: new Date(isEmpty ? 0 : NOW - 5000),
    isEmpty,
    ...overrides,
  } satisfies PartitionInfo;
}

describe("isOwnershipExpired (the SDK's rule: active when renewed less than the expiry ago)", () => {
  it("is live just before the expiry and expired exactly at it", () => {
    expect(isOwnershipExpired({ ownerId: "w", lastModifiedTimeInMs: NOW - EXPIRY + 1 }, NOW, EXPIRY)).toBe(
      false,
    );
    expect(isOwnershipExpired({ ownerId: "w", lastModifiedTimeInMs: NOW - EXPIRY }, NOW, EXPIRY)).toBe(true);
  });
  it("counts a relinquished record and one without a time as expired", () => {
    expect(isOwnershipExpired({ ownerId: "", lastModifiedTimeInMs: NOW }, NOW, EXPIRY)).toBe(true);
    expect(isOwnershipExpired({ ownerId: "w" }, NOW, EXPIRY)).toBe(true);
  });
  it("honours a shorter fleet expiry", () => {
    expect(isOwnershipExpired({ ownerId: "w", lastModifiedTimeInMs: NOW - 20_000 }, NOW, 15_000)).toBe(true);
  });
});

describe("ownershipState", () => {
  it("tells unowned, relinquished, expired and owned apart", () => {
    expect(ownershipState(undefined, NOW, EXPIRY)).toBe("unowned");
    expect(ownershipState({ partitionId: "0", ownerId: "", lastModifiedTimeInMs: NOW }, NOW, EXPIRY)).toBe(
      "relinquished",
    );
    const old = { partitionId: "0", ownerId: "w", lastModifiedTimeInMs: NOW - 61_000 };
    expect(ownershipState(old, NOW, EXPIRY)).toBe("expired");
    expect(ownershipState({ ...old, lastModifiedTimeInMs: NOW - 1000 }, NOW, EXPIRY)).toBe("owned");
  });
});

describe("partitionLag", () => {
  it("is last - checkpoint with a checkpoint", () => {
    expect(partitionLag(partition("0", 0, 99), 89)).toBe(10);
    expect(partitionLag(partition("0", 0, 99), 99)).toBe(0);
  });
  it("is last + 1 - begin without a checkpoint", () => {
    expect(partitionLag(partition("0", 0, 99), undefined)).toBe(100);
    expect(partitionLag(partition("0", 40, 99), undefined)).toBe(60);
  });
  it("is 0 for an empty partition, with or without a checkpoint", () => {
    expect(partitionLag(partition("0", -1, -1, { isEmpty: true }), undefined)).toBe(0);
    expect(partitionLag(partition("0", 100, 99), 50)).toBe(0);
  });
  it("does not count events removed by retention", () => {
    expect(partitionLag(partition("0", 50, 99), 10)).toBe(50);
  });
  it("counts a checkpoint at begin - 1 (offset -1 after a reset to earliest) as every retained event", () => {
    expect(partitionLag(partition("0", 50, 99), 49)).toBe(50);
  });
  it("is never negative (a checkpoint past the end, e.g. of a recreated hub)", () => {
    expect(partitionLag(partition("0", 0, 9), 500)).toBe(0);
  });
});

function inputs(overrides: Partial<StatusInputs> = {}): StatusInputs {
  return {
    partitionIds: ["0", "1", "2", "3"],
    partitions: [
      partition("0", 0, 99),
      partition("1", 0, 49),
      partition("2", -1, -1),
      partition("3", 10, 19),
    ],
    ownerships: [
      { partitionId: "0", ownerId: "worker-a", lastModifiedTimeInMs: NOW - 4_200 },
      { partitionId: "1", ownerId: "worker-a", lastModifiedTimeInMs: NOW - 1_000 },
      { partitionId: "2", ownerId: "worker-b", lastModifiedTimeInMs: NOW - 90_000 },
      { partitionId: "3", ownerId: "", lastModifiedTimeInMs: NOW - 2_000 },
    ],
    checkpoints: [
      { partitionId: "0", sequenceNumber: 89, offset: "8900" },
      { partitionId: "3", sequenceNumber: 19, offset: "1900" },
    ],
    nowMs: NOW,
    ownershipExpirationMs: EXPIRY,
    ...overrides,
  };
}

describe("computeStatusRows", () => {
  it("builds one row per partition from ownerships, checkpoints, properties and now", () => {
    const rows = computeStatusRows(inputs());
    expect(rows.map((r) => r.partitionId)).toEqual(["0", "1", "2", "3"]);
    expect(rows[0]).toEqual({
      partitionId: "0",
      ownerId: "worker-a",
      ownershipState: "owned",
      lastRenewedMs: NOW - 4_200,
      secondsSinceRenewal: 4,
      checkpoint: { sequenceNumber: 89, offset: "8900" },
      beginningSequenceNumber: 0,
      lastEnqueuedSequenceNumber: 99,
      lastEnqueuedOffset: "9900",
      lastEnqueuedTimeMs: NOW - 5000,
      isEmpty: false,
      lag: 10,
    });
    expect(rows[1]).toMatchObject({ checkpoint: undefined, lag: 50, ownershipState: "owned" });
    expect(rows[2]).toMatchObject({
      ownershipState: "expired",
      secondsSinceRenewal: 90,
      isEmpty: true,
      lastEnqueuedTimeMs: undefined,
      lag: 0,
    });
    expect(rows[3]).toMatchObject({ ownerId: "", ownershipState: "relinquished", lag: 0 });
  });

  it("shows a partition without an ownership record as unowned", () => {
    const rows = computeStatusRows(inputs({ ownerships: [] }));
    expect(rows.every((r) => r.ownershipState === "unowned" && r.ownerId === undefined)).toBe(true);
    expect(rows[0]?.secondsSinceRenewal).toBeUndefined();
  });

  it("never shows a negative age when the server clock is ahead", () => {
    const rows = computeStatusRows(
      inputs({ ownerships: [{ partitionId: "0", ownerId: "w", lastModifiedTimeInMs: NOW + 3000 }] }),
    );
    expect(rows[0]?.secondsSinceRenewal).toBe(0);
    expect(rows[0]?.ownershipState).toBe("owned");
  });

  it("fails loudly when a partition's properties are missing", () => {
    expect(() => computeStatusRows(inputs({ partitions: [] }))).toThrow(/partition 0/);
  });
});

describe("computeStatusTotals", () => {
  it("counts live owners, partitions per live owner, states and total lag", () => {
    const totals = computeStatusTotals(computeStatusRows(inputs()));
    expect(totals).toEqual({
      partitions: 4,
      owners: 1,
      partitionsPerOwner: { "worker-a": 2 },
      byState: { owned: 2, expired: 1, relinquished: 1, unowned: 0 },
      totalLag: 60,
    });
  });
  it("has no owners when nothing is owned", () => {
    const totals = computeStatusTotals(computeStatusRows(inputs({ ownerships: [] })));
    expect(totals.owners).toBe(0);
    expect(totals.partitionsPerOwner).toEqual({});
    expect(totals.byState.unowned).toBe(4);
  });
});

describe("strayPartitionIds", () => {
  it("lists records of partitions the hub does not have, in numeric order", () => {
    const stray = strayPartitionIds({
      partitionIds: ["0", "1"],
      ownerships: [{ partitionId: "10", ownerId: "w" }],
      checkpoints: [
        { partitionId: "2", sequenceNumber: 1, offset: "1" },
        { partitionId: "1", sequenceNumber: 1, offset: "1" },
      ],
    });
    expect(stray).toEqual(["2", "10"]);
  });
});
