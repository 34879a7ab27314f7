/**
 * The dead-letter container: one JSON blob per dead-lettered event (see naming.ts for the names
 * and document.ts for the content). Blob metadata repeats what `ehw deadletter list` shows, so a
 * listing needs no blob reads. Storage failures are translated once, here; the only one swallowed
 * is HTTP 412 on a create-only write, which means the same document is already there.
 */
import type { TokenCredential } from "@azure/identity";
import type { ContainerClient } from "@azure/storage-blob";
import {
  createContainerClient,
  isEtagConflict,
  storageEndpointHost,
  translateStorageError,
} from "../checkpoint/blob-store.js";
import { pagesWithin, StorageDeadline, type StorageDeadlineOptions } from "../checkpoint/deadline.js";
import { ConfigError, EhwError } from "../common/errors.js";
import { isAbortError } from "../common/retry.js";
import type { StorageConfig } from "../config/worker.js";
import type { Logger } from "../observability/logger.js";
import type { DeadLetterDocument } from "./document.js";
import {
  deadLetterBlobName,
  deadLetterPrefix,
  defaultDeadLetterContainer,
  parseDeadLetterBlobName,
} from "./naming.js";

/** Longest metadata value we write for the error summary, in characters (headers have limits). */
const MAX_ERROR_METADATA = 256;

/** A dead-letter blob as listed. */
export interface DeadLetterEntry {
  /** Blob name. */
  readonly name: string;
  /** Partition id. */
  readonly partitionId: string;
  /** Sequence number. */
  readonly sequenceNumber: number;
  /** Pipeline that failed on it; "" when the blob carries no metadata. */
  readonly pipeline: string;
  /** One-line error summary; "" when the blob carries no metadata. */
  readonly error: string;
  /** When it was dead-lettered, ISO-8601 UTC. */
  readonly deadLetteredAt: string;
}

/** Filters of {@link DeadLetterStore.list}. */
export interface DeadLetterListFilter {
  /** Only this partition; default all. */
  readonly partitionId?: string;
  /** Only this pipeline; default all. */
  readonly pipeline?: string;
  /** Stop after this many entries; default no limit. */
  readonly limit?: number;
}

/** Options of {@link DeadLetterStore}. */
export interface DeadLetterStoreOptions {
  /** Hub whose documents this store writes and lists. */
  readonly eventHubName: string;
  /** Consumer group whose documents this store writes and lists. */
  readonly consumerGroup: string;
  /** Deadline of each storage call, as for the checkpoint store. */
  readonly deadline?: StorageDeadlineOptions;
}

/** Reads and writes one consumer group's dead-letter documents in a container. */
export class DeadLetterStore {
  private readonly host: string;
  private readonly deadline: StorageDeadline;

  constructor(
    private readonly container: ContainerClient,
    private readonly options: DeadLetterStoreOptions,
  ) {
    this.host = storageEndpointHost(container);
    this.deadline = StorageDeadline.of(container, options.deadline);
  }

  /** The container name. */
  get containerName(): string {
    return this.container.containerName;
  }

  /**
   * Checks the container exists, creating it when missing and `create` allows. Throws
   * ConnectionError (unreachable, refused) or ConfigError (missing and may not be created).
   */
  async prepare(create: boolean, logger?: Logger, signal?: AbortSignal): Promise<void> {
    let exists: boolean;
    try {
      exists = await this.deadline.run(
        `check the dead-letter container "${this.containerName}"`,
        (abortSignal) => this.container.exists({ abortSignal }),
        signal,
      );
    } catch (err) {
      if (isAbortError(err)) throw err;
      throw this.translate(err, "check the dead-letter container");
    }
    if (exists) return;
    if (!create) {
      throw new ConfigError(
        `dead-letter container "${this.containerName}" does not exist on ${this.host}: create it, or allow the worker to (createContainer)`,
        { context: { setting: "deadLetterContainer" } },
      );
    }
    try {
      const created = await this.deadline.run(
        `create the dead-letter container "${this.containerName}"`,
        (abortSignal) => this.container.createIfNotExists({ abortSignal }),
        signal,
      );
      if (created.succeeded)
        logger?.info({ containerName: this.containerName }, "dead-letter container created");
    } catch (err) {
      if (isAbortError(err)) throw err;
      throw this.translate(err, "create the dead-letter container");
    }
  }

  /**
   * Writes one document, create-only, and returns its blob name. A 412 (the name exists) means the
   * same write already happened and counts as success.
   */
  async write(doc: DeadLetterDocument, signal?: AbortSignal): Promise<string> {
    const name = deadLetterBlobName({
      eventHubName: doc.eventHubName,
      consumerGroup: doc.consumerGroup,
      partitionId: doc.partitionId,
      sequenceNumber: doc.sequenceNumber,
      deadLetteredAtMs: Date.parse(doc.deadLetteredAt),
    });
    const text = JSON.stringify(doc);
    try {
      const blob = this.container.getBlockBlobClient(name);
      await this.deadline.run(
        `write dead-letter document ${name}`,
        (abortSignal) =>
          blob.upload(text, Buffer.byteLength(text), {
            abortSignal,
            conditions: { ifNoneMatch: "*" },
            blobHTTPHeaders: { blobContentType: "application/json" },
            metadata: metadataOf(doc),
          }),
        signal,
      );
    } catch (err) {
      if (isEtagConflict(err)) return name;
      throw this.translate(err, `write dead-letter document ${name}`);
    }
    return name;
  }

