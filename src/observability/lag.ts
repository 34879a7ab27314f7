/**
 * Lag by count and by age: how many retained events come after the checkpoint, how old the oldest
 * unprocessed event of a partition is, and how long until the hub's retention would drop it. Pure;
 * `/metrics` (from what the worker holds), `ehw status` and the dev view (from the event after the
 * checkpoint) compute the same figures with these.
 */

/** The partition properties the count lag needs (the SDK's `PartitionProperties` has them). */
export interface PartitionEnds {
  /** Sequence number of the first retained event. */
  readonly beginningSequenceNumber: number;
  /** Sequence number of the last enqueued event. */
  readonly lastEnqueuedSequenceNumber: number;
  /** True when the partition holds no event. */
  readonly isEmpty: boolean;
}

/**
 * Lag of a partition in events: how many retained events come after the checkpoint.
 * - empty partition: 0;
 * - with a checkpoint at sequence number c: `last - c`, except that events lost to retention are
 *   not counted (the reader starts at `begin` at the earliest), so `last + 1 - max(c + 1, begin)`;
 * - without a checkpoint: every retained event, `last + 1 - begin`.
 * Never negative (a checkpoint past the end, e.g. of a recreated hub, gives 0). KEDA's
 * azure-eventhub scaler computes `last - c` from the same checkpoint blobs: the two agree unless
 * retention dropped checkpointed-but-unread events (KEDA still counts them).
 */
export function partitionLag(partition: PartitionEnds, checkpointSequenceNumber: number | undefined): number {
  if (partition.isEmpty) return 0;
  const begin = partition.beginningSequenceNumber;
  const next = checkpointSequenceNumber === undefined ? begin : Math.max(checkpointSequenceNumber + 1, begin);
  return Math.max(0, partition.lastEnqueuedSequenceNumber + 1 - next);
}

/**
 * Seconds since `enqueuedTimeMs` (the enqueued time of the oldest unprocessed event), never
 * negative (the service's clock may run ahead of ours); 0 when nothing is unprocessed
 * (`enqueuedTimeMs` null); undefined when unknown.
 */
export function unprocessedAgeSeconds(
  enqueuedTimeMs: number | null | undefined,
  nowMs: number,
): number | undefined {
  if (enqueuedTimeMs === undefined) return undefined;
  if (enqueuedTimeMs === null) return 0;
  return Math.max(0, (nowMs - enqueuedTimeMs) / 1000);
}

/**
 * Seconds left before retention removes the oldest unprocessed event (enqueued at
 * `enqueuedTimeMs`) from the partition, given the hub's retention `retentionMs`: 0 once it is due.
 * Undefined when the retention or that event is not known, or nothing is unprocessed (null).
 * Event Hubs removes events at the earliest when they are older than the retention, so this is
 * the least time left.
 */
export function retentionLeftSeconds(
  enqueuedTimeMs: number | null | undefined,
  nowMs: number,
  retentionMs: number | undefined,
): number | undefined {
  if (retentionMs === undefined || enqueuedTimeMs === undefined || enqueuedTimeMs === null) return undefined;
  return Math.max(0, (enqueuedTimeMs + retentionMs - nowMs) / 1000);
}
