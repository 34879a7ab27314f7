/**
 * The checkpoint store the SDK and the partition processors write through. It wraps the real store
 * (BlobCheckpointStore) for listing and for ETag-conditional claims, and does itself, in the same
 * blob layout, the two writes BlobCheckpointStore makes unconditionally:
 *
 * - a first claim (no ETag) is BlobCheckpointStore's unconditional upload, so two greedy workers
 *   claiming a never-owned partition within milliseconds would both "win" and both start a pump;
 *   here it is a conditional create, and the loser is left out of the result like any 412;
 * - `updateCheckpoint` is BlobCheckpointStore's unconditional setMetadata, so a worker that lost a
 *   partition could still write, and move the checkpoint back; here each write first checks the
 *   ownership blob (or trusts a check or claim of the last `ownershipCheckIntervalMs`), then writes
 *   only above the stored sequence number, under the stored ETag.
 *
 * What it learns of the partitions it holds (claims, confirmations, renewal ages, which pause
 * admission during a storage outage) is kept in held-partitions.ts.
 *
 * Whenever it learns that a partition is no longer this worker's (a checkpoint write finds another
 * owner, a listing names another owner, a renewal loses its ETag race) it says so through `onLost`,
 * so that processing stops at once rather than when the SDK notices the stolen link.
 */
import type { Checkpoint, CheckpointStore, OperationOptions, PartitionOwnership } from "@azure/event-hubs";
import { CheckpointError, EhwError, type EhwErrorOptions } from "../common/errors.js";
import { type Logger, silentLogger } from "../observability/logger.js";
import type { PartitionRecords } from "./blob-records.js";
import type { ClaimScreen } from "./handover.js";
import { HeldPartitions } from "./held-partitions.js";

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

/**
 * Thrown from `processEvents` once a partition is known to be lost. Its `code` is the one the SDK's
 * PartitionPump tests (`err.code === "ReceiverDisconnectedError"` with `retryable` not set): the
 * pump then stops with CloseReason.OwnershipLost and stops receiving, and since the load balancer
 * renews only partitions it is receiving from, it stops renewing the partition too.
 */
export class PartitionLostError extends EhwError {
  /** The SDK reads `retryable` (not our `retriable`): false closes the pump. */
  readonly retryable = false;

  constructor(partitionId: string, reason: string) {
    super("ReceiverDisconnectedError", `partition ${partitionId} is owned by another worker (${reason})`, {
      retriable: false,
      context: { partitionId },
    });
  }
}

/** Options of {@link GuardedCheckpointStore}. */
export interface GuardedCheckpointStoreOptions {
  /** Owner id of this worker (the client's `identifier`); claims under another id are ignored. */
  readonly ownerId: string;
  /** Conditional reads and writes of the ownership and checkpoint blobs. */
  readonly records: PartitionRecords;
  /** Called once each time the store learns that a partition it held is held no more. */
  readonly onLost?: (partitionId: string, reason: string) => void;
  /** Called after each successful claim or renewal of a partition's ownership by this owner. */
  readonly onRenewed?: (partitionId: string) => void;
  /** Conditional checkpoint writes tried before giving up on a contended blob; default 3. */
  readonly maxWriteAttempts?: number;
  /**
   * Milliseconds for which a confirmation that this owner holds a partition — its ownership blob
   * read before a checkpoint, a successful claim or renewal, a listing naming it — is trusted, so
   * that a checkpoint in that time skips the ownership read (about as costly as the write itself,
   * and at ~100 events per checkpoint the largest cost per event). Default 0: read before every
   * write. The trade-off of a positive value: a worker that has learned of a loss (listing,
   * renewal, refused write, OwnershipLost) still never writes; but after a steal it has not heard
   * of yet it may, within this window, write a checkpoint for events it did finish. That write is
   * still conditional and never moves the checkpoint back, and the new owner's later writes pass
   * it; at worst the new owner's start position was older than the blob is now, which only means
   * duplicates it would have had anyway.
   */
  readonly ownershipCheckIntervalMs?: number;
  /** Monotonic milliseconds for the ownership-check window and renewal ages; default `performance.now`. */
  readonly clock?: () => number;
  /** Logger; default silent. */
  readonly logger?: Logger;
  /**
   * Sees every listing and screens every claim (cooperative hand-over, handover.ts); default none:
   * claims go to storage as the SDK makes them.
   */
  readonly handover?: ClaimScreen;
}

/** The narrow view a partition processor needs of the guarded store. */
export interface CheckpointWriter {
  /** Writes a checkpoint, or rejects (CheckpointRefusedError when the guard refuses it). */
  updateCheckpoint(checkpoint: Checkpoint): Promise<void>;
  /** Records that this worker lost the partition; later writes for it are refused. */
  markLost(partitionId: string): void;
}

