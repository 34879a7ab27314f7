/**
 * The worker's checkpoint store — the guarded store over BlobCheckpointStore — with the cooperative
 * hand-over protocol (src/checkpoint/handover.ts) wired in: its owner's side drains through the
 * partition set, and every step is logged with its reason and reported to the observer (hand-over
 * counters and the pause histogram of the metrics).
 */
import type { ContainerClient } from "@azure/storage-blob";
import { BlobPartitionRecords } from "../checkpoint/blob-records.js";
import { createBlobCheckpointStore } from "../checkpoint/blob-store.js";
import { GuardedCheckpointStore } from "../checkpoint/guarded-store.js";
import { type ClaimVia, type HandoverHooks, HandoverProtocol } from "../checkpoint/handover.js";
import { BlobHandoverRequests } from "../checkpoint/handover-blobs.js";
import type { WorkerConfig } from "../config/worker.js";
import type { Logger } from "../observability/logger.js";
import type { WorkerObserver } from "../observability/observer.js";
import type { PartitionSet } from "./partition-set.js";

/** What {@link createHandover} needs. */
export interface HandoverWiring {
  readonly config: WorkerConfig;
  readonly containerClient: ContainerClient;
  readonly partitions: PartitionSet;
  readonly logger: Logger;
  readonly idField: Record<string, string>;
  readonly observer: WorkerObserver | undefined;
}

/** The worker's store, and how its last claim of a partition got it (hand-over on). */
export function createCheckpointStore(wiring: HandoverWiring): {
  store: GuardedCheckpointStore;
  claimedVia: ((partitionId: string) => ClaimVia | undefined) | undefined;
} {
  const { config, containerClient, partitions } = wiring;
  const handover = createHandover(wiring);
  const store = new GuardedCheckpointStore(createBlobCheckpointStore(containerClient), {
    ownerId: config.loadBalancing.ownerId,
    records: new BlobPartitionRecords(containerClient),
    onLost: (partitionId, reason) => partitions.markLost(partitionId, reason),
    onRenewed: (partitionId) => partitions.renewed(partitionId),
    ownershipCheckIntervalMs: config.processing.ownershipCheckIntervalMs,
    logger: wiring.logger,
    handover,
  });
  handover?.attach(store);
  return { store, claimedVia: handover && ((partitionId) => handover.claimedVia(partitionId)) };
}

/** The protocol of one worker, or undefined when hand-over is off. */
export function createHandover(wiring: HandoverWiring): HandoverProtocol | undefined {
  const { config, partitions, logger, idField, observer } = wiring;
  if (!config.handover.enabled) return undefined;
  const seconds = (ms: number | undefined) => (ms === undefined ? undefined : Math.max(0, ms) / 1000);
  const hooks: HandoverHooks = {
    mayHandOver: (partitionId) => partitions.mayHandOver(partitionId),
    drain: (partitionId, deadlineMs) => partitions.drainForHandover(partitionId, deadlineMs),
    handedOver: (event) => {
      partitions.handedOver(event);
      if (event.released) {
        observer?.handover?.({
          kind: "handedOver",
          partitionId: event.partitionId,
          pauseSeconds: seconds(event.pauseMs),
        });
      }
    },
    requested: (partitionId, to) => {
      logger.info(
        { ...idField, partitionId, owner: to, reason: "balance" },
        "hand-over requested: the load balancer wants a partition a live worker owns",
      );
      observer?.handover?.({ kind: "requested", partitionId });
    },
    completed: (partitionId, from, pauseMs) => {
      logger.info({ ...idField, partitionId, from, pauseMs }, "partition received by hand-over");
      observer?.handover?.({ kind: "completed", partitionId, pauseSeconds: seconds(pauseMs) });
    },
    fellBack: (partitionId, owner, reason) => {
      logger.warn(
        { ...idField, partitionId, owner, reason },
        "hand-over not answered; stealing the partition",
      );
      observer?.handover?.({ kind: "fellBack", partitionId });
    },
  };
  return new HandoverProtocol({
    ownerId: config.loadBalancing.ownerId,
    requests: new BlobHandoverRequests(wiring.containerClient),
    hooks,
    ownershipExpirationMs: config.loadBalancing.ownershipExpirationMs,
    drainTimeoutMs: config.handover.drainTimeoutMs,
    timeoutMs: config.handover.timeoutMs,
    logger,
  });
}
