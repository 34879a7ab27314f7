/**
 * The archive's storage calls that are not plain SDK calls: the container client from the options,
 * JSON blobs read with their ETag, file metadata in both directions, and the translation of
 * storage errors into our family (412 = another writer moved first; the caller re-reads).
 */
import { DefaultAzureCredential } from "@azure/identity";
import { BlobServiceClient, type BlockBlobClient, type ContainerClient } from "@azure/storage-blob";
import { ConfigError, EhwError } from "../../../common/errors.js";
import type { ArchiveCodec } from "./options.js";

/** Where the archive lives. */
export interface ArchiveStorage {
  readonly connectionString?: string;
  readonly accountUrl?: string;
}

/** A client of the archive container. */
export function archiveContainerClient(storage: ArchiveStorage, container: string): ContainerClient {
  if (storage.connectionString !== undefined) {
    return BlobServiceClient.fromConnectionString(storage.connectionString).getContainerClient(container);
  }
  if (storage.accountUrl === undefined) {
    throw new ConfigError("archive: no storage: set storageConnectionString or storageAccountUrl");
  }
  return new BlobServiceClient(storage.accountUrl, new DefaultAzureCredential()).getContainerClient(
    container,
  );
}

/** The HTTP status of a storage error, when it has one. */
export function statusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/** What the archive keeps in each file's blob metadata, so that listing needs no reads. */
export interface FileMetadata {
  readonly namespace: string;
  readonly eventHubName: string;
  readonly partitionId: string;
  readonly firstSequenceNumber: number;
  readonly lastSequenceNumber: number;
  readonly eventCount: number;
  /** ISO 8601. */
  readonly firstEnqueuedTime: string;
  /** ISO 8601. */
  readonly lastEnqueuedTime: string;
  /** Wall-clock time the file was opened, ISO 8601; its window runs from here. */
  readonly openedAt: string;
  readonly codec: ArchiveCodec;
  /** Hex of the file's sync marker; blocks appended later need it. */
  readonly syncMarker: string;
}

/** Blob metadata (lower-case keys, string values) of a file. */
export function toBlobMetadata(meta: FileMetadata): Record<string, string> {
  return {
    namespace: meta.namespace,
    eventhub: meta.eventHubName,
    partitionid: meta.partitionId,
    firstsequencenumber: String(meta.firstSequenceNumber),
    lastsequencenumber: String(meta.lastSequenceNumber),
    eventcount: String(meta.eventCount),
    firstenqueuedtime: meta.firstEnqueuedTime,
    lastenqueuedtime: meta.lastEnqueuedTime,
    openedat: meta.openedAt,
    codec: meta.codec,
    syncmarker: meta.syncMarker,
  };
}

/** The file metadata of a blob, or undefined when it is not an archive file's. */
export function fromBlobMetadata(raw: Record<string, string> | undefined): FileMetadata | undefined {
  if (raw === undefined) return undefined;
  const first = Number(raw.firstsequencenumber);
  const last = Number(raw.lastsequencenumber);
  const count = Number(raw.eventcount);
  const codec = raw.codec;
  if (![first, last, count].every(Number.isSafeInteger)) return undefined;
  if (codec !== "deflate" && codec !== "null") return undefined;
  if (raw.partitionid === undefined || !/^[0-9a-f]{32}$/.test(raw.syncmarker ?? "")) return undefined;
  return {
    namespace: raw.namespace ?? "",
    eventHubName: raw.eventhub ?? "",
    partitionId: raw.partitionid,
    firstSequenceNumber: first,
    lastSequenceNumber: last,
    eventCount: count,
    firstEnqueuedTime: raw.firstenqueuedtime ?? "",
    lastEnqueuedTime: raw.lastenqueuedtime ?? "",
    openedAt: raw.openedat ?? "",
    codec,
    syncMarker: raw.syncmarker ?? "",
  };
}

/** A blob's text and ETag; undefined when the blob does not exist. */
export async function readTextBlob(
  client: BlockBlobClient,
  signal?: AbortSignal,
): Promise<{ text: string; etag: string } | undefined> {
  try {
    // One download: its response carries the ETag of exactly the content read.
    const response = await client.download(0, undefined, { abortSignal: signal });
    const chunks: Buffer[] = [];
    for await (const chunk of response.readableStreamBody ?? []) chunks.push(Buffer.from(chunk as Buffer));
    return { text: Buffer.concat(chunks).toString("utf8"), etag: response.etag ?? "" };
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

/** A storage failure as our error: a 412 as a lost race (retriable), any other with its status. */
export function archiveStorageError(err: unknown, what: string, partitionId: string): EhwError {
  if (err instanceof EhwError) return err;
  const status = statusOf(err);
  if (status === 412 || status === 409) {
    return new EhwError(
      "ARCHIVE_CONFLICT",
      `archive of partition ${partitionId}: ${what}: another writer changed it first; the archive's state is read again on the next attempt`,
      { cause: err, retriable: true, context: { partitionId } },
    );
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new EhwError(
    "ARCHIVE_WRITE_FAILED",
    `archive of partition ${partitionId}: ${what} failed${status === undefined ? "" : ` (HTTP ${status})`}: ${reason}`,
    { cause: err, retriable: status !== 400 && status !== 401 && status !== 403, context: { partitionId } },
  );
}
