import type { Checkpoint, CheckpointStore, PartitionOwnership } from "@azure/event-hubs";
import type {
  CheckpointRecord,
  OwnershipRecord,
  PartitionKey,
  PartitionRecords,
} from "../../../src/checkpoint/blob-records.js";

/**
 * An in-memory CheckpointStore with ETag semantics like BlobCheckpointStore's: a claim with a stale
 * ETag is skipped (the 412 case), a claim without one and `updateCheckpoint` write unconditionally. It also serves the
 * guarded store's conditional records (create-if-absent ownership, checkpoint writes under an
 * ETag). Writes can be made to fail, to wait, or to be overtaken by another writer, for tests of
 * the layers above.
 */
export class MemoryCheckpointStore implements CheckpointStore, PartitionRecords {
  readonly ownerships = new Map<string, PartitionOwnership>();
  readonly checkpoints = new Map<string, Checkpoint>();
  /** Every checkpoint write that reached the store, in order. */
  readonly writes: Checkpoint[] = [];
  /** Conditional checkpoint writes that failed their condition (the 412s). */
  conflicts = 0;
  /** Checkpoint blob reads. */
  checkpointReads = 0;
  /** When set, the next checkpoint writes reject with this error (and are not recorded). */
  failWrites: Error | undefined;
  /** When set, each write awaits this before it completes. */
  gate: Promise<void> | undefined;
  /** Runs just before a conditional checkpoint write compares ETags (to let another writer in). */
  beforeConditionalWrite: (() => void) | undefined;
  private readonly checkpointEtags = new Map<string, string>();
  private etag = 0;

  async listOwnership(): Promise<PartitionOwnership[]> {
    return [...this.ownerships.values()].map((o) => ({ ...o }));
  }

  async claimOwnership(requests: PartitionOwnership[]): Promise<PartitionOwnership[]> {
    const claimed: PartitionOwnership[] = [];
    for (const request of requests) {
      const current = this.ownerships.get(request.partitionId);
      // Like BlobCheckpointStore: with an ETag a conditional update; without one an unconditional
      // upload, which overwrites whatever is there.
      if (request.etag !== undefined && current?.etag !== request.etag) continue;
      claimed.push(this.setOwnership(request));
    }
    return claimed;
  }

  async listCheckpoints(): Promise<Checkpoint[]> {
    return [...this.checkpoints.values()].map((c) => ({ ...c }));
  }

  async updateCheckpoint(checkpoint: Checkpoint): Promise<void> {
    if (this.gate !== undefined) await this.gate;
    if (this.failWrites !== undefined) throw this.failWrites;
    this.storeCheckpoint(checkpoint);
  }

  async createOwnership(ownership: PartitionOwnership): Promise<PartitionOwnership | undefined> {
    if (this.ownerships.has(ownership.partitionId)) return undefined;
    return this.setOwnership(ownership);
  }

  async readOwnership(key: PartitionKey): Promise<OwnershipRecord | undefined> {
    const current = this.ownerships.get(key.partitionId);
    return current === undefined ? undefined : { ownerId: current.ownerId, etag: current.etag ?? "" };
  }

  async readCheckpoint(key: PartitionKey): Promise<CheckpointRecord | undefined> {
    this.checkpointReads += 1;
    const current = this.checkpoints.get(key.partitionId);
    if (current === undefined) return undefined;
    return {
      sequenceNumber: current.sequenceNumber,
      offset: current.offset,
      etag: this.etagOf(key.partitionId),
    };
  }

  async writeCheckpoint(
    checkpoint: Checkpoint,
    expectedEtag: string | undefined,
  ): Promise<string | undefined> {
    if (this.gate !== undefined) await this.gate;
    if (this.failWrites !== undefined) throw this.failWrites;
    this.beforeConditionalWrite?.();
    const exists = this.checkpoints.has(checkpoint.partitionId);
    const matches =
      expectedEtag === undefined ? !exists : exists && this.etagOf(checkpoint.partitionId) === expectedEtag;
    if (!matches) {
      this.conflicts += 1;
      return undefined;
    }
    return this.storeCheckpoint(checkpoint);
  }

  /** Another writer's checkpoint, as if written by a different process (not in `writes`). */
  overwriteCheckpoint(checkpoint: Checkpoint): void {
    this.checkpoints.set(checkpoint.partitionId, { ...checkpoint });
    this.etag += 1;
    this.checkpointEtags.set(checkpoint.partitionId, `c${this.etag}`);
  }

  private storeCheckpoint(checkpoint: Checkpoint): string {
    this.writes.push({ ...checkpoint });
    this.overwriteCheckpoint(checkpoint);
    return this.etagOf(checkpoint.partitionId);
  }

  private etagOf(partitionId: string): string {
    return this.checkpointEtags.get(partitionId) ?? "c-initial";
  }

  private setOwnership(request: PartitionOwnership): PartitionOwnership {
    this.etag += 1;
    const next = { ...request, etag: String(this.etag), lastModifiedTimeInMs: Date.now() };
    this.ownerships.set(request.partitionId, next);
    return { ...next };
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