  /** Lists documents in name order (partition, sequence number, time). */
  async list(filter: DeadLetterListFilter = {}): Promise<DeadLetterEntry[]> {
    const prefix = deadLetterPrefix(
      this.options.eventHubName,
      this.options.consumerGroup,
      filter.partitionId,
    );
    const out: DeadLetterEntry[] = [];
    try {
      const pages = pagesWithin(
        this.deadline,
        "list the dead-letter container",
        (abortSignal, continuationToken) =>
          this.container
            .listBlobsFlat({ prefix, includeMetadata: true, abortSignal })
            .byPage({ continuationToken }),
      );
      for await (const page of pages) {
        for (const blob of page.segment.blobItems) {
          const entry = entryOf(blob.name, blob.metadata ?? {});
          if (entry === undefined) continue;
          if (filter.pipeline !== undefined && entry.pipeline !== filter.pipeline) continue;
          out.push(entry);
          if (filter.limit !== undefined && out.length >= filter.limit) return out;
        }
      }
    } catch (err) {
      if (statusOf(err) === 404) {
        // A mistyped container name must not read as "nothing was dead-lettered".
        throw new ConfigError(
          `dead-letter container "${this.containerName}" does not exist on ${this.host}: check the dead-letter container setting`,
          { cause: err, context: { setting: "deadLetterContainer" } },
        );
      }
      throw this.translate(err, "list the dead-letter container");
    }
    return out;
  }

  /** Reads one document. Throws EhwError `DEADLETTER_UNREADABLE` when the blob is not a document. */
  async read(name: string): Promise<DeadLetterDocument> {
    let text: string;
    try {
      const blob = this.container.getBlockBlobClient(name);
      const buffer = await this.deadline.run(`read dead-letter document ${name}`, (abortSignal) =>
        blob.downloadToBuffer(undefined, undefined, { abortSignal }),
      );
      text = buffer.toString("utf8");
    } catch (err) {
      throw this.translate(err, `read dead-letter document ${name}`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new EhwError("DEADLETTER_UNREADABLE", `dead-letter blob ${name} is not JSON`, { cause: err });
    }
    if (
      typeof doc !== "object" ||
      doc === null ||
      typeof (doc as DeadLetterDocument).bodyEncoding !== "string"
    ) {
      throw new EhwError("DEADLETTER_UNREADABLE", `dead-letter blob ${name} is not a dead-letter document`);
    }
    return doc as DeadLetterDocument;
  }

  /** Deletes one document (after it was replayed). */
  async delete(name: string): Promise<void> {
    try {
      const blob = this.container.getBlockBlobClient(name);
      await this.deadline.run(`delete dead-letter document ${name}`, (abortSignal) =>
        blob.delete({ abortSignal }),
      );
    } catch (err) {
      throw this.translate(err, `delete dead-letter document ${name}`);
    }
  }

  private translate(err: unknown, operation: string): EhwError {
    return translateStorageError(err, { host: this.host, containerName: this.containerName, operation });
  }
}

/** Metadata values must be ASCII header text: URI-encode what we cannot control. */
function metadataOf(doc: DeadLetterDocument): Record<string, string> {
  // Cut by code points: a cut surrogate pair would make encodeURIComponent throw.
  const summary = Array.from(`${doc.error.name}: ${doc.error.message}`).slice(0, MAX_ERROR_METADATA).join("");
  return {
    pipeline: encodeURIComponent(doc.pipeline),
    error: encodeURIComponent(summary),
    deadletteredat: doc.deadLetteredAt,
  };
}

function entryOf(name: string, metadata: Record<string, string>): DeadLetterEntry | undefined {
  const ref = parseDeadLetterBlobName(name);
  if (ref === undefined) return undefined;
  return {
    name,
    partitionId: ref.partitionId,
    sequenceNumber: ref.sequenceNumber,
    pipeline: decodeMetadata(metadata.pipeline),
    error: decodeMetadata(metadata.error),
    deadLetteredAt: metadata.deadletteredat ?? new Date(ref.deadLetteredAtMs).toISOString(),
  };
}

function statusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

function decodeMetadata(value: string | undefined): string {
  if (value === undefined) return "";
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Options of {@link createDeadLetterStore}. */
export interface CreateDeadLetterStoreOptions extends DeadLetterStoreOptions {
  /** The checkpoint storage settings; the same account holds the dead-letter container. */
  readonly storage: StorageConfig;
  /** Dead-letter container name; default `<checkpoint container>-deadletter`. */
  readonly containerName?: string;
  /** Credential for account-URL auth; default a DefaultAzureCredential. */
  readonly credential?: TokenCredential;
}

/** A store over the dead-letter container of the checkpoint storage account; no network yet. */
export function createDeadLetterStore(options: CreateDeadLetterStoreOptions): DeadLetterStore {
  const containerName = options.containerName ?? defaultDeadLetterContainer(options.storage.containerName);
  const container = createContainerClient(
    { ...options.storage, containerName },
    { credential: options.credential },
  );
  return new DeadLetterStore(container, options);
}
