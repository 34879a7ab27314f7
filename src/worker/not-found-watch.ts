/**
 * Which partitions' receivers the service lately refused or detached with not-found. A consumer
 * group (or hub) deleted under a running worker does not stop it: the SDK closes the pump, the
 * load balancer claims the partition again, the attach is refused again, every loop, while the
 * process looks healthy. Readiness reads this to say so. A batch from a partition (an empty one
 * after the wait time counts) means its receiver attached, which clears it.
 */

/** Partitions whose receivers were refused with not-found within the watch's window. */
export interface EntityNotFoundStatus {
  /** The partitions, by partition id order. */
  readonly partitionIds: readonly string[];
  /** When the last refusal was seen, epoch milliseconds. */
  readonly lastSeenAtMs: number;
}

/** See the module comment. */
export class NotFoundWatch {
  /** Per partition: when the last not-found was seen, epoch ms. */
  private readonly seenAtMs = new Map<string, number>();

  /**
   * @param windowMs A refusal counts for this many milliseconds; pick a few load-balancing
   *   intervals, the pace at which the SDK claims the partition again and is refused again.
   * @param clock Epoch milliseconds; default Date.now.
   */
  constructor(
    private readonly windowMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The service refused or detached the partition's receiver with not-found. */
  seen(partitionId: string): void {
    this.seenAtMs.set(partitionId, this.clock());
  }

  /** The partition's receiver delivered a batch: it is attached, so the entity exists. */
  received(partitionId: string): void {
    if (this.seenAtMs.size > 0) this.seenAtMs.delete(partitionId);
  }

  /** The partitions refused within the window, or undefined when there are none. */
  status(): EntityNotFoundStatus | undefined {
    const since = this.clock() - this.windowMs;
    let lastSeenAtMs = 0;
    const partitionIds: string[] = [];
    for (const [partitionId, atMs] of this.seenAtMs) {
      if (atMs < since) {
        this.seenAtMs.delete(partitionId);
        continue;
      }
      partitionIds.push(partitionId);
      lastSeenAtMs = Math.max(lastSeenAtMs, atMs);
    }
    if (partitionIds.length === 0) return undefined;
    partitionIds.sort((a, b) => Number(a) - Number(b));
    return { partitionIds, lastSeenAtMs };
  }
}
