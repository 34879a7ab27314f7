/**
 * What one owner knows of the partitions it holds, as the guarded store learns it from claims,
 * listings and checkpoint writes: which partitions they are, the last ownership it claimed or
 * listed of each (its ETag gives the partition up), when the ownership was last confirmed (so that
 * a checkpoint within the ownership-check window may skip the ownership read), and when the last
 * successful claim or renewal started. That last age is what `worker/partition/ownership-gate.ts`
 * reads to pause admission during a storage outage: others count the expiry from that write.
 */
import type { PartitionOwnership } from "@azure/event-hubs";

/** See the module comment. */
export class HeldPartitions {
  private readonly held = new Set<string>();
  /** The last ownership this owner claimed or listed per partition: its ETag releases it. */
  private readonly claims = new Map<string, PartitionOwnership>();
  /** When ownership of a held partition was last confirmed (clock milliseconds). */
  private readonly confirmedAt = new Map<string, number>();
  /** When the last successful claim or renewal of a held partition started (clock milliseconds). */
  private readonly renewedAt = new Map<string, number>();

  /**
   * @param checkIntervalMs - how long a confirmation is trusted, milliseconds; 0 keeps none.
   * @param clock - monotonic milliseconds.
   */
  constructor(
    private readonly checkIntervalMs: number,
    private readonly clock: () => number,
  ) {}

  /** Whether this owner holds the partition. */
  has(partitionId: string): boolean {
    return this.held.has(partitionId);
  }

  /** Held partitions, sorted numerically. */
  ids(): string[] {
    return [...this.held].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  }

  /** The last ownership claimed or listed of the partition, if any is kept. */
  claimOf(partitionId: string): PartitionOwnership | undefined {
    return this.claims.get(partitionId);
  }

  /** A claim or renewal sent at `startedAt` (clock milliseconds) won the partition. */
  won(ownership: PartitionOwnership, startedAt: number): void {
    const { partitionId } = ownership;
    this.held.add(partitionId);
    this.claims.set(partitionId, { ...ownership });
    this.confirm(partitionId);
    this.renewedAt.set(partitionId, startedAt);
  }

  /** A listing named this owner for a partition it holds. */
  listed(ownership: PartitionOwnership): void {
    this.claims.set(ownership.partitionId, { ...ownership });
    this.confirm(ownership.partitionId);
  }

  /** Notes that this owner was just seen to hold the partition (only when the window is on). */
  confirm(partitionId: string): void {
    if (this.checkIntervalMs > 0) this.confirmedAt.set(partitionId, this.clock());
  }

  /** Whether a confirmation of a held partition is recent enough to skip the ownership read. */
  recentlyConfirmed(partitionId: string): boolean {
    if (this.checkIntervalMs <= 0 || !this.held.has(partitionId)) return false;
    const at = this.confirmedAt.get(partitionId);
    return at !== undefined && this.clock() - at < this.checkIntervalMs;
  }

  /**
   * Milliseconds since the last successful claim or renewal was sent (the blob's write time is no
   * earlier); undefined when this owner does not hold the partition.
   */
  renewalAgeMs(partitionId: string): number | undefined {
    const at = this.renewedAt.get(partitionId);
    return at === undefined ? undefined : this.clock() - at;
  }

  /**
   * The partition is held no more, but its last claim is kept: should the record still name this
   * owner, giving it up under that ETag still works. Returns whether it was held.
   */
  drop(partitionId: string): boolean {
    this.confirmedAt.delete(partitionId);
    this.renewedAt.delete(partitionId);
    return this.held.delete(partitionId);
  }

  /** Forgets the partition, its last claim included. Returns whether it was held. */
  forget(partitionId: string): boolean {
    this.claims.delete(partitionId);
    return this.drop(partitionId);
  }
}
