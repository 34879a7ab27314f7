/**
 * Reads, once per sample, the per-partition rows `ehw status` computes (owner, expiry, checkpoint,
 * last enqueued event, lag), through the inspection clients, so that blob names and expiry match
 * what the workers' SDK uses. It never writes; a container that does not exist yet (no worker has
 * started) means no owners and no checkpoints.
 */
import { type InspectClients, openInspectClients } from "../inspect/clients.js";
import {
  readCheckpoints,
  readOwnerships,
  readPartitionIds,
  readPartitionInfos,
} from "../inspect/snapshot.js";
import { computeStatusRows, type PartitionStatusRow } from "../inspect/status-rows.js";
import { redactSecrets } from "../observability/logger.js";

/** Options of {@link createPartitionSampler}. */
export interface PartitionSamplerOptions {
  /** Event Hubs namespace connection string. */
  eventHubConnectionString: string;
  /** Host (and port) of the emulator, for messages. */
  eventHubHost: string;
  /** Event hub name. */
  hub: string;
  /** Consumer group the workers use; default "$Default". */
  consumerGroup?: string;
  /** Storage connection string of the checkpoint store. */
  storageConnectionString: string;
  /** Checkpoint container. */
  containerName: string;
  /** Milliseconds after which an unrenewed ownership counts as expired (the workers' setting). */
  ownershipExpirationMs: number;
  /** The hub's retention, ms, for the time-left figure; default unknown. */
  hubRetentionMs?: number;
  /** Milliseconds one Event Hubs call may take; default 5000. */
  timeoutMs?: number;
}

/** Reads partition rows; see the module comment. */
export interface PartitionSampler {
  /** One row per partition of the hub. Rejects when the hub or storage cannot be read. */
  sample(): Promise<PartitionStatusRow[]>;
  /** Closes the Event Hubs connection. */
  close(): Promise<void>;
}

/** A short, secret-free description of a sampling failure. */
export function samplingError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return redactSecrets(message.split("\n")[0] ?? "").trim() || "unknown error";
}

/** Creates a sampler; nothing connects until the first call. */
export function createPartitionSampler(options: PartitionSamplerOptions): PartitionSampler {
  const clients: InspectClients = openInspectClients(
    {
      eventHubs: {
        connectionString: options.eventHubConnectionString,
        fullyQualifiedNamespace: undefined,
        endpointHost: options.eventHubHost,
        eventHubName: options.hub,
        consumerGroup: options.consumerGroup ?? "$Default",
      },
      storage: {
        connectionString: options.storageConnectionString,
        accountUrl: undefined,
        containerName: options.containerName,
        createContainer: false,
      },
      ownershipExpirationMs: options.ownershipExpirationMs,
      hubRetentionMs: options.hubRetentionMs,
    },
    // No retries: the next sample is the retry, and a stuck call must not hold up the view.
    { retryOptions: { maxRetries: 0, timeoutInMs: options.timeoutMs ?? 5000 } },
  );
  let partitionIds: string[] | undefined;
  let containerSeen = false;

  async function records() {
    // The first worker creates the container; until then nobody owns or checkpointed anything.
    containerSeen ||= await clients.containerClient.exists();
    if (!containerSeen) return { ownerships: [], checkpoints: [] };
    const [ownerships, checkpoints] = await Promise.all([readOwnerships(clients), readCheckpoints(clients)]);
    return { ownerships, checkpoints };
  }

  async function sample(): Promise<PartitionStatusRow[]> {
    partitionIds ??= await readPartitionIds(clients);
    const ids = partitionIds;
    const [partitions, { ownerships, checkpoints }] = await Promise.all([
      readPartitionInfos(clients, ids),
      records(),
    ]);
    return computeStatusRows({
      partitionIds: ids,
      partitions,
      ownerships,
      checkpoints,
      nowMs: Date.now(),
      ownershipExpirationMs: options.ownershipExpirationMs,
    });
  }

  return { sample, close: () => clients.close() };
}
