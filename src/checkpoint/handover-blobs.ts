/**
 * Hand-over request blobs: `<ns>/<hub>/<cg>/handover/<partitionId>`, next to the `ownership/` and
 * `checkpoint/` blobs of the same consumer group, empty, with the request in metadata (`from`,
 * `to`, `requestedat`, and `acceptedat` once the owner started handing over). Plain SDK processors
 * never read this prefix, so the blobs change nothing for them. Every write is conditional (create
 * only if absent, accept and delete under the ETag read), so two workers racing on one request
 * never undo each other's step.
 */
import type { ContainerClient } from "@azure/storage-blob";
import { isConditionConflict } from "./blob-records.js";
import { StorageDeadline, type StorageDeadlineOptions } from "./deadline.js";

/** Which consumer group's requests. */
export interface HandoverScope {
  readonly fullyQualifiedNamespace: string;
  readonly eventHubName: string;
  readonly consumerGroup: string;
}

/** A hand-over request as stored. */
export interface HandoverRequest {
  readonly partitionId: string;
  /** Owner id of the worker that asks for the partition. */
  readonly from: string;
  /** Owner id of the partition's owner when the request was written. */
  readonly to: string;
  /** Asker's clock when it asked, epoch milliseconds. */
  readonly requestedAtMs: number;
  /** Owner's clock when it stopped taking new events of the partition, epoch milliseconds. */
  readonly acceptedAtMs: number | undefined;
  readonly etag: string;
}

/** The storage operations of the protocol; each resolves false / undefined when it lost a race. */
export interface HandoverRequests {
  /** Every request of the scope (one list call). */
  list(scope: HandoverScope): Promise<HandoverRequest[]>;
  /** Writes a request unless one exists for the partition; its ETag, or undefined when one did. */
  create(
    scope: HandoverScope,
    request: Omit<HandoverRequest, "etag" | "acceptedAtMs">,
  ): Promise<string | undefined>;
  /** Marks a request accepted at `atMs` under its ETag; false when it changed or is gone. */
  accept(scope: HandoverScope, request: HandoverRequest, atMs: number): Promise<boolean>;
  /** Deletes a request under its ETag (any ETag when undefined); false when it changed or is gone. */
  delete(scope: HandoverScope, partitionId: string, etag: string | undefined): Promise<boolean>;
}

/** The blob name of a partition's request, lower-cased like BlobCheckpointStore's prefixes. */
export function handoverBlobPrefix(scope: HandoverScope): string {
  const ns = scope.fullyQualifiedNamespace.toLowerCase();
  return `${ns}/${scope.eventHubName.toLowerCase()}/${scope.consumerGroup.toLowerCase()}/handover/`;
}

/** Reads a request from blob metadata; undefined when it is not one of ours. */
export function parseRequest(
  partitionId: string,
  metadata: Record<string, string> | undefined,
  etag: string,
): HandoverRequest | undefined {
  const from = metadata?.from;
  const to = metadata?.to;
  const requestedAtMs = Number(metadata?.requestedat);
  if (!from || !to || !Number.isFinite(requestedAtMs)) return undefined;
  const accepted = Number(metadata?.acceptedat);
  return {
    partitionId,
    from,
    to,
    requestedAtMs,
    acceptedAtMs: metadata?.acceptedat !== undefined && Number.isFinite(accepted) ? accepted : undefined,
    etag,
  };
}

/** {@link HandoverRequests} over the checkpoint container. */
export class BlobHandoverRequests implements HandoverRequests {
  private readonly deadline: StorageDeadline;

  constructor(
    private readonly containerClient: ContainerClient,
    options: StorageDeadlineOptions = {},
  ) {
    this.deadline = StorageDeadline.of(containerClient, options);
  }

  async list(scope: HandoverScope): Promise<HandoverRequest[]> {
    const prefix = handoverBlobPrefix(scope);
    return this.deadline.run("list hand-over requests", async (abortSignal) => {
      const found: HandoverRequest[] = [];
      const blobs = this.containerClient.listBlobsFlat({ prefix, includeMetadata: true, abortSignal });
      for await (const blob of blobs) {
        const request = parseRequest(
          blob.name.slice(prefix.length),
          blob.metadata,
          blob.properties.etag ?? "",
        );
        if (request !== undefined) found.push(request);
      }
      return found;
    });
  }

  async create(
    scope: HandoverScope,
    request: Omit<HandoverRequest, "etag" | "acceptedAtMs">,
  ): Promise<string | undefined> {
    const blob = this.blob(scope, request.partitionId);
    const metadata = { from: request.from, to: request.to, requestedat: String(request.requestedAtMs) };
    try {
      const response = await this.deadline.run("write a hand-over request", (abortSignal) =>
        blob.upload("", 0, { metadata, conditions: { ifNoneMatch: "*" }, abortSignal }),
      );
      return response.etag;
    } catch (err) {
      if (isConditionConflict(err)) return undefined;
      throw err;
    }
  }

  async accept(scope: HandoverScope, request: HandoverRequest, atMs: number): Promise<boolean> {
    const blob = this.blob(scope, request.partitionId);
    const metadata = {
      from: request.from,
      to: request.to,
      requestedat: String(request.requestedAtMs),
      acceptedat: String(atMs),
    };
    try {
      await this.deadline.run("accept a hand-over request", (abortSignal) =>
        blob.setMetadata(metadata, { conditions: { ifMatch: request.etag }, abortSignal }),
      );
      return true;
    } catch (err) {
      if (isConditionConflict(err) || statusOf(err) === 404) return false;
      throw err;
    }
  }

  async delete(scope: HandoverScope, partitionId: string, etag: string | undefined): Promise<boolean> {
    const blob = this.blob(scope, partitionId);
    try {
      await this.deadline.run("delete a hand-over request", (abortSignal) =>
        blob.delete({ conditions: etag === undefined ? {} : { ifMatch: etag }, abortSignal }),
      );
      return true;
    } catch (err) {
      if (isConditionConflict(err) || statusOf(err) === 404) return false;
      throw err;
    }
  }

  private blob(scope: HandoverScope, partitionId: string) {
    return this.containerClient.getBlockBlobClient(`${handoverBlobPrefix(scope)}${partitionId}`);
  }
}

function statusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}
