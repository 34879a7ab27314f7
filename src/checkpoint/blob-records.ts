/**
 * Conditional reads and writes of the ownership and checkpoint blobs, in exactly the layout
 * BlobCheckpointStore uses (same blob names, same metadata keys `ownerid`, `sequencenumber`,
 * `offset`), so that its `listOwnership` / `listCheckpoints`, `ehw status` and KEDA's blobMetadata
 * scaler read what we write unchanged. BlobCheckpointStore itself cannot be used for these two
 * writes: a claim without an ETag is an unconditional upload, and `updateCheckpoint` is an
 * unconditional setMetadata, so neither can lose a race.
 */
import type { Checkpoint, PartitionOwnership } from "@azure/event-hubs";
import type { BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import { StorageDeadline, type StorageDeadlineOptions } from "./deadline.js";

/** Which consumer group's partition a record belongs to. */
export interface PartitionKey {
  readonly fullyQualifiedNamespace: string;
  readonly eventHubName: string;
  readonly consumerGroup: string;
  readonly partitionId: string;
}

/** An ownership blob as read: its owner (`""` after an abandon) and its ETag. */
export interface OwnershipRecord {
  readonly ownerId: string;
  readonly etag: string;
}

/** A checkpoint blob as read: its position and its ETag. */
export interface CheckpointRecord {
  readonly sequenceNumber: number;
  readonly offset: string;
  readonly etag: string;
}

/**
 * The conditional operations the guarded store needs. Every write either happens under its
 * condition or reports that it lost the race (`undefined`); any other failure rejects.
 */
export interface PartitionRecords {
  /**
   * Creates the ownership blob only if it does not exist yet. Resolves the ownership with its new
   * `etag` and `lastModifiedTimeInMs`, or undefined when the blob already exists (another claimer won).
   */
  createOwnership(ownership: PartitionOwnership): Promise<PartitionOwnership | undefined>;
  /** The ownership blob, or undefined when there is none. */
  readOwnership(key: PartitionKey): Promise<OwnershipRecord | undefined>;
  /** The checkpoint blob, or undefined when there is none. */
  readCheckpoint(key: PartitionKey): Promise<CheckpointRecord | undefined>;
  /**
   * Writes the checkpoint if the blob still has ETag `expectedEtag` (or, when undefined, does not
   * exist). Resolves the new ETag, or undefined when the condition failed.
   */
  writeCheckpoint(checkpoint: Checkpoint, expectedEtag: string | undefined): Promise<string | undefined>;
}

/**
 * The blob name BlobCheckpointStore gives a partition's record: `getBlobPrefix` lower-cases the
 * namespace, hub and consumer group as the SDK passes them, and keeps the partition id.
 */
export function recordBlobName(type: "ownership" | "checkpoint", key: PartitionKey): string {
  const ns = key.fullyQualifiedNamespace.toLowerCase();
  return `${ns}/${key.eventHubName.toLowerCase()}/${key.consumerGroup.toLowerCase()}/${type}/${key.partitionId}`;
}

/** {@link PartitionRecords} over the checkpoint container. */
export class BlobPartitionRecords implements PartitionRecords {
  /**
   * Blob clients by name, kept: constructing one builds a new request pipeline, a cost each
   * checkpoint would otherwise pay twice (one client per partition and record type is enough).
   */
  private readonly clients = new Map<string, BlockBlobClient>();
  private readonly deadline: StorageDeadline;

  /** @param options - the deadline of each storage call (StorageTimeoutError when missed). */
  constructor(
    private readonly containerClient: ContainerClient,
    options: StorageDeadlineOptions = {},
  ) {
    this.deadline = StorageDeadline.of(containerClient, options);
  }

  async createOwnership(ownership: PartitionOwnership): Promise<PartitionOwnership | undefined> {
    const blob = this.blob(recordBlobName("ownership", ownership));
    try {
      // The same empty block blob BlobCheckpointStore uploads for a first claim, made conditional.
      const response = await this.deadline.run("create an ownership record", (abortSignal) =>
        blob.upload("", 0, {
          metadata: { ownerid: ownership.ownerId },
          conditions: { ifNoneMatch: "*" },
          abortSignal,
        }),
      );
      return {
        ...ownership,
        etag: response.etag,
        lastModifiedTimeInMs: response.lastModified?.getTime(),
      };
    } catch (err) {
      if (isConditionConflict(err)) return undefined;
      throw err;
    }
  }

  async readOwnership(key: PartitionKey): Promise<OwnershipRecord | undefined> {
    const props = await this.properties(recordBlobName("ownership", key));
    if (props === undefined) return undefined;
    return { ownerId: props.metadata.ownerid ?? "", etag: props.etag };
  }

  async readCheckpoint(key: PartitionKey): Promise<CheckpointRecord | undefined> {
    const props = await this.properties(recordBlobName("checkpoint", key));
    if (props === undefined) return undefined;
    const sequenceNumber = Number.parseInt(props.metadata.sequencenumber ?? "", 10);
    const offset = props.metadata.offset;
    // A blob without a position (never written by a store) counts as no checkpoint; it is
    // overwritten under its ETag like any other.
    if (Number.isNaN(sequenceNumber) || offset === undefined) {
      return { sequenceNumber: Number.NEGATIVE_INFINITY, offset: "", etag: props.etag };
    }
    return { sequenceNumber, offset, etag: props.etag };
  }

  async writeCheckpoint(
    checkpoint: Checkpoint,
    expectedEtag: string | undefined,
  ): Promise<string | undefined> {
    const blob = this.blob(recordBlobName("checkpoint", checkpoint));
    const metadata = {
      sequencenumber: String(checkpoint.sequenceNumber),
      offset: String(checkpoint.offset),
    };
    try {
      if (expectedEtag === undefined) {
        const created = await this.deadline.run("create a checkpoint record", (abortSignal) =>
          blob.upload("", 0, { metadata, conditions: { ifNoneMatch: "*" }, abortSignal }),
        );
        return created.etag;
      }
      // setMetadata on the existing blob, as BlobCheckpointStore does (an upload would create a new
      // version on accounts with versioning or soft delete, Azure SDK issue #10132), under its ETag.
      const updated = await this.deadline.run("write a checkpoint", (abortSignal) =>
        blob.setMetadata(metadata, { conditions: { ifMatch: expectedEtag }, abortSignal }),
      );
      return updated.etag;
    } catch (err) {
      if (isConditionConflict(err)) return undefined;
      throw err;
    }
  }

  private blob(name: string): BlockBlobClient {
    let client = this.clients.get(name);
    if (client === undefined) {
      client = this.containerClient.getBlockBlobClient(name);
      this.clients.set(name, client);
    }
    return client;
  }

  private async properties(
    name: string,
  ): Promise<{ metadata: Record<string, string>; etag: string } | undefined> {
    try {
      const blob = this.blob(name);
      const props = await this.deadline.run(`read record ${name}`, (abortSignal) =>
        blob.getProperties({ abortSignal }),
      );
      return { metadata: props.metadata ?? {}, etag: props.etag ?? "" };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }
}

/**
 * Whether a conditional write lost its race: HTTP 412 for an `If-Match` update. Blob storage (and
 * Azurite) answer a Put Blob with `If-None-Match: *` on an existing blob with 409 BlobAlreadyExists
 * rather than 412, so that pair — status and error code, never message text — is the conditional
 * create's "someone else won".
 */
export function isConditionConflict(err: unknown): boolean {
  const status = statusOf(err);
  if (status === 412) return true;
  const details = (err as { details?: { errorCode?: unknown } } | null)?.details;
  return status === 409 && details?.errorCode === "BlobAlreadyExists";
}

function statusOf(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const status = (err as { statusCode?: unknown }).statusCode;
  return typeof status === "number" ? status : undefined;
}
