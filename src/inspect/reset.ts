/**
 * `ehw checkpoints reset`: plans the whole reset first (reading events where a checkpoint needs an
 * offset), so that a failed read writes nothing; refuses while live owners hold chosen partitions
 * unless forced; then writes each partition's checkpoint, removes its pending hand-over request,
 * and reports exactly which were written.
 */
import { translateStorageError } from "../checkpoint/blob-store.js";
import { BlobHandoverRequests, type HandoverRequest } from "../checkpoint/handover-blobs.js";
import { ConnectionError, type EhwError } from "../common/errors.js";
import type { InspectClients } from "./clients.js";
import { type EventPositionInfo, readFirstEvent } from "./event-reader.js";
import {
  type CheckpointPosition,
  checkpointForStart,
  type LiveOwner,
  liveOwners,
  type ResetPlanEntry,
  type ResetTarget,
  startAfterTimeLookup,
  startDecision,
} from "./reset-plan.js";
import { checkContainer, readCheckpoints, readOwnerships, readPartitionInfos } from "./snapshot.js";
import type { PartitionInfo } from "./status-rows.js";

/** What to reset. */
export interface ResetRequest {
  readonly target: ResetTarget;
  /** Chosen partitions, validated against the hub. */
  readonly partitionIds: readonly string[];
  /** Reset even partitions a live owner holds. */
  readonly force: boolean;
  /** Fleet ownership expiry, ms. */
  readonly ownershipExpirationMs: number;
  /** Longest wait for one event read, ms; default 15000. */
  readonly readTimeoutMs?: number;
}

/** The plan: either refused (live owners, nothing planned) or one entry per chosen partition. */
export interface ResetPlan {
  readonly target: ResetTarget;
  /** Live owners of chosen partitions (overridden when `force`). */
  readonly liveOwners: readonly LiveOwner[];
  /** True when live owners hold chosen partitions and the reset was not forced. */
  readonly refused: boolean;
  readonly entries: readonly ResetPlanEntry[];
}

/** Reads what the plan needs and computes it; writes nothing. */
export async function planReset(clients: InspectClients, request: ResetRequest): Promise<ResetPlan> {
  await checkContainer(clients);
  const ownerships = await readOwnerships(clients);
  const live = liveOwners(request.partitionIds, ownerships, Date.now(), request.ownershipExpirationMs);
  if (live.length > 0 && !request.force) {
    return { target: request.target, liveOwners: live, refused: true, entries: [] };
  }
  const infos = await readPartitionInfos(clients, request.partitionIds);
  const checkpoints = new Map((await readCheckpoints(clients)).map((c) => [c.partitionId, c]));
  const liveById = new Map(live.map((o) => [o.partitionId, o]));
  const requests = new Map((await readHandoverRequests(clients)).map((r) => [r.partitionId, r]));
  const entries: ResetPlanEntry[] = [];
  // One partition at a time: each read opens a receiver, and two cores serve many partitions.
  for (const info of infos) {
    const { start, after, note } = await resolvePosition(clients, request, info);
    const checkpoint = checkpoints.get(info.partitionId);
    const owner = liveById.get(info.partitionId);
    const pending = requests.get(info.partitionId);
    entries.push({
      partitionId: info.partitionId,
      before:
        checkpoint === undefined
          ? undefined
          : { sequenceNumber: checkpoint.sequenceNumber, offset: checkpoint.offset },
      after,
      startSequenceNumber: start,
      ...(note === undefined ? {} : { note }),
      ...(owner === undefined ? {} : { liveOwner: owner }),
      ...(pending === undefined ? {} : { handoverRequest: { from: pending.from, to: pending.to } }),
    });
  }
  return { target: request.target, liveOwners: live, refused: false, entries };
}

/** The consumer group's pending hand-over requests. */
async function readHandoverRequests(clients: InspectClients): Promise<HandoverRequest[]> {
  try {
    return await new BlobHandoverRequests(clients.containerClient).list(clients.target);
  } catch (err) {
    throw translateStorageError(err, {
      host: clients.storageHost,
      containerName: clients.containerName,
      operation: "list the hand-over requests",
    });
  }
}

