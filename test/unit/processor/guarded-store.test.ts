import { describe, expect, it } from "vitest";
import { CheckpointRefusedError, GuardedCheckpointStore } from "../../../src/checkpoint/guarded-store.js";
import { CheckpointError } from "../../../src/common/errors.js";
import { checkpointAt, MemoryCheckpointStore, ownershipRequest } from "./memory-store.js";

function setup() {
  const inner = new MemoryCheckpointStore();
  const lost: Array<{ partitionId: string; reason: string }> = [];
  const store = new GuardedCheckpointStore(inner, {
    ownerId: "me",
    records: inner,
    onLost: (partitionId, reason) => lost.push({ partitionId, reason }),
  });
  return { inner, store, lost };
}

describe("GuardedCheckpointStore", () => {
  it("refuses a checkpoint for a partition it never claimed, without writing", async () => {
    const { inner, store } = setup();
    const error = await store.updateCheckpoint(checkpointAt("0", 5)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointRefusedError);
    expect((error as CheckpointRefusedError).reason).toBe("not-owner");
    expect(inner.writes).toEqual([]);
  });

  it("writes for a claimed partition and records the claim", async () => {
    const { inner, store } = setup();
    const claimed = await store.claimOwnership([ownershipRequest("0", "me")]);
    expect(claimed).toHaveLength(1);
    expect(store.owns("0")).toBe(true);
    await store.updateCheckpoint(checkpointAt("0", 5));
    expect(inner.writes.map((w) => w.sequenceNumber)).toEqual([5]);
    expect(store.lastSequenceNumber("0")).toBe(5);
  });

  it("refuses after markLost (the processor's OwnershipLost)", async () => {
    const { inner, store } = setup();
    await store.claimOwnership([ownershipRequest("1", "me")]);
    store.markLost("1");
    await expect(store.updateCheckpoint(checkpointAt("1", 3))).rejects.toBeInstanceOf(CheckpointRefusedError);
    expect(inner.writes).toEqual([]);
  });

  it("treats a renewal that lost its ETag race as a loss", async () => {
    const { inner, store } = setup();
    await store.claimOwnership([ownershipRequest("2", "me")]);
    // Another owner takes it; our renewal carries the stale ETag and is skipped by the store.
    const stale = inner.ownerships.get("2")?.etag;
    await inner.claimOwnership([ownershipRequest("2", "other", stale)]);
    const renewed = await store.claimOwnership([ownershipRequest("2", "me", stale)]);
    expect(renewed).toEqual([]);
    expect(store.owns("2")).toBe(false);
    await expect(store.updateCheckpoint(checkpointAt("2", 1))).rejects.toBeInstanceOf(CheckpointRefusedError);
  });

  it("drops a partition whose ownership record names another owner", async () => {
    const { inner, store } = setup();
    await store.claimOwnership([ownershipRequest("3", "me")]);
    const etag = inner.ownerships.get("3")?.etag;
    await inner.claimOwnership([ownershipRequest("3", "thief", etag)]);
    await store.listOwnership("ns", "hub", "$default");
    expect(store.owns("3")).toBe(false);
  });

  it("releases partitions it abandons (owner id emptied at close)", async () => {
    const { inner, store } = setup();
    await store.claimOwnership([ownershipRequest("4", "me")]);
    const etag = inner.ownerships.get("4")?.etag;
    await store.claimOwnership([ownershipRequest("4", "", etag)]);
    expect(store.ownedPartitions()).toEqual([]);
  });

  it("never moves a checkpoint backwards from one it wrote", async () => {
    const { inner, store } = setup();
    await store.claimOwnership([ownershipRequest("0", "me")]);
    await store.updateCheckpoint(checkpointAt("0", 10));
    const error = await store.updateCheckpoint(checkpointAt("0", 9)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointRefusedError);
    expect((error as CheckpointRefusedError).reason).toBe("backwards");
    // The same position again is not an error and not a second write.
    await store.updateCheckpoint(checkpointAt("0", 10));
    expect(inner.writes.map((w) => w.sequenceNumber)).toEqual([10]);
  });

  it("never moves a checkpoint backwards from one it read at start", async () => {
    const { inner, store } = setup();
    inner.checkpoints.set("0", checkpointAt("0", 50));
    await store.listCheckpoints("ns", "hub", "$default");
    await store.claimOwnership([ownershipRequest("0", "me")]);
    await expect(store.updateCheckpoint(checkpointAt("0", 49))).rejects.toBeInstanceOf(
      CheckpointRefusedError,
    );
    await store.updateCheckpoint(checkpointAt("0", 51));
    expect(inner.writes.map((w) => w.sequenceNumber)).toEqual([51]);
  });

  it("wraps a store failure in a retriable CheckpointError with the cause", async () => {
    const { inner, store } = setup();
    await store.claimOwnership([ownershipRequest("0", "me")]);
    const cause = Object.assign(new Error("server busy"), { name: "RestError", statusCode: 503 });
    inner.failWrites = cause;
    const error = await store.updateCheckpoint(checkpointAt("0", 1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error).not.toBeInstanceOf(CheckpointRefusedError);
    expect((error as CheckpointError).retriable).toBe(true);
    expect((error as CheckpointError).cause).toBe(cause);
    expect((error as Error).message).toContain("503");
    // The failed write does not count as written: the same position may be retried.
    inner.failWrites = undefined;
    await store.updateCheckpoint(checkpointAt("0", 1));
    expect(inner.writes.map((w) => w.sequenceNumber)).toEqual([1]);
  });

  it("passes claim errors through", async () => {
    const { inner, store } = setup();
    inner.createOwnership = async () => {
      throw Object.assign(new Error("forbidden"), { statusCode: 403 });
    };
    await expect(store.claimOwnership([ownershipRequest("0", "me")])).rejects.toThrow("forbidden");
    await inner.claimOwnership([ownershipRequest("1", "other")]);
    const etag = inner.ownerships.get("1")?.etag;
    inner.claimOwnership = async () => {
      throw Object.assign(new Error("busy"), { statusCode: 503 });
    };
    await expect(store.claimOwnership([ownershipRequest("1", "me", etag)])).rejects.toThrow("busy");
  });
});

describe("GuardedCheckpointStore claims of a never-owned partition", () => {
  it("creates the ownership only if absent: the second claimer is left out, like a 412", async () => {
    const { inner, store } = setup();
    const rival = new GuardedCheckpointStore(inner, { ownerId: "rival", records: inner });
    // Both saw no ownership blob, so both requests carry no ETag.
    const [mine, theirs] = await Promise.all([
      store.claimOwnership([ownershipRequest("0", "me")]),
      rival.claimOwnership([ownershipRequest("0", "rival")]),
    ]);
    expect(mine.map((o) => o.ownerId)).toEqual(["me"]);
    expect(mine[0]?.etag).toBeDefined();
    expect(mine[0]?.lastModifiedTimeInMs).toBeTypeOf("number");
    expect(theirs).toEqual([]);
    expect(rival.owns("0")).toBe(false);
    expect(inner.ownerships.get("0")?.ownerId).toBe("me");
  });

  it("passes claims that carry an ETag to the wrapped store", async () => {
    const { inner, store } = setup();
    await inner.claimOwnership([ownershipRequest("0", "other")]);
    const etag = inner.ownerships.get("0")?.etag;
    const claimed = await store.claimOwnership([ownershipRequest("0", "me", etag)]);
    expect(claimed.map((o) => o.ownerId)).toEqual(["me"]);
    expect(store.owns("0")).toBe(true);
  });
});

describe("GuardedCheckpointStore conditional checkpoints", () => {
  it("does not write below or at a stored checkpoint another writer left, and moves its own floor up", async () => {
    const { inner, store } = setup();
    await store.claimOwnership([ownershipRequest("0", "me")]);
    inner.overwriteCheckpoint(checkpointAt("0", 40));
    await store.updateCheckpoint(checkpointAt("0", 30));
    expect(written(inner)).toEqual([]);
    expect(inner.checkpoints.get("0")?.sequenceNumber).toBe(40);
    expect(store.lastSequenceNumber("0")).toBe(40);
    await store.updateCheckpoint(checkpointAt("0", 41));
    expect(written(inner)).toEqual([41]);
  });

  it("re-reads after a 412 and decides again", async () => {
    const { inner, store } = setup();
    await store.claimOwnership([ownershipRequest("0", "me")]);
    await store.updateCheckpoint(checkpointAt("0", 10));
    // Another writer moves the blob to 25 between our read and our conditional write.
    inner.beforeConditionalWrite = () => {
      inner.beforeConditionalWrite = undefined;
      inner.overwriteCheckpoint(checkpointAt("0", 25));
    };
    await store.updateCheckpoint(checkpointAt("0", 20));
    expect(inner.conflicts).toBe(1);
    expect(inner.checkpoints.get("0")?.sequenceNumber).toBe(25);
    // With the blob at 25, a later position is written under the ETag just read.
    inner.beforeConditionalWrite = () => {
      inner.beforeConditionalWrite = undefined;
      inner.overwriteCheckpoint(checkpointAt("0", 26));
    };
    await store.updateCheckpoint(checkpointAt("0", 30));
    expect(inner.conflicts).toBe(2);
    expect(written(inner)).toEqual([10, 30]);
  });

  it("gives up with a retriable error when every conditional write loses", async () => {
    const { inner, store } = setup();
    await store.claimOwnership([ownershipRequest("0", "me")]);
    let n = 100;
    inner.beforeConditionalWrite = () => {
      n += 1;
      inner.overwriteCheckpoint(checkpointAt("0", 0));
    };
    const error = await store.updateCheckpoint(checkpointAt("0", n)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).retriable).toBe(true);
    expect(inner.conflicts).toBe(3);
  });

  it("reads the checkpoint blob only when its own last ETag failed", async () => {
    const { inner, store } = setup();
    await store.claimOwnership([ownershipRequest("0", "me")]);
    for (const seq of [1, 2, 3, 4]) await store.updateCheckpoint(checkpointAt("0", seq));
    expect(written(inner)).toEqual([1, 2, 3, 4]);
    expect(inner.checkpointReads).toBe(1);
  });

  it("refuses, writes nothing and reports the loss when the ownership blob names another owner", async () => {
    const { inner, store, lost } = setup();
    await store.claimOwnership([ownershipRequest("0", "me")]);
    await store.updateCheckpoint(checkpointAt("0", 5));
    const etag = inner.ownerships.get("0")?.etag;
    await inner.claimOwnership([ownershipRequest("0", "thief", etag)]);
    const error = await store.updateCheckpoint(checkpointAt("0", 9)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointRefusedError);
    expect((error as CheckpointRefusedError).reason).toBe("not-owner");
    expect(written(inner)).toEqual([5]);
    expect(store.owns("0")).toBe(false);
    expect(lost.map((l) => l.partitionId)).toEqual(["0"]);
  });

  it("reports a loss found by a listing or a renewal that lost its ETag race, once", async () => {
    const { inner, store, lost } = setup();
    await store.claimOwnership([ownershipRequest("0", "me"), ownershipRequest("1", "me")]);
    const etag0 = inner.ownerships.get("0")?.etag;
    await inner.claimOwnership([ownershipRequest("0", "thief", etag0)]);
    await store.listOwnership("ns", "hub", "$default");
    await store.listOwnership("ns", "hub", "$default");
    const etag1 = inner.ownerships.get("1")?.etag;
    await inner.claimOwnership([ownershipRequest("1", "thief", etag1)]);
    await store.claimOwnership([ownershipRequest("1", "me", etag1)]);
    expect(lost.map((l) => l.partitionId)).toEqual(["0", "1"]);
  });

  it("relinquishes a held partition under its last ETag (owner emptied)", async () => {
    const { inner, store, lost } = setup();
    await store.claimOwnership([ownershipRequest("0", "me")]);
    expect(await store.relinquish("0")).toBe(true);
    expect(inner.ownerships.get("0")?.ownerId).toBe("");
    expect(store.owns("0")).toBe(false);
    expect(lost).toEqual([]);
    expect(await store.relinquish("0")).toBe(false);
  });
});