/** Marks "known: there is no checkpoint blob" in the ETag cache (a missing entry means unknown). */
const ABSENT = null;

/**
 * A CheckpointStore wrapper for one subscription (one namespace, hub and consumer group; partitions
 * are keyed by id alone); see the module comment. `updateCheckpoint` refuses, with
 * {@link CheckpointRefusedError}, a partition this owner does not hold (locally, or according to
 * its ownership blob) and a sequence number below the last one written or read; a stored
 * checkpoint at or above the position is left as it is.
 */
export class GuardedCheckpointStore implements CheckpointStore, CheckpointWriter {
  private readonly held: HeldPartitions;
  private readonly last = new Map<string, number>();
  private readonly checkpointEtags = new Map<string, string | typeof ABSENT>();
  private readonly writes = new Map<string, Promise<unknown>>();
  private readonly clock: () => number;
  private readonly logger: Logger;

  constructor(
    private readonly inner: CheckpointStore,
    private readonly options: GuardedCheckpointStoreOptions,
  ) {
    this.logger = (options.logger ?? silentLogger()).child({ component: "checkpoint-store" });
    this.clock = options.clock ?? (() => performance.now());
    this.held = new HeldPartitions(options.ownershipCheckIntervalMs ?? 0, this.clock);
  }

  /** Whether this owner holds the partition, as far as the claims and losses seen tell. */
  owns(partitionId: string): boolean {
    return this.held.has(partitionId);
  }

  /** Partitions this owner holds, sorted numerically. */
  ownedPartitions(): string[] {
    return this.held.ids();
  }

  /**
   * Milliseconds since the last successful claim or renewal was sent (the blob's write time is no
   * earlier); undefined when this owner does not hold the partition.
   */
  renewalAgeMs(partitionId: string): number | undefined {
    return this.held.renewalAgeMs(partitionId);
  }

  /** The highest checkpoint sequence number written or read for a partition, if any. */
  lastSequenceNumber(partitionId: string): number | undefined {
    return this.last.get(partitionId);
  }

  markLost(partitionId: string): void {
    if (this.held.drop(partitionId)) this.logger.debug({ partitionId }, "partition marked lost");
  }

  /**
   * Gives the partition up now, as the SDK's own abandon does at close (owner id "" under the last
   * ETag seen), so that the next load-balancing loop anywhere may claim it instead of waiting for
   * the ownership to expire. Resolves false when there was nothing to release or the record had
   * already changed (412).
   */
  async relinquish(partitionId: string): Promise<boolean> {
    const claim = this.held.claimOf(partitionId);
    this.held.forget(partitionId);
    if (claim === undefined) return false;
    if ((await this.inner.claimOwnership([{ ...claim, ownerId: "" }])).length > 0) return true;
    // A renewal may have changed the ETag since: give up under the current one if it is still ours.
    const record = await this.options.records.readOwnership(claim);
    if (record?.ownerId !== this.options.ownerId) return false;
    const retried = await this.inner.claimOwnership([{ ...claim, ownerId: "", etag: record.etag }]);
    return retried.length > 0;
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
    for (const ownership of list) {
      if (!this.held.has(ownership.partitionId)) continue;
      if (ownership.ownerId === this.options.ownerId) {
        this.held.listed(ownership);
        continue;
      }
      // Another owner's record means the partition was taken even if our receiver has not noticed
      // yet (the SDK learns it only when the link is stolen): stop processing it now.
      this.lose(ownership.partitionId, "ownership record names another owner", {
        newOwner: ownership.ownerId || "(none)",
      });
    }
    await this.options.handover?.listed({ fullyQualifiedNamespace, eventHubName, consumerGroup }, list);
    return list;
  }

