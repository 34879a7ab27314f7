/**
 * The lag of one owned partition as the worker sees it, for `/metrics`: by count from its
 * checkpoint (what KEDA's blobMetadata scaler computes from the same blob), and by age from the
 * enqueued times of the events it holds. Pure.
 *
 * Age: the worker knows the enqueued time of every event it received and has not completed, so
 * the oldest of those is the oldest unprocessed event, at no cost beyond keeping one Date per
 * tracked event. When it holds none and the partition has events it has not received yet, the
 * next one's enqueued time is unknown; the newest event's age (from the partition properties) is
 * then reported, which is a lower bound. That state lasts only until the SDK delivers its next
 * batch.
 */
import { partitionLag, retentionLeftSeconds, unprocessedAgeSeconds } from "../observability/lag.js";
import type { PartitionStatus } from "../worker/partition/types.js";

/** What the worker last read of the partition's properties. */
export interface KnownPartitionProperties {
  readonly lastEnqueuedSequenceNumber: number;
  readonly lastEnqueuedTimeMs: number;
  readonly beginningSequenceNumber: number;
}

/** Inputs of {@link ownedPartitionLag}. */
export interface OwnedPartitionLagInputs {
  /** The partition's properties, undefined until first read. */
  readonly properties: KnownPartitionProperties | undefined;
  /** Sequence number of the checkpoint the ownership started from, if any. */
  readonly claimCheckpointSequenceNumber: number | undefined;
  /** Sequence number of the last event received in this ownership, if any. */
  readonly lastReceivedSequenceNumber: number | undefined;
  /** The processor's status; undefined when the worker reports none for the partition. */
  readonly status: Pick<PartitionStatus, "lastCheckpoint" | "oldestIncompleteEnqueuedTimeMs"> | undefined;
  readonly nowMs: number;
  /** The hub's retention, ms; undefined when not known. */
  readonly retentionMs: number | undefined;
}

/** The lag figures of one partition; undefined = not known (no sample). */
export interface OwnedPartitionLag {
  /** Events after the checkpoint (the last one written, else the one the ownership started from). */
  readonly checkpointLagEvents: number | undefined;
  /** Seconds since the oldest unprocessed event was enqueued; 0 when caught up. */
  readonly oldestUnprocessedAgeSeconds: number | undefined;
  /** Seconds before retention may drop that event; undefined without retention or when caught up. */
  readonly retentionLeftSeconds: number | undefined;
}

/** See the module comment. */
export function ownedPartitionLag(inputs: OwnedPartitionLagInputs): OwnedPartitionLag {
  const { properties, status, nowMs } = inputs;
  const checkpoint = status?.lastCheckpoint?.sequenceNumber ?? inputs.claimCheckpointSequenceNumber;
  const checkpointLagEvents =
    properties === undefined ? undefined : partitionLag({ ...properties, isEmpty: false }, checkpoint);
  const oldest = oldestUnprocessedEnqueuedTimeMs(inputs);
  return {
    checkpointLagEvents,
    oldestUnprocessedAgeSeconds: unprocessedAgeSeconds(oldest, nowMs),
    retentionLeftSeconds: retentionLeftSeconds(oldest, nowMs, inputs.retentionMs),
  };
}

/** Enqueued time of the oldest unprocessed event; null = none; undefined = not known. */
function oldestUnprocessedEnqueuedTimeMs(inputs: OwnedPartitionLagInputs): number | null | undefined {
  const held = inputs.status?.oldestIncompleteEnqueuedTimeMs;
  if (typeof held === "number") return held;
  if (held === undefined) return undefined;
  const { properties, lastReceivedSequenceNumber: received } = inputs;
  if (properties === undefined) return received === undefined ? undefined : null;
  const behind =
    received === undefined
      ? properties.lastEnqueuedSequenceNumber >= properties.beginningSequenceNumber
      : properties.lastEnqueuedSequenceNumber > received;
  return behind ? properties.lastEnqueuedTimeMs : null;
}
