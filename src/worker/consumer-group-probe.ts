/**
 * The start-up check of the consumer group. Event Hubs answers management reads for the hub and
 * its partitions only, so a wrong group passes the hub probe and then every receiver attach is
 * refused with `amqp:not-found` (MessagingEntityNotFoundError), over and over, while the worker
 * looks alive. Attaching one short receiver with the configured group tells the two apart.
 */
import { type EventHubConsumerClient, latestEventPosition, type Subscription } from "@azure/event-hubs";
import { errorCodes } from "../common/connectivity.js";
import { ConfigError, type EhwError } from "../common/errors.js";
import { abortError } from "../common/retry.js";
import type { WorkerConfig } from "../config/worker.js";
import { translateEventHubsError } from "./connect.js";

/**
 * Codes that mean the receiver reached the consumer group and was refused for another reason:
 * an epoch reader of a running worker holds the partition (our probe has no epoch), or the
 * group already has its five non-epoch readers. Either way the group exists.
 */
const GROUP_EXISTS_CODES: ReadonlySet<string> = new Set(["ReceiverDisconnectedError", "QuotaExceededError"]);

/**
 * Seconds the probe's receiver waits for events before the SDK hands it an empty batch. The SDK
 * starts this wait only once the link is attached, and a service that does not know the group
 * sends its detach right behind the attach, so a short wait still tells the two apart; the wait is
 * start-up time of every worker.
 */
const PROBE_WAIT_SECONDS = 0.25;

/**
 * Attaches a receiver without an epoch to `partitionId` with the configured consumer group, from
 * the latest event, and closes it as soon as it receives (an empty batch after a quarter of a second
 * counts). Rejects with ConfigError naming the group, hub and how to create the group when the
 * service does not know the group, with ConnectionError when there is no answer within
 * `timeoutMs`, and with the abort as it is when `signal` aborts. `client` must have no checkpoint
 * store (see `createProbeClient`); the caller closes it.
 */
export async function probeConsumerGroup(
  client: EventHubConsumerClient,
  config: WorkerConfig,
  partitionId: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const abort = signal === undefined ? deadline : AbortSignal.any([signal, deadline]);
  let subscription: Subscription | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      if (abort.aborted) return reject(abortError(abort));
      abort.addEventListener("abort", () => reject(abortError(abort)), { once: true });
      subscription = client.subscribe(
        partitionId,
        {
          processEvents: async () => resolve(),
          processError: async (err) => {
            if ([...errorCodes(err)].some((c) => GROUP_EXISTS_CODES.has(c))) resolve();
            else reject(err);
          },
        },
        { startPosition: latestEventPosition, maxBatchSize: 1, maxWaitTimeInSeconds: PROBE_WAIT_SECONDS },
      );
    });
  } catch (err) {
    if (signal?.aborted === true) throw err;
    throw translateConsumerGroupError(err, config, timeoutMs);
  } finally {
    await subscription?.close().catch(() => undefined);
  }
}

/** Translates an error of the consumer-group probe; not-found names the group, the rest as for the hub. */
export function translateConsumerGroupError(err: unknown, config: WorkerConfig, timeoutMs: number): EhwError {
  if (!errorCodes(err).has("MessagingEntityNotFoundError"))
    return translateEventHubsError(err, config, timeoutMs);
  return new ConfigError(consumerGroupMissingMessage(config), {
    cause: err,
    context: {
      setting: "consumerGroup",
      host: config.eventHubs.endpointHost,
      eventHubName: config.eventHubs.eventHubName,
      consumerGroup: config.eventHubs.consumerGroup,
    },
  });
}

/** What to say when the service does not know the consumer group: which, where, and how to fix it. */
export function consumerGroupMissingMessage(config: WorkerConfig): string {
  const { endpointHost: host, eventHubName: hub, consumerGroup: group } = config.eventHubs;
  return (
    `consumer group "${group}" does not exist on event hub "${hub}" at ${host}: create it ` +
    `(az eventhubs eventhub consumer-group create --namespace-name <namespace> --resource-group <group> ` +
    `--eventhub-name ${hub} --name ${group}; for \`ehw hub\`, list it in the hub's consumerGroups), ` +
    "or set --consumer-group / EHW_CONSUMER_GROUP to an existing one"
  );
}
