/**
 * Reading an archive: its files from the blob listing (metadata only, no reads), and one file's
 * records streamed from its blob through avsc's decoder, so a file is never held whole in memory.
 */
import type { ContainerClient } from "@azure/storage-blob";
import avro from "avsc";
import { pagesWithin, StorageDeadline } from "../checkpoint/deadline.js";
import { HEAD_PREFIX } from "../handlers/builtins/archive/naming.js";
import type { CaptureRecord } from "../handlers/builtins/archive/schema.js";
import { type FileMetadata, fromBlobMetadata } from "../handlers/builtins/archive/storage.js";

/** One archive file as the listing shows it. */
export interface ArchiveFile extends FileMetadata {
  /** Blob name. */
  readonly name: string;
  /** Blob size, bytes. */
  readonly sizeBytes: number;
}

/** Which files a listing keeps; every bound inclusive, absent = unbounded. */
export interface FileFilter {
  readonly eventHubName?: string;
  readonly namespace?: string;
  readonly partitionId?: string;
  /** Files with an event enqueued at or after this time. */
  readonly fromTime?: Date;
  /** Files with an event enqueued before this time. */
  readonly toTime?: Date;
  readonly fromSequenceNumber?: number;
  readonly toSequenceNumber?: number;
}

/** Pure: whether a file may hold events the filter asks for. */
export function fileMatches(file: FileMetadata, filter: FileFilter): boolean {
  if (filter.eventHubName !== undefined && file.eventHubName !== filter.eventHubName) return false;
  if (filter.namespace !== undefined && file.namespace !== filter.namespace) return false;
  if (filter.partitionId !== undefined && file.partitionId !== filter.partitionId) return false;
  if (filter.fromTime !== undefined && Date.parse(file.lastEnqueuedTime) < filter.fromTime.getTime())
    return false;
  if (filter.toTime !== undefined && Date.parse(file.firstEnqueuedTime) >= filter.toTime.getTime())
    return false;
  if (filter.fromSequenceNumber !== undefined && file.lastSequenceNumber < filter.fromSequenceNumber)
    return false;
  if (filter.toSequenceNumber !== undefined && file.firstSequenceNumber > filter.toSequenceNumber)
    return false;
  return true;
}

/** Pure: files in replay order — by partition (numerically where they are numbers), then sequence number. */
export function orderFiles<T extends FileMetadata>(files: readonly T[]): T[] {
  const partitionOrder = (a: string, b: string): number =>
    /^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a.localeCompare(b);
  return [...files].sort(
    (a, b) => partitionOrder(a.partitionId, b.partitionId) || a.firstSequenceNumber - b.firstSequenceNumber,
  );
}

/** The archive files matching the filter, in replay order; `prefix` narrows the listing. */
export async function listArchiveFiles(
  container: ContainerClient,
  filter: FileFilter = {},
  prefix?: string,
): Promise<ArchiveFile[]> {
  const files: ArchiveFile[] = [];
  const pages = pagesWithin(
    StorageDeadline.of(container),
    "list the archive container",
    (abortSignal, token) =>
      container
        .listBlobsFlat({ includeMetadata: true, prefix, abortSignal })
        .byPage({ continuationToken: token }),
  );
  for await (const page of pages) {
    for (const blob of page.segment.blobItems) {
      if (blob.name.startsWith(`${HEAD_PREFIX}/`)) continue;
      const meta = fromBlobMetadata(blob.metadata);
      if (meta === undefined || !fileMatches(meta, filter)) continue;
      files.push({ ...meta, name: blob.name, sizeBytes: blob.properties.contentLength ?? 0 });
    }
  }
  return orderFiles(files);
}

/** The records of one file, in order, decoded as they download. */
export async function* readFileRecords(
  container: ContainerClient,
  name: string,
  signal?: AbortSignal,
): AsyncGenerator<CaptureRecord> {
  const download = await container.getBlockBlobClient(name).download(0, undefined, { abortSignal: signal });
  const body = download.readableStreamBody;
  if (body === undefined) return;
  const decoder = body.pipe(new avro.streams.BlockDecoder());
  body.on("error", (err) => decoder.destroy(err));
  for await (const record of decoder) yield record as CaptureRecord;
}
