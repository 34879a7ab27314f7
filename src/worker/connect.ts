/**
 * Building the SDK clients from the compiled config and checking, before subscribing, that the hub
 * and the checkpoint container answer — so a wrong connection string, hub name or account fails at
 * once with an error naming what to fix, instead of the SDK retrying in the background forever.
 */
import {
  type CheckpointStore,
  EventHubConsumerClient,
  type EventHubConsumerClientOptions,
  type EventHubProperties,
  type RetryOptions,
} from "@azure/event-hubs";
import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import {
  EVENT_HUBS_UNREACHABLE_CODES,
  errorCodes,
  errorNames,
  isCredentialFailure,
} from "../common/connectivity.js";
import { ConfigError, ConnectionError, type EhwError } from "../common/errors.js";
import type { WorkerConfig } from "../config/worker.js";

/** The consumer client of a worker: identifier = owner id, load balancing and retries from config. */
export function createConsumerClient(
  config: WorkerConfig,
  store: CheckpointStore,
  credential?: TokenCredential,
): EventHubConsumerClient {
  const options = consumerClientOptions(config);
  const client = newConsumerClient(config, store, options, credential);
  retryLoadBalancerWith(client, options.retryOptions ?? {});
  return client;
}

/**
 * A consumer client with no checkpoint store, for start-up checks: its receivers carry no epoch,
 * so they never take a partition from a running worker of the fleet (an epoch-0 reader would).
 */
export function createProbeClient(
  config: WorkerConfig,
  credential?: TokenCredential,
): EventHubConsumerClient {
  return newConsumerClient(config, undefined, consumerClientOptions(config), credential);
}

function consumerClientOptions(config: WorkerConfig): EventHubConsumerClientOptions {
  const { loadBalancing, sdkRetry } = config;
  return {
    identifier: loadBalancing.ownerId,
    loadBalancingOptions: {
      strategy: loadBalancing.strategy,
      updateIntervalInMs: loadBalancing.updateIntervalMs,
      partitionOwnershipExpirationIntervalInMs: loadBalancing.ownershipExpirationMs,
    },
    retryOptions: {
      retryDelayInMs: sdkRetry.retryDelayMs,
      maxRetryDelayInMs: sdkRetry.maxRetryDelayMs,
      maxRetries: sdkRetry.maxRetries,
      timeoutInMs: sdkRetry.tryTimeoutMs,
    },
  };
}

function newConsumerClient(
  config: WorkerConfig,
  store: CheckpointStore | undefined,
  options: EventHubConsumerClientOptions,
  credential: TokenCredential | undefined,
): EventHubConsumerClient {
  const { eventHubs } = config;
  const { consumerGroup, eventHubName, connectionString } = eventHubs;
  const namespace = eventHubs.fullyQualifiedNamespace ?? eventHubs.endpointHost;
  if (connectionString !== undefined) {
    return store === undefined
      ? new EventHubConsumerClient(consumerGroup, connectionString, eventHubName, options)
      : new EventHubConsumerClient(consumerGroup, connectionString, eventHubName, store, options);
  }
  const cred = credential ?? new DefaultAzureCredential();
  return store === undefined
    ? new EventHubConsumerClient(consumerGroup, namespace, eventHubName, cred, options)
    : new EventHubConsumerClient(consumerGroup, namespace, eventHubName, cred, store, options);
}

/** The part of the SDK's connection context {@link retryLoadBalancerWith} reaches into. */
interface ManagementSessionLike {
  getEventHubProperties(options?: { retryOptions?: RetryOptions }): Promise<unknown>;
}