describe("GuardedCheckpointStore ownership-check window", () => {
  function windowed(intervalMs: number) {
    const inner = new MemoryCheckpointStore();
    let now = 0;
    let reads = 0;
    const readOwnership = inner.readOwnership.bind(inner);
    inner.readOwnership = async (key) => {
      reads += 1;
      return readOwnership(key);
    };
    const lost: string[] = [];
    const store = new GuardedCheckpointStore(inner, {
      ownerId: "me",
      records: inner,
      ownershipCheckIntervalMs: intervalMs,
      clock: () => now,
      onLost: (partitionId) => lost.push(partitionId),
    });
    return { inner, store, lost, reads: () => reads, advance: (ms: number) => (now += ms) };
  }

  it("reads the ownership blob before every write when the window is 0", async () => {
    const { store, reads } = windowed(0);
    await store.claimOwnership([ownershipRequest("0", "me")]);
    for (const seq of [1, 2, 3]) await store.updateCheckpoint(checkpointAt("0", seq));
    expect(reads()).toBe(3);
  });

  it("trusts a claim or a read for the window, then reads again", async () => {
    const { inner, store, reads, advance } = windowed(1000);
    await store.claimOwnership([ownershipRequest("0", "me")]);
    await store.updateCheckpoint(checkpointAt("0", 1));
    advance(999);
    await store.updateCheckpoint(checkpointAt("0", 2));
    expect(reads()).toBe(0);
    advance(1);
    await store.updateCheckpoint(checkpointAt("0", 3));
    await store.updateCheckpoint(checkpointAt("0", 4));
    expect(reads()).toBe(1);
    expect(written(inner)).toEqual([1, 2, 3, 4]);
  });

  it("refuses after the window once the blob names another owner", async () => {
    const { inner, store, lost, advance } = windowed(1000);
    await store.claimOwnership([ownershipRequest("0", "me")]);
    await store.updateCheckpoint(checkpointAt("0", 5));
    const etag = inner.ownerships.get("0")?.etag;
    await inner.claimOwnership([ownershipRequest("0", "thief", etag)]);
    advance(1000);
    const error = await store.updateCheckpoint(checkpointAt("0", 9)).catch((e: unknown) => e);
    expect((error as CheckpointRefusedError).reason).toBe("not-owner");
    expect(written(inner)).toEqual([5]);
    expect(lost).toEqual(["0"]);
  });

  it("never trusts the window for a loss it has learned of", async () => {
    const { inner, store } = windowed(60_000);
    await store.claimOwnership([ownershipRequest("0", "me"), ownershipRequest("1", "me")]);
    store.markLost("0");
    await expect(store.updateCheckpoint(checkpointAt("0", 1))).rejects.toBeInstanceOf(CheckpointRefusedError);
    const etag = inner.ownerships.get("1")?.etag;
    await inner.claimOwnership([ownershipRequest("1", "thief", etag)]);
    await store.listOwnership("ns", "hub", "$default");
    await expect(store.updateCheckpoint(checkpointAt("1", 1))).rejects.toBeInstanceOf(CheckpointRefusedError);
    expect(written(inner)).toEqual([]);
  });
});

