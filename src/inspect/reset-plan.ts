/**
 * The pure part of `ehw checkpoints reset`: what `--to` means, which event a worker should start at,
 * which checkpoint makes it start there, and whether a live owner forbids the reset.
 *
 * How a checkpoint is used (@azure/event-hubs 6.0.4, EventProcessor): a worker that claims a
 * partition with a checkpoint starts at `{ offset: checkpoint.offset }`, exclusive, i.e. at the event
 * after the checkpointed one; the sequence number is not used for positioning (our guarded store
 * uses it as the floor a checkpoint may not go below). Offset "-1" is the service's "before the
 * first event" (the SDK's own `earliestEventPosition`), so a checkpoint with offset "-1" starts a
 * worker at the first retained event. Deleting the checkpoint instead would hand the position to
 * each worker's `startPosition` fallback, which may be `latest`; so `earliest` writes "-1".
 */
import { ConfigError } from "../common/errors.js";
import { parseStartPositionText } from "../config/start-position.js";
import { isOwnershipExpired, type OwnershipRecord, type PartitionInfo } from "./status-rows.js";

/** Offset meaning "before the first event of the partition". */
export const BEFORE_FIRST_OFFSET = "-1";

/** Where `--to` asks workers to start. */
export type ResetTarget =
  /** The first retained event. */
  | { readonly kind: "earliest" }
  /** After the last event enqueued when the reset runs. */
  | { readonly kind: "latest" }
  /** The first event enqueued at or after this time (ms since the epoch). */
  | { readonly kind: "enqueuedTime"; readonly enqueuedOnMs: number }
  /** The event with this sequence number. */
  | { readonly kind: "sequence"; readonly sequenceNumber: number };

/** A checkpoint position: the last event processed, a worker resumes after `offset`. */
export interface CheckpointPosition {
  readonly sequenceNumber: number;
  readonly offset: string;
}

/** Parses `earliest`, `latest`, an ISO-8601 time (with Z or an offset) or `seq:<n>`. */
export function parseResetTarget(text: string): ResetTarget {
  const seq = /^seq:([0-9]+)$/.exec(text);
  if (seq?.[1] !== undefined) {
    const sequenceNumber = Number(seq[1]);
    if (Number.isSafeInteger(sequenceNumber)) return { kind: "sequence", sequenceNumber };
  }
  const spec = parseStartPositionText(text);
  if (spec !== undefined) return spec;
  throw new ConfigError(
    `--to ${JSON.stringify(text)} is not earliest, latest, an ISO-8601 time such as 2024-05-01T12:00:00Z, or seq:<n> such as seq:1200`,
    { context: { setting: "--to" } },
  );
}

/** Text form of a target, for output. */
export function describeResetTarget(target: ResetTarget): string {
  switch (target.kind) {
    case "earliest":
    case "latest":
      return target.kind;
    case "enqueuedTime":
      return new Date(target.enqueuedOnMs).toISOString();
    case "sequence":
      return `seq:${target.sequenceNumber}`;
  }
}

/** First sequence number a reader can get: the first retained one (never below 0). */
function firstRetained(partition: PartitionInfo): number {
  return Math.max(partition.beginningSequenceNumber, 0);
}

/** Sequence number the next enqueued event will get. */
function nextToEnqueue(partition: PartitionInfo): number {
  return Math.max(firstRetained(partition), partition.lastEnqueuedSequenceNumber + 1);
}

/**
 * Where a worker should start, as far as the partition's properties tell: `start` with the
 * sequence number of the first event to read (and a note when the request was adjusted), or
 * `findTime` when only reading the partition can tell (the first event at or after a time).
 */
export type StartDecision =
  | { readonly kind: "start"; readonly sequenceNumber: number; readonly note?: string }
  | { readonly kind: "findTime"; readonly atOrAfterMs: number };

/**
 * The first event to read after the reset. Throws ConfigError for `seq:n` past the next event to
 * be enqueued (a worker cannot start at an event that does not exist yet, and a later one would
 * make it skip whatever arrives in between).
 */
export function startDecision(target: ResetTarget, partition: PartitionInfo): StartDecision {
  const first = firstRetained(partition);
  const next = nextToEnqueue(partition);
  switch (target.kind) {
    case "earliest":
      return { kind: "start", sequenceNumber: first };
    case "latest":
      return { kind: "start", sequenceNumber: next };
    case "enqueuedTime":
      // Nothing enqueued at or after the time yet: start after the last event.
      if (partition.isEmpty || partition.lastEnqueuedOnUtc.getTime() < target.enqueuedOnMs) {
        return { kind: "start", sequenceNumber: next, note: "nothing enqueued at or after the time yet" };
      }
      return { kind: "findTime", atOrAfterMs: target.enqueuedOnMs };
    case "sequence": {
      const n = target.sequenceNumber;
      if (n > next) {
        throw new ConfigError(
          `--to seq:${n} is past the end of partition ${partition.partitionId} (last enqueued ${partition.lastEnqueuedSequenceNumber}; the latest position is seq:${next})`,
          { context: { setting: "--to", partitionId: partition.partitionId } },
        );
      }
      if (n < first) {
        return {
          kind: "start",
          sequenceNumber: first,
          note: `seq:${n} is no longer retained; starts at the first retained event ${first}`,
        };
      }
      return { kind: "start", sequenceNumber: n };
    }
  }
}