async function resolvePosition(
  clients: InspectClients,
  request: ResetRequest,
  info: PartitionInfo,
): Promise<{ start: number; after: CheckpointPosition; note?: string }> {
  const decision = startDecision(request.target, info);
  let start: number;
  let note: string | undefined;
  if (decision.kind === "findTime") {
    // The SDK's enqueuedOn filter is exclusive ("> t"); one ms earlier includes events at t.
    const found = await read(clients, request, info.partitionId, {
      enqueuedOn: new Date(decision.atOrAfterMs - 1),
    });
    // The properties say an event at or after the time exists: no answer means the read failed,
    // not "start at the end".
    if (found === undefined)
      throw noEventError(
        info.partitionId,
        `enqueued at or after ${new Date(decision.atOrAfterMs).toISOString()}`,
      );
    start = startAfterTimeLookup(info, found.sequenceNumber);
  } else {
    start = decision.sequenceNumber;
    note = decision.note;
  }
  const checkpoint = checkpointForStart(start, info);
  if (checkpoint.kind === "checkpoint") return { start, after: checkpoint.checkpoint, note };
  const event = await read(clients, request, info.partitionId, {
    sequenceNumber: checkpoint.sequenceNumber,
    isInclusive: true,
  });
  if (event === undefined)
    throw noEventError(info.partitionId, `with sequence number ${checkpoint.sequenceNumber}`);
  if (event.sequenceNumber !== checkpoint.sequenceNumber) {
    throw new ConnectionError(
      `reading event ${checkpoint.sequenceNumber} of partition ${info.partitionId} returned event ${event.sequenceNumber}: it may have expired meanwhile`,
      { retriable: true, context: { partitionId: info.partitionId } },
    );
  }
  return { start, after: { sequenceNumber: event.sequenceNumber, offset: event.offset }, note };
}

function noEventError(partitionId: string, which: string): ConnectionError {
  return new ConnectionError(
    `no event ${which} arrived from partition ${partitionId} within the read timeout, though the partition's properties say there is one`,
    { retriable: true, context: { partitionId } },
  );
}

function read(
  clients: InspectClients,
  request: ResetRequest,
  partitionId: string,
  position: Parameters<typeof readFirstEvent>[2],
): Promise<EventPositionInfo | undefined> {
  return readFirstEvent(clients.consumer, partitionId, position, {
    host: clients.eventHubsHost,
    ...(request.readTimeoutMs === undefined ? {} : { timeoutMs: request.readTimeoutMs }),
  });
}

/** What happened to each partition of an applied plan. */
export interface ResetOutcome {
  /** Partitions whose checkpoint was written, in plan order. */
  readonly written: readonly string[];
  /** Partitions whose write failed, with the error; their checkpoints are as before. */
  readonly failed: ReadonlyArray<{ readonly partitionId: string; readonly error: EhwError }>;
  /** Written partitions whose pending hand-over request was removed. */
  readonly handoverRequestsRemoved: readonly string[];
  /**
   * Written partitions whose hand-over request could not be removed, with the error; the request
   * expires by itself after twice the hand-over timeout.
   */
  readonly handoverRequestsLeft: ReadonlyArray<{ readonly partitionId: string; readonly error: EhwError }>;
}

/**
 * Writes the planned checkpoints, one partition at a time, trying every partition even after a
 * failure (each write is independent) and recording each result; then removes the pending
 * hand-over requests of the written partitions. Never throws for a write.
 */
export async function applyReset(clients: InspectClients, plan: ResetPlan): Promise<ResetOutcome> {
  const written: string[] = [];
  const failed: Array<{ partitionId: string; error: EhwError }> = [];
  for (const entry of plan.entries) {
    try {
      await clients.store.updateCheckpoint({
        ...clients.target,
        partitionId: entry.partitionId,
        sequenceNumber: entry.after.sequenceNumber,
        offset: entry.after.offset,
      });
      written.push(entry.partitionId);
    } catch (err) {
      const error = translateStorageError(err, {
        host: clients.storageHost,
        containerName: clients.containerName,
        operation: `write the checkpoint of partition ${entry.partitionId}`,
      });
      failed.push({ partitionId: entry.partitionId, error });
    }
  }
  return { written, failed, ...(await removeHandoverRequests(clients, plan, written)) };
}

/**
 * Deletes the planned hand-over requests of the written partitions whatever their ETag: the
 * position they were made for is gone. A request already gone counts as removed.
 */
async function removeHandoverRequests(
  clients: InspectClients,
  plan: ResetPlan,
  written: readonly string[],
): Promise<Pick<ResetOutcome, "handoverRequestsRemoved" | "handoverRequestsLeft">> {
  const requests = new BlobHandoverRequests(clients.containerClient);
  const done = new Set(written);
  const removed: string[] = [];
  const left: Array<{ partitionId: string; error: EhwError }> = [];
  for (const { partitionId, handoverRequest } of plan.entries) {
    if (handoverRequest === undefined || !done.has(partitionId)) continue;
    try {
      await requests.delete(clients.target, partitionId, undefined);
      removed.push(partitionId);
    } catch (err) {
      const error = translateStorageError(err, {
        host: clients.storageHost,
        containerName: clients.containerName,
        operation: `remove the hand-over request of partition ${partitionId}`,
      });
      left.push({ partitionId, error });
    }
  }
  return { handoverRequestsRemoved: removed, handoverRequestsLeft: left };
}