function written(inner: MemoryCheckpointStore): number[] {
  return inner.writes.map((w) => w.sequenceNumber);
}

describe("GuardedCheckpointStore renewal ages", () => {
  function clocked() {
    const inner = new MemoryCheckpointStore();
    let now = 0;
    const renewed: string[] = [];
    const store = new GuardedCheckpointStore(inner, {
      ownerId: "me",
      records: inner,
      clock: () => now,
      onRenewed: (partitionId) => renewed.push(partitionId),
    });
    return { inner, store, renewed, advance: (ms: number) => (now += ms) };
  }

  it("counts from the start of the last successful claim or renewal, and tells of each", async () => {
    const { inner, store, renewed, advance } = clocked();
    expect(store.renewalAgeMs("0")).toBeUndefined();
    await store.claimOwnership([ownershipRequest("0", "me")]);
    advance(700);
    expect(store.renewalAgeMs("0")).toBe(700);
    const etag = inner.ownerships.get("0")?.etag;
    // The renewal's age counts from when it was sent, not from its answer.
    const claimOwnership = inner.claimOwnership.bind(inner);
    inner.claimOwnership = async (requests) => {
      advance(50);
      return claimOwnership(requests);
    };
    await store.claimOwnership([ownershipRequest("0", "me", etag)]);
    expect(store.renewalAgeMs("0")).toBe(50);
    expect(renewed).toEqual(["0", "0"]);
  });

  it("keeps the age of a renewal that failed, and forgets it when the partition is lost", async () => {
    const { inner, store, renewed, advance } = clocked();
    await store.claimOwnership([ownershipRequest("0", "me")]);
    const etag = inner.ownerships.get("0")?.etag;
    inner.claimOwnership = async () => {
      throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    };
    advance(3000);
    await expect(store.claimOwnership([ownershipRequest("0", "me", etag)])).rejects.toThrow();
    expect(store.renewalAgeMs("0")).toBe(3000);
    expect(renewed).toEqual(["0"]);
    store.markLost("0");
    expect(store.renewalAgeMs("0")).toBeUndefined();
  });
});
