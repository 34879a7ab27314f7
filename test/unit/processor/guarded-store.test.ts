import { describe, expect, it } from "vitest";
import { CheckpointRefusedError, GuardedCheckpointStore } from "../../../src/checkpoint/guarded-store.js";
import { CheckpointError } from "../../../src/errors.js";
import { checkpointAt, MemoryCheckpointStore, ownershipRequest } from "./memory-store.js";

function setup() {
  const inner = new MemoryCheckpointStore();
  const store = new GuardedCheckpointStore(inner, { ownerId: "me" });
  return { inner, store };
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
    inner.claimOwnership = async () => {
      throw Object.assign(new Error("forbidden"), { statusCode: 403 });
    };
    await expect(store.claimOwnership([ownershipRequest("0", "me")])).rejects.toThrow("forbidden");
  });
});