/**
 * Makes the load balancer's hub lookups use the client's retry options. Each loop of the SDK's
 * load balancer starts with `this._context.managementSession.getEventHubProperties({ abortSignal })`
 * (eventProcessor.js, `_runLoopWithLoadBalancing`) and passes no `retryOptions`, so core-amqp's
 * defaults apply: after one refused connection (a hub restart) the loop sleeps 30 s before it
 * retries, and no partition is claimed or renewed meanwhile — the ~28 s stalls, during which
 * ownerships expire and greedy workers steal back and forth. The session is created once with the
 * connection context and kept across reconnects, so wrapping its method once is enough. Returns
 * false (and changes nothing) when the SDK's shape is not the expected one.
 */
export function retryLoadBalancerWith(client: EventHubConsumerClient, retryOptions: RetryOptions): boolean {
  const context = (client as unknown as { _context?: { managementSession?: unknown } })._context;
  const session = context?.managementSession as ManagementSessionLike | undefined;
  if (session === undefined || typeof session.getEventHubProperties !== "function") return false;
  const original = session.getEventHubProperties.bind(session);
  session.getEventHubProperties = (opts = {}) =>
    original({ ...opts, retryOptions: opts.retryOptions ?? retryOptions });
  return true;
}

/**
 * Reads the hub's properties (its partition ids) within `timeoutMs`, translating failures into
 * ConfigError (the hub does not exist) or ConnectionError (unreachable, refused credentials, no
 * answer in time) naming the endpoint host, never a key.
 */
export async function probeEventHub(
  client: EventHubConsumerClient,
  config: WorkerConfig,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<EventHubProperties> {
  const deadline = AbortSignal.timeout(timeoutMs);
  try {
    const abortSignal = signal === undefined ? deadline : AbortSignal.any([signal, deadline]);
    return await client.getEventHubProperties({ abortSignal });
  } catch (err) {
    // A stop during start-up is not a hub fault: let the caller see the abort as it is.
    if (signal?.aborted === true) throw err;
    throw translateEventHubsError(err, config, timeoutMs);
  }
}

/** Translates an Event Hubs SDK error met while probing; classified by code and name only. */
export function translateEventHubsError(err: unknown, config: WorkerConfig, timeoutMs: number): EhwError {
  const { endpointHost: host, eventHubName, consumerGroup } = config.eventHubs;
  const codes = errorCodes(err);
  const names = errorNames(err);
  const context = { host, eventHubName, codes: [...codes] };
  if (codes.has("MessagingEntityNotFoundError")) {
    return new ConfigError(
      `event hub "${eventHubName}" (consumer group "${consumerGroup}") was not found at ${host}: check eventHubName (EHW_EVENTHUB_NAME) or EntityPath in the connection string`,
      { cause: err, context: { ...context, setting: "eventHubName" } },
    );
  }
  if (codes.has("UnauthorizedError")) {
    return new ConnectionError(
      `Event Hubs at ${host} refused the credentials: check SharedAccessKeyName / SharedAccessKey in the connection string, or the role assignment (Azure Event Hubs Data Receiver) of the identity`,
      { cause: err, retriable: false, context },
    );
  }
  if (isCredentialFailure(err)) {
    return new ConnectionError(
      `DefaultAzureCredential could not get a token for Event Hubs at ${host}: sign in (az login), or configure a managed / workload identity`,
      { cause: err, retriable: false, context },
    );
  }
  if ([...codes].some((c) => EVENT_HUBS_UNREACHABLE_CODES.has(c))) {
    return new ConnectionError(
      `cannot reach Event Hubs at ${host} (${[...codes].join(", ")}): check the namespace / Endpoint in the connection string and that it is reachable from here`,
      { cause: err, retriable: true, context },
    );
  }
  if (names.has("AbortError") || names.has("TimeoutError")) {
    return new ConnectionError(
      `Event Hubs at ${host} did not answer within ${timeoutMs} ms: check the namespace / Endpoint and the network`,
      { cause: err, retriable: true, context },
    );
  }
  const detail = [...codes, ...names].join(", ");
  return new ConnectionError(
    `cannot read event hub "${eventHubName}" at ${host}${detail ? ` (${detail})` : ""}`,
    { cause: err, retriable: true, context },
  );
}
