/**
 * The checkpoint store the SDK and the partition processors write through. It wraps the real store
 * (BlobCheckpointStore) and adds the two rules BlobCheckpointStore does not enforce, because its
 * `updateCheckpoint` writes unconditionally: a worker that no longer owns a partition never writes
 * its checkpoint, and a checkpoint never moves backwards.
 */
import type { Checkpoint, CheckpointStore, OperationOptions, PartitionOwnership } from "@azure/event-hubs";
import { CheckpointError, type EhwErrorOptions } from "../errors.js";
import { type Logger, silentLogger } from "../observability/logger.js";

/**
 * The guard refused a checkpoint (not written): this worker does not own the partition, or the
 * position lies below the last checkpoint. Retrying the same write cannot succeed.
 */
export class CheckpointRefusedError extends CheckpointError {
  /** Why the write was refused. */
  readonly reason: "not-owner" | "backwards";

  constructor(reason: "not-owner" | "backwards", message: string, options: EhwErrorOptions = {}) {
    super(message, { ...options, retriable: false });
    this.reason = reason;
  }
}

/** Options of {@link GuardedCheckpointStore}. */
export interface GuardedCheckpointStoreOptions {
  /** Owner id of this worker (the client's `identifier`); claims under another id are ignored. */
  readonly ownerId: string;
  /** Logger; default silent. */
  readonly logger?: Logger;
}

/** The narrow view a partition processor needs of the guarded store. */
export interface CheckpointWriter {
  /** Writes a checkpoint, or rejects (CheckpointRefusedError when the guard refuses it). */
  updateCheckpoint(checkpoint: Checkpoint): Promise<void>;
  /** Records that this worker lost the partition; later writes for it are refused. */
  markLost(partitionId: string): void;
}

/**
 * A CheckpointStore wrapper for one subscription (one namespace, hub and consumer group; partitions
 * are keyed by id alone). Ownership listing and claiming pass through; claim results tell which
 * partitions this owner holds. `updateCheckpoint` refuses, with {@link CheckpointRefusedError}, a
 * partition this owner does not hold and a sequence number below the last one written or read.
 */
export class GuardedCheckpointStore implements CheckpointStore, CheckpointWriter {
  private readonly held = new Set<string>();
  private readonly last = new Map<string, number>();
  private readonly logger: Logger;

  constructor(
    private readonly inner: CheckpointStore,
    private readonly options: GuardedCheckpointStoreOptions,
  ) {
    this.logger = (options.logger ?? silentLogger()).child({ component: "checkpoint-store" });
  }

  /** Whether this owner holds the partition, as far as the claims and losses seen tell. */
  owns(partitionId: string): boolean {
    return this.held.has(partitionId);
  }

  /** Partitions this owner holds, sorted numerically. */
  ownedPartitions(): string[] {
    return [...this.held].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  }

  /** The highest checkpoint sequence number written or read for a partition, if any. */
  lastSequenceNumber(partitionId: string): number | undefined {
    return this.last.get(partitionId);
  }

  markLost(partitionId: string): void {
    if (this.held.delete(partitionId)) this.logger.debug({ partitionId }, "partition marked lost");
  }

  async listOwnership(
    fullyQualifiedNamespace: string,
    eventHubName: string,
    consumerGroup: string,
    options?: OperationOptions,
  ): Promise<PartitionOwnership[]> {
    const list = await this.inner.listOwnership(
      fullyQualifiedNamespace,
      eventHubName,
      consumerGroup,
      options,
    );
    // Another owner's record means the partition was taken even if our receiver has not noticed yet;
    // refusing checkpoints from that moment narrows the window in which a loser could write one.
    for (const ownership of list) {
      if (this.held.has(ownership.partitionId) && ownership.ownerId !== this.options.ownerId) {
        this.logger.info(
          { partitionId: ownership.partitionId, newOwner: ownership.ownerId || "(none)" },
          "ownership record names another owner",
        );
        this.held.delete(ownership.partitionId);
      }
    }
    return list;
  }

  async claimOwnership(
    partitionOwnership: PartitionOwnership[],
    options?: OperationOptions,
  ): Promise<PartitionOwnership[]> {
    const claimed = await this.inner.claimOwnership(partitionOwnership, options);
    const won = new Set(claimed.filter((o) => o.ownerId === this.options.ownerId).map((o) => o.partitionId));
    for (const request of partitionOwnership) {
      if (request.ownerId === this.options.ownerId && won.has(request.partitionId)) {
        this.held.add(request.partitionId);
      } else {
        // A renewal that lost its ETag race (412), or an abandon (owner ""): no longer ours.
        this.held.delete(request.partitionId);
      }
    }
    return claimed;
  }

  async listCheckpoints(
    fullyQualifiedNamespace: string,
    eventHubName: string,
    consumerGroup: string,
    options?: OperationOptions,
  ): Promise<Checkpoint[]> {
    const list = await this.inner.listCheckpoints(
      fullyQualifiedNamespace,
      eventHubName,
      consumerGroup,
      options,
    );
    for (const checkpoint of list) this.remember(checkpoint.partitionId, checkpoint.sequenceNumber);
    return list;
  }

  async updateCheckpoint(checkpoint: Checkpoint, options?: OperationOptions): Promise<void> {
    const { partitionId, sequenceNumber } = checkpoint;
    const context = { partitionId, sequenceNumber };
    if (!this.held.has(partitionId)) {
      throw new CheckpointRefusedError(
        "not-owner",
        `checkpoint for partition ${partitionId} at sequence number ${sequenceNumber} not written: this worker (${this.options.ownerId}) does not own the partition`,
        { context },
      );
    }
    const previous = this.last.get(partitionId);
    if (previous !== undefined && sequenceNumber < previous) {
      throw new CheckpointRefusedError(
        "backwards",
        `checkpoint for partition ${partitionId} at sequence number ${sequenceNumber} not written: it would move the checkpoint back from ${previous}`,
        { context: { ...context, previous } },
      );
    }
    if (previous === sequenceNumber) return;
    try {
      await this.inner.updateCheckpoint(checkpoint, options);
    } catch (err) {
      throw new CheckpointError(
        `checkpoint for partition ${partitionId} at sequence number ${sequenceNumber} not written: ${describeStoreError(err)}`,
        { cause: err, retriable: true, context },
      );
    }
    this.remember(partitionId, sequenceNumber);
  }

  private remember(partitionId: string, sequenceNumber: number): void {
    const previous = this.last.get(partitionId);
    if (previous === undefined || sequenceNumber > previous) this.last.set(partitionId, sequenceNumber);
  }
}

/** A short, secret-free description of a store failure: HTTP status and code when there are any. */
function describeStoreError(err: unknown): string {
  if (typeof err !== "object" || err === null) return String(err);
  const e = err as { statusCode?: unknown; code?: unknown; name?: unknown };
  const parts = [e.name, e.statusCode, e.code].filter((p) => p !== undefined && p !== null).map(String);
  return parts.length > 0 ? parts.join(" ") : "unknown error";
}
