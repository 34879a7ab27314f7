/**
 * The load generator's connection to Event Hubs: building the producer client, checking the hub
 * (and partition) exist before sending, and turning SDK failures into one readable line.
 */
import { EventHubProducerClient, type RetryOptions } from "@azure/event-hubs";
import { ConfigError, ConnectionError } from "../common/errors.js";
import { redactSecrets } from "../observability/logger.js";
import type { SendOptions } from "./options.js";

/**
 * Retries of the producer. The SDK's default waits 30 s between attempts, which makes a typo in
 * a connection string look like a hang; three quick retries still ride out a brief outage.
 */
export const PRODUCER_RETRY_OPTIONS: RetryOptions = {
  maxRetries: 3,
  retryDelayInMs: 500,
  maxRetryDelayInMs: 5000,
  timeoutInMs: 30_000,
};

/** Creates the producer for `options.hub`. Nothing connects until the first operation. */
export function createProducerClient(
  options: Pick<SendOptions, "connectionString" | "hub">,
): EventHubProducerClient {
  try {
    return new EventHubProducerClient(options.connectionString, options.hub, {
      retryOptions: PRODUCER_RETRY_OPTIONS,
    });
  } catch (err) {
    // The SDK's message may quote the connection string; ours never does.
    throw new ConfigError("--connection-string is not an Event Hubs connection string the SDK accepts", {
      cause: err,
      context: { setting: "--connection-string" },
    });
  }
}

/**
 * The error that says what went wrong: core-amqp's retry gives up with an AggregateError of every
 * attempt's error, whose own message is empty, so the last attempt's error stands for it.
 */
export function rootSdkError(err: unknown): unknown {
  if (err instanceof AggregateError && err.errors.length > 0) return rootSdkError(err.errors.at(-1));
  return err;
}

/** core-amqp's code of a refused token (CBS status 401). */
const UNAUTHORIZED = "UnauthorizedError";

/** `code` of an SDK error (MessagingError, a Node system error), when it has one. */
function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** The first line of an error's message, without secrets. */
function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return redactSecrets(message.split("\n")[0] ?? "").trim();
}

/**
 * Wraps a failure of `what` (e.g. "send") against the hub into a {@link ConnectionError} whose
 * message is one line: the hub, the endpoint, the SDK's code and message. The original is the cause.
 */
export function sendFailure(
  err: unknown,
  what: string,
  options: Pick<SendOptions, "hub" | "endpointHost">,
): ConnectionError {
  if (err instanceof ConnectionError || err instanceof ConfigError) return err;
  const root = rootSdkError(err);
  const code = errorCode(root);
  const retriable = (root as { retryable?: unknown } | null)?.retryable === true;
  const message = firstLine(root) || "no message";
  const detail = code === undefined || message.includes(code) ? message : `${code}: ${message}`;
  if (code === UNAUTHORIZED) {
    // Reachable, but the credentials were refused: "cannot reach" would send the reader to the network.
    return new ConnectionError(
      `hub '${options.hub}' at ${options.endpointHost} refused the key or token (${detail}): check SharedAccessKeyName and SharedAccessKey of the connection string`,
      { cause: err, retriable: false, context: { hub: options.hub, code } },
    );
  }
  return new ConnectionError(`cannot ${what} hub '${options.hub}' at ${options.endpointHost}: ${detail}`, {
    cause: err,
    retriable,
    context: { hub: options.hub, code },
  });
}

/**
 * Reads the hub's properties, so that a wrong connection string, key or hub name fails before
 * any event is generated, and checks that `--partition` names one of its partitions.
 * @returns the hub's partition ids.
 */
export async function checkTarget(
  client: EventHubProducerClient,
  options: Pick<SendOptions, "hub" | "endpointHost" | "routing">,
): Promise<string[]> {
  let partitionIds: string[];
  try {
    partitionIds = (await client.getEventHubProperties()).partitionIds;
  } catch (err) {
    throw sendFailure(err, "reach", options);
  }
  const routing = options.routing;
  if (routing.kind === "partition" && !partitionIds.includes(routing.partitionId)) {
    throw new ConfigError(
      `--partition ${JSON.stringify(routing.partitionId)} is not a partition of hub '${options.hub}' (partitions: ${partitionIds.join(", ")})`,
      { context: { setting: "--partition" } },
    );
  }
  return partitionIds;
}
