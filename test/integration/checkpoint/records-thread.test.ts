/**
 * The checkpoint thread against the real Azurite: the same conditional semantics as the records in
 * this thread (they are the same code, reached through messages), storage errors that still
 * classify after crossing the thread boundary, the fallback when a thread cannot start, and close.
 */
import type { Checkpoint, PartitionOwnership } from "@azure/event-hubs";
import { afterEach, describe, expect, it } from "vitest";
import { BlobPartitionRecords, type PartitionRecords } from "../../../src/checkpoint/blob-records.js";
import { ThreadPartitionRecords } from "../../../src/checkpoint/records-thread.js";
import { isUnreachable, STORAGE_UNREACHABLE_CODES } from "../../../src/common/connectivity.js";
import { CheckpointError } from "../../../src/common/errors.js";
import type { StorageConfig } from "../../../src/config/worker.js";
import { freePort } from "../../../src/local/index.js";
import { freshContainer, testStack } from "../../helpers/stack.js";

const opened: ThreadPartitionRecords[] = [];
afterEach(async () => {
  for (const records of opened.splice(0)) await records.close();
});

function storageOf(
  containerName: string,
  connectionString = testStack().azurite.connectionString,
): StorageConfig {
  return { connectionString, accountUrl: undefined, containerName, createContainer: false };
}

function threadRecords(storage: StorageConfig, fallback: PartitionRecords): ThreadPartitionRecords {
  const records = new ThreadPartitionRecords(storage, { fallback });
  opened.push(records);
  return records;
}

const key = { fullyQualifiedNamespace: "ns.example", eventHubName: "hub", consumerGroup: "$default" };

/** No connection string and no account URL: a thread given this fails while building its client. */
const NO_CREDENTIALS: StorageConfig = {
  connectionString: undefined,
  accountUrl: undefined,
  containerName: "x",
  createContainer: false,
};

function checkpoint(partitionId: string, sequenceNumber: number): Checkpoint {
  return { ...key, partitionId, sequenceNumber, offset: String(sequenceNumber * 10) };
}

/** Records that fail the test if anything reaches them. */
const unusedFallback: PartitionRecords = new Proxy({} as PartitionRecords, {
  get: (_target, op) => () => Promise.reject(new Error(`fallback called: ${String(op)}`)),
});

/** Records whose every call resolves undefined and is listed, by operation, in `calls`. */
function recordingFallback(): { fallback: PartitionRecords; calls: string[] } {
  const calls: string[] = [];
  const fallback = new Proxy({} as PartitionRecords, {
    get: (_target, op) => async () => {
      calls.push(String(op));
      return undefined;
    },
  });
  return { fallback, calls };
}

