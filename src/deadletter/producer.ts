/**
 * The replay connection: an EventHubProducerClient for the target hub, built from the worker's
 * Event Hubs settings (connection string, or namespace with DefaultAzureCredential).
 */
import { EventHubProducerClient } from "@azure/event-hubs";
import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import { ConfigError } from "../common/errors.js";
import type { EventHubsConfig } from "../config/worker.js";
import { PRODUCER_RETRY_OPTIONS } from "../producer/client.js";

/**
 * The connection string without its EntityPath: the SDK refuses a hub name that differs from the
 * connection string's EntityPath, and replay may target another hub.
 */
export function withoutEntityPath(connectionString: string): string {
  return connectionString
    .split(";")
    .filter((part) => part.trim() !== "" && !/^\s*entitypath\s*=/i.test(part))
    .join(";");
}

/** Creates the producer for `hub`; nothing connects until the first operation. */
export function createReplayProducer(
  eventHubs: EventHubsConfig,
  hub: string,
  credential?: TokenCredential,
): EventHubProducerClient {
  const options = { retryOptions: PRODUCER_RETRY_OPTIONS };
  try {
    if (eventHubs.connectionString !== undefined) {
      return new EventHubProducerClient(withoutEntityPath(eventHubs.connectionString), hub, options);
    }
    const namespace = eventHubs.fullyQualifiedNamespace ?? eventHubs.endpointHost;
    return new EventHubProducerClient(namespace, hub, credential ?? new DefaultAzureCredential(), options);
  } catch (err) {
    // The SDK's message may quote the connection string; ours never does.
    throw new ConfigError(
      `cannot build an Event Hubs producer for hub "${hub}" from the connection settings`,
      {
        cause: err,
        context: { setting: "eventHubConnectionString" },
      },
    );
  }
}
