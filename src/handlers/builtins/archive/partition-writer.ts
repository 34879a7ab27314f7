/**
 * The archive of one partition. Every batch is committed before `append` resolves: its records
 * are encoded as Avro blocks, staged as one block of the open file's blob, and the blob's block
 * list is committed again with the new block at its end, with the file's first and last sequence
 * numbers in the blob metadata. So the worker checkpoints only what a committed file holds, and
 * memory per partition is one batch, not one window.
 *
 * Exactly once: a per-partition head blob names the newest file; the head is written (ETag-
 * conditional) before a file's first commit, and every later commit of the file is conditional on
 * the ETag of the previous one. At start, and after any failure, the state is read back from the
 * head and the file it names: events at or below the file's last sequence number are already
 * archived and are skipped, and the next file starts at the next event, named by it. A writer
 * whose view is stale (a crash, a steal) gets HTTP 412, re-reads, and never adds a second copy.
 */
import { randomBytes } from "node:crypto";
import type { BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import { EhwError } from "../../../common/errors.js";
import type { Logger } from "../../../observability/logger.js";
import type { ReceivedEventData } from "../../contract.js";
import { encodeBlocks, encodeHeader, newSyncMarker } from "./avro-blocks.js";
import { fileBlobName, headBlobName } from "./naming.js";
import type { ArchiveCodec, CompiledArchiveOptions } from "./options.js";
import { toCaptureRecord } from "./schema.js";
import {
  archiveStorageError,
  type FileMetadata,
  fromBlobMetadata,
  readTextBlob,
  statusOf,
  toBlobMetadata,
} from "./storage.js";
import { decideWindow } from "./window.js";

/** The head blob's content: the partition's newest file. */
export interface ArchiveHead {
  /** Blob name of the newest file. */
  readonly file: string;
  /** Its first sequence number: everything below it is archived in older files. */
  readonly firstSequenceNumber: number;
}

/** The open file as this writer last committed or read it. */
interface OpenFile {
  readonly client: BlockBlobClient;
  readonly name: string;
  readonly blockIds: string[];
  readonly meta: FileMetadata;
  readonly etag: string;
  readonly bytes: number;
}

/** What this writer knows of the partition's archive. */
interface PartitionState {
  headEtag: string | undefined;
  /** Highest archived sequence number; undefined when nothing was ever archived. */
  lastSequenceNumber: number | undefined;
  file: OpenFile | undefined;
  /** Prefix of the block ids this writer stages: unique per writer, fixed length. */
  readonly blockPrefix: string;
}

/** What one `append` did. */
export interface AppendResult {
  /** Events committed by this call. */
  readonly written: number;
  /** Events skipped as archived already. */
  readonly skipped: number;
  /** The file they went to; undefined when none was written. */
  readonly file: string | undefined;
}

/** Options of {@link PartitionArchiveWriter}. */
export interface PartitionWriterOptions {
  readonly container: ContainerClient;
  readonly options: CompiledArchiveOptions;
  readonly eventHubName: string;
  readonly partitionId: string;
  readonly logger: Logger;
  /** Epoch milliseconds; default Date.now. */
  readonly clock?: () => number;
}

const CONTENT_TYPE = "avro/binary";

function blockId(prefix: string, index: number): string {
  return Buffer.from(`${prefix}${String(index).padStart(8, "0")}`).toString("base64");
}

function assertAscending(events: readonly ReceivedEventData[], partitionId: string): void {
  for (let i = 1; i < events.length; i += 1) {
    if ((events[i]?.sequenceNumber ?? 0) <= (events[i - 1]?.sequenceNumber ?? 0)) {
      throw new EhwError(
        "ARCHIVE_OUT_OF_ORDER",
        `archive of partition ${partitionId}: events out of sequence order; run the archive with ordering "partition"`,
        { retriable: false, context: { partitionId } },
      );
    }
  }
}

/** The archive of one partition; `append` calls are serialized. */
export class PartitionArchiveWriter {
  private state: PartitionState | undefined;
  private last: Promise<unknown> = Promise.resolve();
  private readonly clock: () => number;
  private readonly headClient: BlockBlobClient;

  constructor(private readonly o: PartitionWriterOptions) {
    this.clock = o.clock ?? Date.now;
    this.headClient = o.container.getBlockBlobClient(
      headBlobName(o.options.namespace, o.eventHubName, o.partitionId),
    );
  }

  /** Commits the events not archived yet; resolves once the file holding them is committed. */
  append(events: readonly ReceivedEventData[], signal?: AbortSignal): Promise<AppendResult> {
    const run = this.last.catch(() => undefined).then(() => this.appendNow(events, signal));
    this.last = run;
    return run;
  }

  private async appendNow(events: readonly ReceivedEventData[], signal?: AbortSignal): Promise<AppendResult> {
    try {
      this.state ??= await this.recover(signal);
      const state = this.state;
      const after = state.lastSequenceNumber;
      const fresh = after === undefined ? [...events] : events.filter((e) => e.sequenceNumber > after);
      if (fresh.length < events.length) {
        // A replay after a crash or a steal: these are in a committed file already.
        this.o.logger.info(
          { skipped: events.length - fresh.length, lastSequenceNumber: after },
          "archived events skipped",
        );
      }
      if (fresh.length === 0) return { written: 0, skipped: events.length, file: undefined };
      assertAscending(fresh, this.o.partitionId);
      const file = await this.write(state, fresh, signal);
      return { written: fresh.length, skipped: events.length - fresh.length, file };
    } catch (err) {
      // Whether the failed call reached storage is unknown: read the truth again next time.
      this.state = undefined;
      throw archiveStorageError(err, "commit", this.o.partitionId);
    }
  }

  private async write(
    state: PartitionState,
    events: readonly ReceivedEventData[],
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const records = events.map(toCaptureRecord);
    const open = state.file;
    const codec: ArchiveCodec = open?.meta.codec ?? this.o.options.codec;
    const marker = open === undefined ? newSyncMarker() : Buffer.from(open.meta.syncMarker, "hex");
    const { deflateLevel } = this.o.options;
    let data = await encodeBlocks(records, { codec, syncMarker: marker, deflateLevel });
    const facts =
      open === undefined
        ? undefined
        : {
            openedAtMs: Date.parse(open.meta.openedAt),
            bytes: open.bytes,
            events: open.meta.eventCount,
            blocks: open.blockIds.length,
          };
    const decision = decideWindow(facts, data.length, this.clock(), this.o.options);
    if (decision === "extend" && open !== undefined) {
      state.file = await this.extend(open, events, data, signal);
    } else {
      // A recovered file may have another codec than the options now ask for.
      if (codec !== this.o.options.codec) {
        data = await encodeBlocks(records, { codec: this.o.options.codec, syncMarker: marker, deflateLevel });
      }
      state.file = await this.start(state, events, data, marker, signal);
      this.o.logger.info(
        { file: state.file.name, firstSequenceNumber: state.file.meta.firstSequenceNumber, reason: decision },
        "archive file started",
      );
    }
    state.lastSequenceNumber = state.file.meta.lastSequenceNumber;
    return state.file.name;
  }

  private async start(
    state: PartitionState,
    events: readonly ReceivedEventData[],
    data: Buffer,
    marker: Buffer,
    signal: AbortSignal | undefined,
  ): Promise<OpenFile> {
    const first = events[0] as ReceivedEventData;
    const last = events[events.length - 1] as ReceivedEventData;
    const { options } = this.o;
    const name = fileBlobName(options.fileNameFormat, {
      namespace: options.namespace,
      eventHubName: this.o.eventHubName,
      partitionId: this.o.partitionId,
      firstEnqueuedTime: first.enqueuedTimeUtc,
      firstSequenceNumber: first.sequenceNumber,
    });
    // The head first: a crash before the file's commit leaves a head naming a missing file,
    // which recovery reads as "everything below its first sequence number is archived".
    const head: ArchiveHead = { file: name, firstSequenceNumber: first.sequenceNumber };
    const text = JSON.stringify(head);
    const headWrite = await this.headClient.upload(text, Buffer.byteLength(text), {
      conditions: state.headEtag === undefined ? { ifNoneMatch: "*" } : { ifMatch: state.headEtag },
      blobHTTPHeaders: { blobContentType: "application/json" },
      abortSignal: signal,
    });
    state.headEtag = headWrite.etag;
    const body = Buffer.concat([await encodeHeader(options.codec, marker), data]);
    const meta: FileMetadata = {
      namespace: options.namespace,
      eventHubName: this.o.eventHubName,
      partitionId: this.o.partitionId,
      firstSequenceNumber: first.sequenceNumber,
      lastSequenceNumber: last.sequenceNumber,
      eventCount: events.length,
      firstEnqueuedTime: first.enqueuedTimeUtc.toISOString(),
      lastEnqueuedTime: last.enqueuedTimeUtc.toISOString(),
      openedAt: new Date(this.clock()).toISOString(),
      codec: options.codec,
      syncMarker: marker.toString("hex"),
    };
    const client = this.o.container.getBlockBlobClient(name);
    const id = blockId(state.blockPrefix, 0);
    await client.stageBlock(id, body, body.length, { abortSignal: signal });
    const commit = await client.commitBlockList([id], {
      conditions: { ifNoneMatch: "*" },
      metadata: toBlobMetadata(meta),
      blobHTTPHeaders: { blobContentType: CONTENT_TYPE },
      abortSignal: signal,
    });
    return { client, name, blockIds: [id], meta, etag: commit.etag ?? "", bytes: body.length };
  }

  private async extend(
    open: OpenFile,
    events: readonly ReceivedEventData[],
    data: Buffer,
    signal: AbortSignal | undefined,
  ): Promise<OpenFile> {
    const last = events[events.length - 1] as ReceivedEventData;
    const id = blockId(this.state?.blockPrefix ?? "", open.blockIds.length);
    await open.client.stageBlock(id, data, data.length, { abortSignal: signal });
    const blockIds = [...open.blockIds, id];
    const meta: FileMetadata = {
      ...open.meta,
      lastSequenceNumber: last.sequenceNumber,
      eventCount: open.meta.eventCount + events.length,
      lastEnqueuedTime: last.enqueuedTimeUtc.toISOString(),
    };
    const commit = await open.client.commitBlockList(blockIds, {
      conditions: { ifMatch: open.etag },
      metadata: toBlobMetadata(meta),
      blobHTTPHeaders: { blobContentType: CONTENT_TYPE },
      abortSignal: signal,
    });
    return { ...open, blockIds, meta, etag: commit.etag ?? "", bytes: open.bytes + data.length };
  }

  /** Reads the head and the file it names. */
  private async recover(signal: AbortSignal | undefined): Promise<PartitionState> {
    const blockPrefix = randomBytes(6).toString("hex");
    const headBlob = await readTextBlob(this.headClient, signal);
    if (headBlob === undefined) {
      return { headEtag: undefined, lastSequenceNumber: undefined, file: undefined, blockPrefix };
    }
    const head = parseHead(headBlob.text, this.headClient.name);
    const state: PartitionState = {
      headEtag: headBlob.etag,
      lastSequenceNumber: head.firstSequenceNumber - 1,
      file: undefined,
      blockPrefix,
    };
    const client = this.o.container.getBlockBlobClient(head.file);
    let properties: Awaited<ReturnType<BlockBlobClient["getProperties"]>>;
    try {
      properties = await client.getProperties({ abortSignal: signal });
    } catch (err) {
      if (statusOf(err) === 404) return state;
      throw err;
    }
    const meta = fromBlobMetadata(properties.metadata);
    if (meta === undefined) {
      throw new EhwError(
        "ARCHIVE_CORRUPT",
        `archive of partition ${this.o.partitionId}: ${head.file}, named by the head ${this.headClient.name}, has no archive metadata; remove the head or restore the file`,
        { context: { partitionId: this.o.partitionId, file: head.file } },
      );
    }
    const list = await client.getBlockList("committed", { abortSignal: signal });
    const blockIds = (list.committedBlocks ?? []).map((b) => b.name);
    const bytes = (list.committedBlocks ?? []).reduce((sum, b) => sum + b.size, 0);
    state.lastSequenceNumber = meta.lastSequenceNumber;
    state.file = { client, name: head.file, blockIds, meta, etag: properties.etag ?? "", bytes };
    this.o.logger.info(
      { file: head.file, lastSequenceNumber: meta.lastSequenceNumber },
      "archive state read back",
    );
    return state;
  }
}

/** Parses a head blob; throws naming the blob when it is not one. */
export function parseHead(text: string, blobName: string): ArchiveHead {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new EhwError("ARCHIVE_CORRUPT", `archive head ${blobName} is not JSON`, { cause: err });
  }
  const head = parsed as Partial<ArchiveHead> | null;
  if (typeof head?.file !== "string" || !Number.isSafeInteger(head.firstSequenceNumber)) {
    throw new EhwError("ARCHIVE_CORRUPT", `archive head ${blobName} lacks "file" or "firstSequenceNumber"`);
  }
  return { file: head.file, firstSequenceNumber: head.firstSequenceNumber as number };
}
