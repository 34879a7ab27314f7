/**
 * The enqueued time of the first event after each partition's checkpoint, for the age of the
 * oldest unprocessed event in `ehw status`: one event read per partition whose lag is not 0,
 * all partitions at once. The reader has no epoch: it never takes a partition from a worker. In
 * the workers' own consumer group the service refuses it while a worker's epoch receiver holds
 * the partition, so the age is then read from another consumer group when one is given (the
 * position is a sequence number, the same in every group).
 */
import type { EventHubConsumerClient, EventPosition } from "@azure/event-hubs";
import { partitionLag } from "../observability/lag.js";
import { readFirstEvent } from "./event-reader.js";
import type { CheckpointRecord, PartitionInfo } from "./status-rows.js";

/** What was learnt of the first unprocessed events. */
export interface OldestUnprocessed {
  /** Enqueued time (ms since the epoch) by partition id, for the partitions read. */
  readonly enqueuedTimeMs: ReadonlyMap<string, number>;
  /** Why a partition's event could not be read, by partition id. */
  readonly problems: ReadonlyMap<string, string>;
}

/** Options of {@link readOldestUnprocessed}. */
export interface ReadOldestUnprocessedOptions {
  /** Host for error messages. */
  readonly host: string;
  /** Milliseconds to wait for each event; default 5000. */
  readonly timeoutMs?: number;
}

/**
 * Where the first unprocessed event is: after the checkpoint, or at the first retained event when
 * there is no checkpoint or retention already dropped the event after it.
 */
export function firstUnprocessedPosition(
  partition: Pick<PartitionInfo, "beginningSequenceNumber">,
  checkpointSequenceNumber: number | undefined,
): EventPosition {
  const begin = partition.beginningSequenceNumber;
  if (checkpointSequenceNumber === undefined || checkpointSequenceNumber + 1 < begin) {
    return { sequenceNumber: begin, isInclusive: true };
  }
  return { sequenceNumber: checkpointSequenceNumber, isInclusive: false };
}

/** Reads the first unprocessed event of every partition with a lag; see the module comment. */
export async function readOldestUnprocessed(
  consumer: EventHubConsumerClient,
  partitions: readonly PartitionInfo[],
  checkpoints: readonly CheckpointRecord[],
  options: ReadOldestUnprocessedOptions,
): Promise<OldestUnprocessed> {
  const checkpointOf = new Map(checkpoints.map((c) => [c.partitionId, c.sequenceNumber]));
  const enqueuedTimeMs = new Map<string, number>();
  const problems = new Map<string, string>();
  await Promise.all(
    partitions.map(async (partition) => {
      const checkpoint = checkpointOf.get(partition.partitionId);
      if (partitionLag(partition, checkpoint) === 0) return;
      try {
        const event = await readFirstEvent(
          consumer,
          partition.partitionId,
          firstUnprocessedPosition(partition, checkpoint),
          { host: options.host, timeoutMs: options.timeoutMs ?? 5000 },
        );
        if (event === undefined) problems.set(partition.partitionId, "no event arrived in time");
        else enqueuedTimeMs.set(partition.partitionId, event.enqueuedTimeMs);
      } catch (err) {
        problems.set(partition.partitionId, problemOf(err));
      }
    }),
  );
  return { enqueuedTimeMs, problems };
}

function problemOf(err: unknown): string {
  const cause = (err as { cause?: { name?: unknown; code?: unknown } } | null)?.cause;
  if (cause?.name === "ReceiverDisconnectedError" || cause?.code === "ReceiverDisconnectedError") {
    return "a worker's receiver holds the partition in this consumer group (read the age through another one with --peek-consumer-group)";
  }
  return err instanceof Error ? err.message : String(err);
}