  async claimOwnership(
    partitionOwnership: PartitionOwnership[],
    options?: OperationOptions,
  ): Promise<PartitionOwnership[]> {
    const screen = this.options.handover;
    const requests = screen === undefined ? partitionOwnership : await screen.screen(partitionOwnership);
    const startedAt = this.clock();
    const claimed: PartitionOwnership[] = [];
    const conditional: PartitionOwnership[] = [];
    for (const request of requests) {
      // The load balancer sends no ETag for a partition that has no ownership blob yet.
      if (request.etag === undefined && request.ownerId !== "") {
        const created = await this.options.records.createOwnership(request);
        if (created !== undefined) {
          this.logger.debug({ partitionId: request.partitionId }, "ownership record created");
          claimed.push(created);
        }
      } else {
        conditional.push(request);
      }
    }
    if (conditional.length > 0) claimed.push(...(await this.inner.claimOwnership(conditional, options)));
    // Claims the screen held back were never made: they are neither won nor lost.
    this.recordClaims(requests, claimed, startedAt);
    screen?.claimed(requests, claimed);
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

  /**
   * Writes a checkpoint if this worker owns the partition (locally and in its ownership blob) and
   * the stored checkpoint is below it. Writes of one partition run one after another.
   */
  updateCheckpoint(checkpoint: Checkpoint, _options?: OperationOptions): Promise<void> {
    const { partitionId } = checkpoint;
    const before = this.writes.get(partitionId) ?? Promise.resolve();
    const next = before.catch(() => undefined).then(() => this.guardedWrite(checkpoint));
    this.writes.set(partitionId, next);
    void next
      .catch(() => undefined)
      .then(() => {
        if (this.writes.get(partitionId) === next) this.writes.delete(partitionId);
      });
    return next;
  }

  private async guardedWrite(checkpoint: Checkpoint): Promise<void> {
    const { partitionId, sequenceNumber } = checkpoint;
    const context = { partitionId, sequenceNumber };
    this.refuseUnlessHeld(checkpoint);
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
      if (!this.held.recentlyConfirmed(partitionId)) {
        const owner = await this.options.records.readOwnership(checkpoint);
        if (owner?.ownerId === this.options.ownerId) this.held.confirm(partitionId);
        else {
          this.lose(partitionId, "checkpoint refused: ownership record names another owner", {
            newOwner: owner?.ownerId || "(none)",
          });
        }
        this.refuseUnlessHeld(checkpoint);
      }
      await this.writeAbove(checkpoint);
    } catch (err) {
      if (err instanceof EhwError) throw err;
      throw new CheckpointError(
        `checkpoint for partition ${partitionId} at sequence number ${sequenceNumber} not written: ${describeStoreError(err)}`,
        { cause: err, retriable: true, context },
      );
    }
  }

  /**
   * The conditional write: under the checkpoint blob's ETag (or only if it is absent), and only
   * above the stored sequence number. The ETag of our own last write is tried first, which saves a
   * read per checkpoint while nobody else writes; a 412 re-reads and decides again.
   */
  private async writeAbove(checkpoint: Checkpoint): Promise<void> {
    const { partitionId, sequenceNumber } = checkpoint;
    const { records } = this.options;
    const attempts = this.options.maxWriteAttempts ?? 3;
    let etag = this.checkpointEtags.get(partitionId);
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      if (etag === undefined) {
        const stored = await records.readCheckpoint(checkpoint);
        if (stored !== undefined && stored.sequenceNumber >= sequenceNumber) {
          this.checkpointEtags.set(partitionId, stored.etag);
          this.remember(partitionId, stored.sequenceNumber);
          this.logger.debug(
            { partitionId, sequenceNumber, stored: stored.sequenceNumber },
            "stored checkpoint at or past this one; not written",
          );
          return;
        }
        etag = stored?.etag ?? ABSENT;
      }
      const written = await records.writeCheckpoint(checkpoint, etag ?? undefined);
      if (written !== undefined) {
        this.checkpointEtags.set(partitionId, written);
        this.remember(partitionId, sequenceNumber);
        return;
      }
      etag = undefined;
      this.checkpointEtags.delete(partitionId);
    }
    throw new CheckpointError(
      `checkpoint for partition ${partitionId} at sequence number ${sequenceNumber} not written: the checkpoint blob changed under ${attempts} conditional writes in a row`,
      { retriable: true, context: { partitionId, sequenceNumber } },
    );
  }

  private refuseUnlessHeld(checkpoint: Checkpoint): void {
    if (this.held.has(checkpoint.partitionId)) return;
    const { partitionId, sequenceNumber } = checkpoint;
    throw new CheckpointRefusedError(
      "not-owner",
      `checkpoint for partition ${partitionId} at sequence number ${sequenceNumber} not written: this worker (${this.options.ownerId}) does not own the partition`,
      { context: { partitionId, sequenceNumber } },
    );
  }

  /** Held partitions follow the claim results; a renewal missing from them lost an ETag race. */
  private recordClaims(
    requests: readonly PartitionOwnership[],
    claimed: readonly PartitionOwnership[],
    startedAt: number,
  ): void {
    const won = new Map<string, PartitionOwnership>();
    for (const o of claimed) if (o.ownerId === this.options.ownerId) won.set(o.partitionId, o);
    for (const request of requests) {
      const { partitionId } = request;
      const ownership = won.get(partitionId);
      if (request.ownerId === this.options.ownerId && ownership !== undefined) {
        this.held.won(ownership, startedAt);
        this.options.onRenewed?.(partitionId);
      } else if (request.ownerId === this.options.ownerId) {
        this.lose(partitionId, "ownership renewal lost its ETag race", {});
      } else {
        // An abandon (owner ""): given up on purpose, nothing to stop.
        this.held.forget(partitionId);
      }
    }
  }

  private lose(partitionId: string, reason: string, fields: Record<string, unknown>): void {
    if (!this.held.forget(partitionId)) return;
    this.logger.info({ partitionId, ...fields }, reason);
    this.options.onLost?.(partitionId, reason);
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
