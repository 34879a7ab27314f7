/**
 * Checkpoint storage in Azure Blob storage: the container client (connection string, or account URL
 * with DefaultAzureCredential), the container check/creation, the SDK's BlobCheckpointStore, and the
 * blob names it uses. Storage failures are translated here, once, into errors that say what to fix.
 */

import type { CheckpointStore } from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import { BlobServiceClient, type ContainerClient, type StoragePipelineOptions } from "@azure/storage-blob";
import { errorCodes, isCredentialFailure, STORAGE_UNREACHABLE_CODES } from "../common/connectivity.js";
import { ConfigError, ConnectionError, EhwError } from "../common/errors.js";
import { isAbortError } from "../common/retry.js";
import type { StorageConfig } from "../config/worker.js";
import type { Logger } from "../observability/logger.js";
import { DeadlineCheckpointStore, StorageDeadline, type StorageDeadlineOptions } from "./deadline.js";

/** Options of {@link createContainerClient}. */
export interface ContainerClientOptions {
  /** Credential for `accountUrl`; default a new DefaultAzureCredential. Unused with a connection string. */
  readonly credential?: TokenCredential;
  /** Storage SDK pipeline options (retries, timeouts); default: 4 tries, 500 ms → 5 s backoff. */
  readonly pipeline?: StoragePipelineOptions;
}

/** Retries of the long-lived client: the load balancer loops anyway, so keep each call short. */
const DEFAULT_PIPELINE: StoragePipelineOptions = {
  retryOptions: { maxTries: 4, retryDelayInMs: 500, maxRetryDelayInMs: 5000, tryTimeoutInMs: 30_000 },
};

/** Builds the container client of the checkpoint container; does not touch the network. */
export function createContainerClient(
  storage: StorageConfig,
  options: ContainerClientOptions = {},
): ContainerClient {
  const pipeline = options.pipeline ?? DEFAULT_PIPELINE;
  if (storage.connectionString !== undefined) {
    return BlobServiceClient.fromConnectionString(storage.connectionString, pipeline).getContainerClient(
      storage.containerName,
    );
  }
  if (storage.accountUrl === undefined) {
    throw new ConfigError("no checkpoint storage: set a storage connection string or account URL", {
      context: { setting: "storageConnectionString" },
    });
  }
  const credential = options.credential ?? new DefaultAzureCredential();
  return new BlobServiceClient(storage.accountUrl, credential, pipeline).getContainerClient(
    storage.containerName,
  );
}

export { storageEndpointHost } from "./deadline.js";

/** Options of {@link prepareCheckpointContainer}. */
export interface PrepareContainerOptions extends StorageDeadlineOptions {
  /** Stops the check at once (e.g. SIGTERM during start-up); it then rejects with an AbortError. */
  readonly signal?: AbortSignal;
}

/**
 * Checks that the checkpoint container is reachable and exists, creating it when it is missing and
 * `storage.createContainer` allows. Throws ConnectionError (unreachable, refused credentials, no
 * answer within the deadline) or ConfigError (missing container that may not be created) saying
 * what to fix.
 */
export async function prepareCheckpointContainer(
  containerClient: ContainerClient,
  storage: StorageConfig,
  logger: Logger,
  options: PrepareContainerOptions = {},
): Promise<void> {
  const deadline = StorageDeadline.of(containerClient, options);
  const where = { host: deadline.host, containerName: storage.containerName };
  const { signal } = options;
  let exists: boolean;
  try {
    const operation = `check the checkpoint container "${storage.containerName}"`;
    exists = await deadline.run(operation, (abortSignal) => containerClient.exists({ abortSignal }), signal);
  } catch (err) {
    if (isAbortError(err)) throw err;
    throw translateStorageError(err, { ...where, operation: "check the checkpoint container" });
  }
  if (exists) return;
  if (!storage.createContainer) {
    throw new ConfigError(
      `checkpoint container "${storage.containerName}" does not exist on ${where.host} and createContainer is false: create it, or set EHW_CREATE_CONTAINER=true (--create-container true)`,
      { context: { setting: "containerName" } },
    );
  }
  try {
    const operation = `create the checkpoint container "${storage.containerName}"`;
    const created = await deadline.run(
      operation,
      (abortSignal) => containerClient.createIfNotExists({ abortSignal }),
      signal,
    );
    if (created.succeeded) logger.info(where, "checkpoint container created");
  } catch (err) {
    if (isAbortError(err)) throw err;
    throw translateStorageError(err, { ...where, operation: "create the checkpoint container" });
  }
}

/** Where a storage call went and what it tried to do, for {@link translateStorageError}. */
export interface StorageErrorContext {
  /** Endpoint host (and port), never the key. */
  readonly host: string;
  /** Container name. */
  readonly containerName: string;
  /** What was attempted, e.g. "check the checkpoint container". */
  readonly operation: string;
}

