import type { Checkpoint, CheckpointStore, PartitionOwnership } from "@azure/event-hubs";

/**
 * An in-memory CheckpointStore with ETag semantics like BlobCheckpointStore's: a claim with a stale
 * ETag is skipped (the 412 case), checkpoints are written unconditionally. Writes can be made to
 * fail or to wait, for tests of the layers above.
 */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly ownerships = new Map<string, PartitionOwnership>();
  readonly checkpoints = new Map<string, Checkpoint>();
  /** Every checkpoint write that reached the store, in order. */
  readonly writes: Checkpoint[] = [];
  /** When set, the next checkpoint writes reject with this error (and are not recorded). */
  failWrites: Error | undefined;
  /** When set, each write awaits this before it completes. */
  gate: Promise<void> | undefined;
  private etag = 0;

  async listOwnership(): Promise<PartitionOwnership[]> {
    return [...this.ownerships.values()].map((o) => ({ ...o }));
  }

  async claimOwnership(requests: PartitionOwnership[]): Promise<PartitionOwnership[]> {
    const claimed: PartitionOwnership[] = [];
    for (const request of requests) {
      const current = this.ownerships.get(request.partitionId);
      if (current !== undefined && current.etag !== request.etag) continue;
      this.etag += 1;
      const next = { ...request, etag: String(this.etag), lastModifiedTimeInMs: Date.now() };
      this.ownerships.set(request.partitionId, next);
      claimed.push({ ...next });
    }
    return claimed;
  }

  async listCheckpoints(): Promise<Checkpoint[]> {
    return [...this.checkpoints.values()].map((c) => ({ ...c }));
  }

  async updateCheckpoint(checkpoint: Checkpoint): Promise<void> {
    if (this.gate !== undefined) await this.gate;
    if (this.failWrites !== undefined) throw this.failWrites;
    this.writes.push({ ...checkpoint });
    this.checkpoints.set(checkpoint.partitionId, { ...checkpoint });
  }
}

/** An ownership request as the SDK's load balancer builds it. */
export function ownershipRequest(partitionId: string, ownerId: string, etag?: string): PartitionOwnership {
  return {
    fullyQualifiedNamespace: "ns",
    eventHubName: "hub",
    consumerGroup: "$default",
    partitionId,
    ownerId,
    etag,
  };
}

/** A checkpoint of partition `partitionId` at `sequenceNumber`. */
export function checkpointAt(partitionId: string, sequenceNumber: number): Checkpoint {
  return {
    fullyQualifiedNamespace: "ns",
    eventHubName: "hub",
    consumerGroup: "$default",
    partitionId,
    sequenceNumber,
    offset: String(sequenceNumber * 100),
  };
}
