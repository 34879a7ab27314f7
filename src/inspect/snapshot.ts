/**
 * Reading what `ehw status` shows: the checkpoint container (checked first, so that a wrong key,
 * an unreachable account or a missing container is named as such), the hub's partitions and their
 * properties, and the ownership and checkpoint records of the consumer group.
 */

import type { EventHubConsumerClient } from "@azure/event-hubs";
import { translateStorageError } from "../checkpoint/blob-store.js";
import { ConfigError, ConnectionError, type EhwError } from "../common/errors.js";
import { redactSecrets } from "../observability/logger.js";
import { type InspectClients, translateEventHubsError } from "./clients.js";
import { readNamespacePrefixes } from "./namespace-prefixes.js";
import { type OldestUnprocessed, readOldestUnprocessed } from "./oldest-unprocessed.js";
import type { CheckpointRecord, OwnershipRecord, PartitionInfo } from "./status-rows.js";

/** Everything the status rows are computed from, read at one moment. */
export interface StatusSnapshot {
  /** The hub's partition ids, in the hub's order. */
  readonly partitionIds: readonly string[];
  readonly partitions: readonly PartitionInfo[];
  readonly ownerships: readonly OwnershipRecord[];
  readonly checkpoints: readonly CheckpointRecord[];
  /** Local time right after the ownership records were read, ms since the epoch. */
  readonly readAtMs: number;
  /**
   * Namespace prefixes holding records of this hub and consumer group (see namespace-prefixes.ts);
   * absent = not read.
   */
  readonly namespacePrefixes?: readonly string[];
  /** The first event after each checkpoint, for the age lag; absent = not read. */
  readonly oldestUnprocessed?: OldestUnprocessed;
}

/**
 * Checks the checkpoint container is reachable and exists; never creates it (an operator command
 * that creates a container hides a wrong container name).
 */
export async function checkContainer(clients: InspectClients): Promise<void> {
  const where = { host: clients.storageHost, containerName: clients.containerName };
  let exists: boolean;
  try {
    exists = await clients.containerClient.exists();
  } catch (err) {
    throw translateStorageError(err, { ...where, operation: "check the checkpoint container" });
  }
  if (!exists) {
    throw new ConfigError(
      `checkpoint container "${clients.containerName}" does not exist on ${clients.storageHost}: check EHW_CONTAINER_NAME / --container-name and the storage account`,
      { context: { setting: "containerName" } },
    );
  }
}

/** The hub's partition ids. */
export async function readPartitionIds(clients: InspectClients): Promise<string[]> {
  try {
    return await clients.consumer.getPartitionIds();
  } catch (err) {
    throw eventHubsError(clients, err, "read its partitions");
  }
}

/** The properties of each partition, in the order given. */
export async function readPartitionInfos(
  clients: InspectClients,
  partitionIds: readonly string[],
): Promise<PartitionInfo[]> {
  try {
    return await Promise.all(partitionIds.map((id) => clients.consumer.getPartitionProperties(id)));
  } catch (err) {
    throw eventHubsError(clients, err, "read its partition properties");
  }
}

/** The consumer group's ownership records. */
export async function readOwnerships(clients: InspectClients): Promise<OwnershipRecord[]> {
  const { fullyQualifiedNamespace, eventHubName, consumerGroup } = clients.target;
  try {
    const list = await clients.store.listOwnership(fullyQualifiedNamespace, eventHubName, consumerGroup);
    return list.map((o) => ({
      partitionId: o.partitionId,
      ownerId: o.ownerId,
      ...(o.lastModifiedTimeInMs === undefined ? {} : { lastModifiedTimeInMs: o.lastModifiedTimeInMs }),
    }));
  } catch (err) {
    throw storageListError(clients, err, "ownership");
  }
}

/** The consumer group's checkpoints, sorted by partition id. */
export async function readCheckpoints(clients: InspectClients): Promise<CheckpointRecord[]> {
  const { fullyQualifiedNamespace, eventHubName, consumerGroup } = clients.target;
  try {
    const list = await clients.store.listCheckpoints(fullyQualifiedNamespace, eventHubName, consumerGroup);
    return list
      .map((c) => ({ partitionId: c.partitionId, sequenceNumber: c.sequenceNumber, offset: c.offset }))
      .sort((a, b) => a.partitionId.localeCompare(b.partitionId, "en", { numeric: true }));
  } catch (err) {
    throw storageListError(clients, err, "checkpoint");
  }
}

/** Options of {@link readStatusSnapshot}. */
export interface ReadStatusSnapshotOptions {
  /** Epoch milliseconds; default Date.now. */
  readonly now?: () => number;
  /**
   * Reads the first event after each checkpoint through this client (its consumer group need not
   * be the workers'); default the clients' own consumer. `false` reads none.
   */
  readonly peek?: EventHubConsumerClient | false;
}

/**
 * Reads a {@link StatusSnapshot}: container first, then the hub, then the records, then the first
 * unprocessed event of each partition with a lag.
 */
export async function readStatusSnapshot(
  clients: InspectClients,
  options: ReadStatusSnapshotOptions = {},
): Promise<StatusSnapshot> {
  const now = options.now ?? Date.now;
  await checkContainer(clients);
  const partitionIds = await readPartitionIds(clients);
  const partitions = await readPartitionInfos(clients, partitionIds);
  const checkpoints = await readCheckpoints(clients);
  const ownerships = await readOwnerships(clients);
  const readAtMs = now();
  const { eventHubName, consumerGroup } = clients.target;
  const where = { host: clients.storageHost, containerName: clients.containerName };
  const namespacePrefixes = await readNamespacePrefixes(
    clients.containerClient,
    where,
    eventHubName,
    consumerGroup,
  );
  const peek = options.peek ?? clients.consumer;
  const oldestUnprocessed =
    peek === false
      ? undefined
      : await readOldestUnprocessed(peek, partitions, checkpoints, { host: clients.eventHubsHost });
  return {
    partitionIds,
    partitions,
    ownerships,
    checkpoints,
    readAtMs,
    namespacePrefixes,
    ...(oldestUnprocessed === undefined ? {} : { oldestUnprocessed }),
  };
}

function eventHubsError(clients: InspectClients, err: unknown, operation: string): EhwError {
  return translateEventHubsError(err, {
    host: clients.eventHubsHost,
    eventHubName: clients.target.eventHubName,
    operation,
  });
}

/**
 * A failed listing. BlobCheckpointStore re-throws listing failures of ownership as a plain Error
 * without the original (no status code to classify), so the container check runs first and this
 * only reports what is left, with the store's first line.
 */
function storageListError(clients: InspectClients, err: unknown, kind: string): EhwError {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  const where = { host: clients.storageHost, containerName: clients.containerName };
  if (typeof status === "number") {
    return translateStorageError(err, { ...where, operation: `list the ${kind} records` });
  }
  const first = redactSecrets((err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "");
  return new ConnectionError(
    `cannot list the ${kind} records in container "${clients.containerName}" on ${clients.storageHost}: ${first.trim() || "no message"}`,
    { cause: err, context: where },
  );
}