describe("ThreadPartitionRecords", () => {
  it("writes and reads checkpoints conditionally, as the records of this thread do", async () => {
    const { containerName, containerClient } = await freshContainer("thread");
    const records = threadRecords(storageOf(containerName), unusedFallback);
    expect(await records.readCheckpoint(checkpoint("0", 0))).toBeUndefined();
    const first = await records.writeCheckpoint(checkpoint("0", 5), undefined);
    expect(first).toEqual(expect.any(String));
    // The blob exists now: a second create loses, and so does a write under a stale ETag.
    expect(await records.writeCheckpoint(checkpoint("0", 6), undefined)).toBeUndefined();
    const second = await records.writeCheckpoint(checkpoint("0", 7), first);
    expect(second).toEqual(expect.any(String));
    expect(await records.writeCheckpoint(checkpoint("0", 8), first)).toBeUndefined();
    // What the thread wrote is what the records of this thread read, and the other way round.
    const local = new BlobPartitionRecords(containerClient);
    expect(await local.readCheckpoint(checkpoint("0", 0))).toEqual({
      sequenceNumber: 7,
      offset: "70",
      etag: second,
    });
    const third = await local.writeCheckpoint(checkpoint("0", 9), second);
    expect(await records.readCheckpoint(checkpoint("0", 0))).toEqual({
      sequenceNumber: 9,
      offset: "90",
      etag: third,
    });
  });

  it("creates an ownership record only once and reads its owner", async () => {
    const { containerName } = await freshContainer("thread");
    const records = threadRecords(storageOf(containerName), unusedFallback);
    const claim: PartitionOwnership = { ...key, partitionId: "3", ownerId: "worker-a" };
    const created = await records.createOwnership(claim);
    expect(created).toMatchObject({ partitionId: "3", ownerId: "worker-a", etag: expect.any(String) });
    expect(created?.lastModifiedTimeInMs).toEqual(expect.any(Number));
    expect(await records.createOwnership({ ...claim, ownerId: "worker-b" })).toBeUndefined();
    expect(await records.readOwnership({ ...key, partitionId: "3" })).toEqual({
      ownerId: "worker-a",
      etag: created?.etag,
    });
    expect(await records.readOwnership({ ...key, partitionId: "4" })).toBeUndefined();
  });

  it("rejects with an error that still says the storage endpoint is unreachable", async () => {
    const port = await freePort();
    const unreachable = testStack().azurite.connectionString.replace(
      /BlobEndpoint=http:\/\/[^/;]+/,
      `BlobEndpoint=http://127.0.0.1:${port}`,
    );
    expect(unreachable).toContain(`127.0.0.1:${port}`);
    const records = threadRecords(storageOf("nowhere", unreachable), unusedFallback);
    const error = await records.readOwnership({ ...key, partitionId: "0" }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(Error);
    expect(isUnreachable(error, STORAGE_UNREACHABLE_CODES)).toBe(true);
    // The thread is still serving: the failure was the call's, not the thread's.
    expect(records.threaded).toBe(true);
  }, 60_000);

  it("serves every call from the fallback once a thread could not start", async () => {
    const { fallback, calls } = recordingFallback();
    const records = threadRecords(NO_CREDENTIALS, fallback);
    const first = await records.readOwnership({ ...key, partitionId: "0" }).catch((err: unknown) => err);
    expect(first).toBeInstanceOf(CheckpointError);
    expect((first as CheckpointError).retriable).toBe(true);
    expect(records.threaded).toBe(false);
    expect(await records.readCheckpoint({ ...key, partitionId: "0" })).toBeUndefined();
    expect(await records.writeCheckpoint(checkpoint("0", 1), "etag")).toBeUndefined();
    expect(calls).toEqual(["readCheckpoint", "writeCheckpoint"]);
  });

  it("opens: resolves true once the thread is ready, and false when it could not start", async () => {
    const { containerName } = await freshContainer("thread");
    const records = threadRecords(storageOf(containerName), unusedFallback);
    expect(await records.open()).toBe(true);
    expect(records.threaded).toBe(true);
    expect(await records.readOwnership({ ...key, partitionId: "0" })).toBeUndefined();
    const failing = threadRecords(NO_CREDENTIALS, unusedFallback);
    expect(await failing.open()).toBe(false);
    expect(failing.threaded).toBe(false);
  });

  it("gives up on a thread that is not ready in time and serves calls from the fallback", async () => {
    const { containerName } = await freshContainer("thread");
    const { fallback, calls } = recordingFallback();
    const records = threadRecords(storageOf(containerName), fallback);
    // No thread loads the storage SDK within a millisecond.
    expect(await records.open(1)).toBe(false);
    expect(records.threaded).toBe(false);
    expect(await records.readOwnership({ ...key, partitionId: "0" })).toBeUndefined();
    expect(calls).toEqual(["readOwnership"]);
  });

  it("refuses calls after close", async () => {
    const { containerName } = await freshContainer("thread");
    const records = threadRecords(storageOf(containerName), unusedFallback);
    expect(await records.readOwnership({ ...key, partitionId: "0" })).toBeUndefined();
    await records.close();
    await expect(records.readOwnership({ ...key, partitionId: "0" })).rejects.toBeInstanceOf(CheckpointError);
    expect(records.inFlight).toBe(0);
  });
});
