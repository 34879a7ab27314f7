/**
 * The clients the operator commands read and write through: an EventHubConsumerClient (partition
 * properties, reading single events) and the SDK's BlobCheckpointStore over the checkpoint
 * container, addressed exactly as the worker's SDK addresses them. Event Hubs failures are
 * translated here into one-line errors that say what to fix.
 */
import { type CheckpointStore, EventHubConsumerClient, type RetryOptions } from "@azure/event-hubs";
import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import type { ContainerClient } from "@azure/storage-blob";
import {
  createBlobCheckpointStore,
  createContainerClient,
  storageEndpointHost,
} from "../checkpoint/blob-store.js";
import {
  EVENT_HUBS_UNREACHABLE_CODES,
  errorCodes,
  isCredentialFailure,
  isUnreachable,
} from "../common/connectivity.js";
import { ConfigError, ConnectionError, type EhwError } from "../common/errors.js";
import { redactSecrets } from "../observability/logger.js";
import { rootSdkError } from "../producer/client.js";
import type { InspectConfig } from "./config.js";

/**
 * SDK retries of the operator commands: a few quick attempts, so that a typo or an unreachable
 * host fails within seconds instead of after the SDK's 30 s delays.
 */
export const INSPECT_RETRY_OPTIONS: RetryOptions = {
  maxRetries: 2,
  retryDelayInMs: 500,
  maxRetryDelayInMs: 2000,
  timeoutInMs: 20_000,
};

/** The consumer group's identity in blob names, as the worker's SDK computes it. */
export interface InspectTarget {
  /** `client.fullyQualifiedNamespace`: the Endpoint host without its port (e.g. `127.0.0.1`). */
  readonly fullyQualifiedNamespace: string;
  readonly eventHubName: string;
  readonly consumerGroup: string;
}

/** Open clients of one consumer group; close them with {@link InspectClients.close}. */
export interface InspectClients {
  readonly target: InspectTarget;
  readonly consumer: EventHubConsumerClient;
  readonly containerClient: ContainerClient;
  readonly store: CheckpointStore;
  /** Host (and port) of the Event Hubs endpoint; safe to print. */
  readonly eventHubsHost: string;
  /** Host (and port) of the blob endpoint; safe to print. */
  readonly storageHost: string;
  readonly containerName: string;
  /** Closes the Event Hubs connection. */
  close(): Promise<void>;
}

/** Options of {@link openInspectClients}. */
export interface OpenInspectClientsOptions {
  /** Credential for namespace / account URL settings; default one shared DefaultAzureCredential. */
  readonly credential?: TokenCredential;
  /** Event Hubs retries; default {@link INSPECT_RETRY_OPTIONS}. */
  readonly retryOptions?: RetryOptions;
}

/** Builds the clients; nothing connects until the first operation. */
export function openInspectClients(
  config: InspectConfig,
  options: OpenInspectClientsOptions = {},
): InspectClients {
  const { eventHubs, storage } = config;
  const needsCredential = eventHubs.connectionString === undefined || storage.connectionString === undefined;
  const credential = options.credential ?? (needsCredential ? new DefaultAzureCredential() : undefined);
  const clientOptions = { retryOptions: options.retryOptions ?? INSPECT_RETRY_OPTIONS };
  let consumer: EventHubConsumerClient;
  try {
    consumer =
      eventHubs.connectionString !== undefined
        ? new EventHubConsumerClient(
            eventHubs.consumerGroup,
            eventHubs.connectionString,
            eventHubs.eventHubName,
            clientOptions,
          )
        : new EventHubConsumerClient(
            eventHubs.consumerGroup,
            eventHubs.fullyQualifiedNamespace ?? eventHubs.endpointHost,
            eventHubs.eventHubName,
            credential as TokenCredential,
            clientOptions,
          );
  } catch (err) {
    // The SDK's message may quote the connection string; ours never does.
    throw new ConfigError("the Event Hubs connection settings are not accepted by the Event Hubs SDK", {
      cause: err,
      context: { setting: "eventHubConnectionString" },
    });
  }
  const containerClient = createContainerClient(storage, {
    ...(credential === undefined ? {} : { credential }),
    pipeline: { retryOptions: { maxTries: 2, retryDelayInMs: 500, tryTimeoutInMs: 20_000 } },
  });
  return {
    // The SDK names blobs after its own idea of the namespace: take it from the client itself.
    target: {
      fullyQualifiedNamespace: consumer.fullyQualifiedNamespace,
      eventHubName: consumer.eventHubName,
      consumerGroup: eventHubs.consumerGroup,
    },
    consumer,
    containerClient,
    store: createBlobCheckpointStore(containerClient),
    eventHubsHost: eventHubs.endpointHost,
    storageHost: storageEndpointHost(containerClient),
    containerName: storage.containerName,
    close: () => consumer.close(),
  };
}

/** Where an Event Hubs call went and what it tried, for {@link translateEventHubsError}. */
export interface EventHubsErrorContext {
  readonly host: string;
  readonly eventHubName: string;
  /** What was attempted, e.g. "read its partitions". */
  readonly operation: string;
}

/**
 * Translates an Event Hubs SDK or credential error into one line of our family, classified by the
 * SDK's error code and the error's name along the cause chain (never by message text).
 */
export function translateEventHubsError(err: unknown, where: EventHubsErrorContext): EhwError {
  if (err instanceof ConnectionError || err instanceof ConfigError) return err;
  const root = rootSdkError(err);
  const codes = errorCodes(err);
  const hub = `event hub '${where.eventHubName}' at ${where.host}`;
  const context = { host: where.host, eventHubName: where.eventHubName, codes: [...codes] };
  if (codes.has("MessagingEntityNotFoundError")) {
    return new ConnectionError(
      `${hub} does not exist (while trying to ${where.operation}): check EHW_EVENTHUB_NAME / --eventhub-name, or the EntityPath of the connection string`,
      { cause: err, retriable: false, context },
    );
  }
  if (codes.has("UnauthorizedError") || codes.has("UnauthorizedAccessError")) {
    return new ConnectionError(
      `${hub} refused our credentials (while trying to ${where.operation}): check SharedAccessKeyName / SharedAccessKey, or the identity's role (Azure Event Hubs Data Receiver)`,
      { cause: err, retriable: false, context },
    );
  }
  if (isCredentialFailure(err)) {
    return new ConnectionError(
      `DefaultAzureCredential could not get a token for ${hub}: sign in (az login), or configure a managed / workload identity`,
      { cause: err, retriable: false, context },
    );
  }
  if (isUnreachable(err, EVENT_HUBS_UNREACHABLE_CODES)) {
    return new ConnectionError(
      `cannot reach ${hub} to ${where.operation} (${[...codes].join(", ")}): check the Endpoint / namespace and that it is reachable from here`,
      { cause: err, retriable: true, context },
    );
  }
  const message = redactSecrets((root instanceof Error ? root.message : String(root)).split("\n")[0] ?? "");
  return new ConnectionError(`${hub}: failed to ${where.operation}: ${message.trim() || "no message"}`, {
    cause: err,
    retriable: true,
    context,
  });
}