/** The start after a time lookup: the first event found, or after the last one when none was. */
export function startAfterTimeLookup(
  partition: PartitionInfo,
  foundSequenceNumber: number | undefined,
): number {
  return foundSequenceNumber ?? nextToEnqueue(partition);
}

/**
 * The checkpoint that makes a worker start at `startSequenceNumber`: the event before it. Known
 * without reading when that is "before the first retained event" (offset "-1") or the last enqueued
 * event (its offset is a partition property); otherwise the event's offset must be read.
 */
export type CheckpointDecision =
  | { readonly kind: "checkpoint"; readonly checkpoint: CheckpointPosition }
  | { readonly kind: "readOffsetOf"; readonly sequenceNumber: number };

/** See {@link CheckpointDecision}. */
export function checkpointForStart(
  startSequenceNumber: number,
  partition: PartitionInfo,
): CheckpointDecision {
  const first = firstRetained(partition);
  if (startSequenceNumber <= first) {
    return { kind: "checkpoint", checkpoint: { sequenceNumber: first - 1, offset: BEFORE_FIRST_OFFSET } };
  }
  if (!partition.isEmpty && startSequenceNumber === partition.lastEnqueuedSequenceNumber + 1) {
    return {
      kind: "checkpoint",
      checkpoint: {
        sequenceNumber: partition.lastEnqueuedSequenceNumber,
        offset: partition.lastEnqueuedOffset,
      },
    };
  }
  return { kind: "readOffsetOf", sequenceNumber: startSequenceNumber - 1 };
}

/** A partition whose ownership record names a live owner. */
export interface LiveOwner {
  readonly partitionId: string;
  readonly ownerId: string;
  /** Whole seconds since the owner last renewed. */
  readonly secondsSinceRenewal: number;
}

/**
 * The chosen partitions held by a live owner (non-empty owner id, renewed within the expiry), in
 * the order of `partitionIds`. Relinquished and expired records do not hold a partition.
 */
export function liveOwners(
  partitionIds: readonly string[],
  ownerships: readonly OwnershipRecord[],
  nowMs: number,
  ownershipExpirationMs: number,
): LiveOwner[] {
  const byId = new Map(ownerships.map((o) => [o.partitionId, o]));
  const out: LiveOwner[] = [];
  for (const partitionId of partitionIds) {
    const o = byId.get(partitionId);
    if (o === undefined || isOwnershipExpired(o, nowMs, ownershipExpirationMs)) continue;
    const renewed = o.lastModifiedTimeInMs ?? nowMs;
    out.push({
      partitionId,
      ownerId: o.ownerId,
      secondsSinceRenewal: Math.max(0, Math.floor((nowMs - renewed) / 1000)),
    });
  }
  return out;
}

/** One line per live owner: "partition 3 is owned by worker-a (renewed 4 s ago)". */
export function describeLiveOwners(owners: readonly LiveOwner[]): string[] {
  return owners.map(
    (o) => `partition ${o.partitionId} is owned by ${o.ownerId} (renewed ${o.secondsSinceRenewal} s ago)`,
  );
}

/** What the reset does to one partition. */
export interface ResetPlanEntry {
  readonly partitionId: string;
  /** The checkpoint now; undefined when there is none. */
  readonly before: CheckpointPosition | undefined;
  /** The checkpoint to write. */
  readonly after: CheckpointPosition;
  /** Sequence number of the first event a worker will read after the reset. */
  readonly startSequenceNumber: number;
  /** Why the position differs from the literal request, when it does. */
  readonly note?: string;
  /** The live owner, when `--force` overrides one. */
  readonly liveOwner?: LiveOwner;
  /**
   * The partition's pending hand-over request (`handover/` blob), which the reset removes with
   * the old position: a request outliving the reset would move the partition as soon as its
   * owner id runs again.
   */
  readonly handoverRequest?: { readonly from: string; readonly to: string };
}

/** Whether writing `after` leaves the checkpoint as it is. */
export function isUnchanged(entry: Pick<ResetPlanEntry, "before" | "after">): boolean {
  return (
    entry.before !== undefined &&
    entry.before.sequenceNumber === entry.after.sequenceNumber &&
    entry.before.offset === entry.after.offset
  );
}
