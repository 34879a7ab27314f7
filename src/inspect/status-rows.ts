/**
 * The pure part of `ehw status`: one row per partition from the ownership and checkpoint records,
 * the partitions' properties and the current time, plus the totals. No I/O here, so a dashboard can
 * compute the same rows from data it fetched itself.
 */

import { partitionLag, retentionLeftSeconds, unprocessedAgeSeconds } from "../observability/lag.js";

export { partitionLag } from "../observability/lag.js";

/** The fields of an ownership record (the SDK's `PartitionOwnership`) that status reads. */
export interface OwnershipRecord {
  readonly partitionId: string;
  /** Owner id; "" when the owner relinquished the partition (`close()`). */
  readonly ownerId: string;
  /** Server time of the last claim or renewal, ms since the epoch; undefined if unknown. */
  readonly lastModifiedTimeInMs?: number;
}

/** The fields of a checkpoint (the SDK's `Checkpoint`) that status reads. */
export interface CheckpointRecord {
  readonly partitionId: string;
  /** Sequence number of the last event processed. */
  readonly sequenceNumber: number;
  /** Offset of that event; the position a worker resumes after. "-1" = before the first event. */
  readonly offset: string;
}

/** The fields of the SDK's `PartitionProperties` that status reads. */
export interface PartitionInfo {
  readonly partitionId: string;
  /** Sequence number of the first retained event. */
  readonly beginningSequenceNumber: number;
  /** Sequence number of the last enqueued event (-1 or begin-1 when empty). */
  readonly lastEnqueuedSequenceNumber: number;
  /** Offset of the last enqueued event ("-1" when empty). */
  readonly lastEnqueuedOffset: string;
  /** Enqueued time of the last event. */
  readonly lastEnqueuedOnUtc: Date;
  /** True when the partition holds no event. */
  readonly isEmpty: boolean;
}

/**
 * Who holds a partition: `owned` (live owner), `expired` (an owner id whose record was not renewed
 * within the expiry: the owner is gone and any worker may claim it), `relinquished` (owner id "",
 * written by a clean shutdown), `unowned` (no ownership record at all).
 */
export type OwnershipState = "owned" | "expired" | "relinquished" | "unowned";

/** One partition as `ehw status` shows it. */
export interface PartitionStatusRow {
  readonly partitionId: string;
  /** Owner id from the record; "" = relinquished; undefined = no record. */
  readonly ownerId: string | undefined;
  readonly ownershipState: OwnershipState;
  /** When the owner last claimed or renewed, ms since the epoch; undefined when unknown. */
  readonly lastRenewedMs: number | undefined;
  /** Whole seconds from the last renewal to `nowMs` (never negative); undefined when unknown. */
  readonly secondsSinceRenewal: number | undefined;
  /** The checkpoint, if any. */
  readonly checkpoint: { readonly sequenceNumber: number; readonly offset: string } | undefined;
  readonly beginningSequenceNumber: number;
  readonly lastEnqueuedSequenceNumber: number;
  readonly lastEnqueuedOffset: string;
  /** Enqueued time of the last event, ms since the epoch; undefined when the partition is empty. */
  readonly lastEnqueuedTimeMs: number | undefined;
  readonly isEmpty: boolean;
  /** Events a worker resuming from the checkpoint would still read; see {@link partitionLag}. */
  readonly lag: number;
  /**
   * Enqueued time of the first event after the checkpoint, ms since the epoch; null when there is
   * none (lag 0); undefined when it was not read.
   */
  readonly oldestUnprocessedEnqueuedTimeMs?: number | null | undefined;
  /** Seconds since that event was enqueued; 0 when lag is 0; undefined when not read. */
  readonly oldestUnprocessedAgeSeconds?: number | undefined;
  /** Seconds before retention may drop that event; undefined without a known retention or event. */
  readonly retentionLeftSeconds?: number | undefined;
}

/** Totals below the table. */
export interface StatusTotals {
  /** Partitions of the hub. */
  readonly partitions: number;
  /** Distinct live owners. */
  readonly owners: number;
  /** Live partitions per live owner id, owners sorted by id. */
  readonly partitionsPerOwner: Readonly<Record<string, number>>;
  /** Partitions in each ownership state. */
  readonly byState: Readonly<Record<OwnershipState, number>>;
  /** Sum of the partitions' lag, events. */
  readonly totalLag: number;
}

/** Inputs of {@link computeStatusRows}. */
export interface StatusInputs {
  /** The hub's partition ids, in the hub's order; rows follow it. */
  readonly partitionIds: readonly string[];
  readonly partitions: readonly PartitionInfo[];
  readonly ownerships: readonly OwnershipRecord[];
  readonly checkpoints: readonly CheckpointRecord[];
  /** The time the records were read, ms since the epoch. */
  readonly nowMs: number;
  /** The fleet's ownership expiry, ms (the worker's default is 60000). */
  readonly ownershipExpirationMs: number;
  /**
   * Enqueued time of the first event after each partition's checkpoint (ms since the epoch), by
   * partition id, for partitions whose lag is not 0; a partition not in the map has no known age.
   */
  readonly oldestUnprocessedEnqueuedTimeMs?: ReadonlyMap<string, number>;
  /** The hub's message retention, ms; undefined = unknown. */
  readonly retentionMs?: number | undefined;
}