/**
 * Translates a storage SDK or credential error into our family, classified by status code, error
 * code and error name (never message text); the original is the `cause`.
 */
export function translateStorageError(err: unknown, where: StorageErrorContext): EhwError {
  // Already ours: a missed deadline (StorageTimeoutError) says what to check itself.
  if (err instanceof EhwError) return err;
  const status = fieldOf(err, "statusCode");
  const context = { host: where.host, containerName: where.containerName, statusCode: status };
  const codes = errorCodes(err);
  if ([...codes].some((c) => STORAGE_UNREACHABLE_CODES.has(c))) {
    return new ConnectionError(
      `cannot reach blob storage at ${where.host} to ${where.operation} (${[...codes].join(", ")}): check the storage account name / BlobEndpoint and that the account is reachable from here`,
      { cause: err, retriable: true, context },
    );
  }
  if (status === 401 || status === 403) {
    return new ConnectionError(
      `blob storage at ${where.host} refused to ${where.operation} (HTTP ${status}): check the AccountKey / SAS in the storage connection string, or the role assignment (Storage Blob Data Contributor) of the identity`,
      { cause: err, retriable: false, context },
    );
  }
  if (isCredentialFailure(err)) {
    return new ConnectionError(
      `DefaultAzureCredential could not get a token for blob storage at ${where.host}: sign in (az login), or configure a managed / workload identity`,
      { cause: err, retriable: false, context },
    );
  }
  const detail = [status === undefined ? undefined : `HTTP ${status}`, ...codes].filter(Boolean).join(", ");
  return new ConnectionError(
    `blob storage at ${where.host} failed to ${where.operation}${detail ? ` (${detail})` : ""}`,
    { cause: err, retriable: true, context },
  );
}

/** Whether a storage error is an ETag conflict (HTTP 412): the one error that means "lost a race". */
export function isEtagConflict(err: unknown): boolean {
  return fieldOf(err, "statusCode") === 412;
}

/** The SDK's BlobCheckpointStore over a container client, each call under a {@link StorageDeadline}. */
export function createBlobCheckpointStore(
  containerClient: ContainerClient,
  options: StorageDeadlineOptions = {},
): CheckpointStore {
  return new DeadlineCheckpointStore(
    new BlobCheckpointStore(containerClient),
    StorageDeadline.of(containerClient, options),
  );
}

/** Identity of one consumer group's state in the container. */
export interface BlobPrefixParams {
  /** Namespace host as the SDK reports it (`client.fullyQualifiedNamespace`); a port is dropped. */
  readonly fullyQualifiedNamespace: string;
  /** Event hub name. */
  readonly eventHubName: string;
  /** Consumer group. */
  readonly consumerGroup: string;
}

/** Blob name prefixes of one consumer group, as BlobCheckpointStore writes them. */
export interface BlobPrefixes {
  /** `<fqns>/<hub>/<cg>/`, all lower-case. */
  readonly root: string;
  /** `<root>ownership/`; one blob per partition id, owner in metadata `ownerid`. */
  readonly ownership: string;
  /** `<root>checkpoint/`; one blob per partition id, metadata `sequencenumber` and `offset`. */
  readonly checkpoint: string;
}

/**
 * The namespace part of blob names for an endpoint host: the SDK's connection config keeps only the
 * host name (`127.0.0.1:5672` → `127.0.0.1`), and BlobCheckpointStore lower-cases it.
 */
export function blobNamespace(endpointHost: string): string {
  const withoutScheme = endpointHost.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  const host = withoutScheme.split("/")[0] ?? "";
  // IPv6 literals are written in brackets when they carry a port.
  const bracketed = /^\[([^\]]+)\]/.exec(host);
  const name = bracketed?.[1] ?? (host.split(":").length === 2 ? host.split(":")[0] : host);
  return (name ?? "").toLowerCase();
}

/**
 * Blob prefixes of a consumer group's ownership and checkpoint blobs, matching
 * `BlobCheckpointStore.getBlobPrefix` (namespace, hub and consumer group lower-cased). Different
 * spellings of one namespace (`localhost` vs `127.0.0.1`) give different prefixes.
 */
export function checkpointBlobPrefixes(params: BlobPrefixParams): BlobPrefixes {
  const root = `${blobNamespace(params.fullyQualifiedNamespace)}/${params.eventHubName.toLowerCase()}/${params.consumerGroup.toLowerCase()}/`;
  return { root, ownership: `${root}ownership/`, checkpoint: `${root}checkpoint/` };
}

function fieldOf(err: unknown, key: string): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const value = (err as Record<string, unknown>)[key];
  return typeof value === "number" ? value : undefined;
}