/**
 * Whether an ownership no longer protects its partition, by the SDK's own rule (its load balancer
 * counts an ownership as active when it has an owner id and `now - lastModified < expiry`). A
 * relinquished record ("" owner) counts as expired; so does one without a modification time.
 */
export function isOwnershipExpired(
  ownership: Pick<OwnershipRecord, "ownerId" | "lastModifiedTimeInMs">,
  nowMs: number,
  ownershipExpirationMs: number,
): boolean {
  if (ownership.ownerId === "" || ownership.lastModifiedTimeInMs === undefined) return true;
  return nowMs - ownership.lastModifiedTimeInMs >= ownershipExpirationMs;
}

/** The state of a partition's ownership record (undefined = no record). */
export function ownershipState(
  ownership: OwnershipRecord | undefined,
  nowMs: number,
  ownershipExpirationMs: number,
): OwnershipState {
  if (ownership === undefined) return "unowned";
  if (ownership.ownerId === "") return "relinquished";
  return isOwnershipExpired(ownership, nowMs, ownershipExpirationMs) ? "expired" : "owned";
}

/** One row per partition id of the hub, in the hub's order. */
export function computeStatusRows(inputs: StatusInputs): PartitionStatusRow[] {
  const ownershipById = new Map(inputs.ownerships.map((o) => [o.partitionId, o]));
  const checkpointById = new Map(inputs.checkpoints.map((c) => [c.partitionId, c]));
  const infoById = new Map(inputs.partitions.map((p) => [p.partitionId, p]));
  return inputs.partitionIds.map((partitionId) => {
    const info = infoById.get(partitionId);
    if (info === undefined) throw new TypeError(`no properties for partition ${partitionId}`);
    const ownership = ownershipById.get(partitionId);
    const checkpoint = checkpointById.get(partitionId);
    const renewed = ownership?.lastModifiedTimeInMs;
    const lag = partitionLag(info, checkpoint?.sequenceNumber);
    const oldest = lag === 0 ? null : inputs.oldestUnprocessedEnqueuedTimeMs?.get(partitionId);
    return {
      partitionId,
      ownerId: ownership?.ownerId,
      ownershipState: ownershipState(ownership, inputs.nowMs, inputs.ownershipExpirationMs),
      lastRenewedMs: renewed,
      // Blob times are the server's clock: a skewed local clock must not show negative ages.
      secondsSinceRenewal:
        renewed === undefined ? undefined : Math.max(0, Math.floor((inputs.nowMs - renewed) / 1000)),
      checkpoint:
        checkpoint === undefined
          ? undefined
          : { sequenceNumber: checkpoint.sequenceNumber, offset: checkpoint.offset },
      beginningSequenceNumber: info.beginningSequenceNumber,
      lastEnqueuedSequenceNumber: info.lastEnqueuedSequenceNumber,
      lastEnqueuedOffset: info.lastEnqueuedOffset,
      lastEnqueuedTimeMs: info.isEmpty ? undefined : info.lastEnqueuedOnUtc.getTime(),
      isEmpty: info.isEmpty,
      lag,
      oldestUnprocessedEnqueuedTimeMs: oldest,
      oldestUnprocessedAgeSeconds: unprocessedAgeSeconds(oldest, inputs.nowMs),
      retentionLeftSeconds: retentionLeftSeconds(oldest, inputs.nowMs, inputs.retentionMs),
    };
  });
}

/** Owners, partitions per owner (live ownerships only), partitions per state and total lag. */
export function computeStatusTotals(rows: readonly PartitionStatusRow[]): StatusTotals {
  const perOwner = new Map<string, number>();
  const byState: Record<OwnershipState, number> = { owned: 0, expired: 0, relinquished: 0, unowned: 0 };
  let totalLag = 0;
  for (const row of rows) {
    byState[row.ownershipState] += 1;
    totalLag += row.lag;
    if (row.ownershipState === "owned" && row.ownerId !== undefined) {
      perOwner.set(row.ownerId, (perOwner.get(row.ownerId) ?? 0) + 1);
    }
  }
  const ids = [...perOwner.keys()].sort();
  return {
    partitions: rows.length,
    owners: ids.length,
    partitionsPerOwner: Object.fromEntries(ids.map((id) => [id, perOwner.get(id) ?? 0])),
    byState,
    totalLag,
  };
}

/**
 * Partition ids that have an ownership or checkpoint record but are not partitions of the hub
 * (e.g. left over from a hub recreated with fewer partitions); reported, never counted.
 */
export function strayPartitionIds(
  inputs: Omit<StatusInputs, "partitions" | "nowMs" | "ownershipExpirationMs">,
): string[] {
  const known = new Set(inputs.partitionIds);
  const stray = new Set<string>();
  for (const record of [...inputs.ownerships, ...inputs.checkpoints]) {
    if (!known.has(record.partitionId)) stray.add(record.partitionId);
  }
  return [...stray].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
}
