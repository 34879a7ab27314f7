/**
 * Reading single events from a partition to learn their sequence numbers and offsets (a checkpoint
 * needs the offset of the event before the start, which only the service knows). A non-epoch
 * receiver in the consumer group: it cannot take a partition away from a worker; while a worker's
 * epoch receiver holds the partition, the service refuses it and the read fails with a clear error.
 */
import type { EventHubConsumerClient, EventPosition, Subscription } from "@azure/event-hubs";
import { ConnectionError } from "../common/errors.js";
import { translateEventHubsError } from "./clients.js";

/** What a read tells about one event. */
export interface EventPositionInfo {
  readonly sequenceNumber: number;
  readonly offset: string;
  /** Enqueued time, ms since the epoch. */
  readonly enqueuedTimeMs: number;
}

/** Options of {@link readFirstEvent}. */
export interface ReadFirstEventOptions {
  /** Give up (resolve undefined) when no event arrived within this many ms; default 15000. */
  readonly timeoutMs?: number;
  /** Host for error messages. */
  readonly host: string;
}

/**
 * The first event at `position` in one partition, or undefined when none arrives in time. Rejects
 * with ConnectionError when the receiver fails (unknown hub, refused credentials, taken by an
 * epoch receiver).
 */
export function readFirstEvent(
  consumer: EventHubConsumerClient,
  partitionId: string,
  position: EventPosition,
  options: ReadFirstEventOptions,
): Promise<EventPositionInfo | undefined> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    let settled = false;
    let subscription: Subscription | undefined;
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Close before settling, so that no receiver outlives the read.
      const closing = subscription?.close() ?? Promise.resolve();
      closing.then(outcome, outcome);
    };
    const timer = setTimeout(() => finish(() => resolve(undefined)), timeoutMs);
    subscription = consumer.subscribe(
      partitionId,
      {
        processEvents: async (events) => {
          const event = events[0];
          if (event === undefined) return;
          const info = {
            sequenceNumber: event.sequenceNumber,
            offset: String(event.offset),
            enqueuedTimeMs: event.enqueuedTimeUtc.getTime(),
          };
          finish(() => resolve(info));
        },
        processError: async (err) => {
          finish(() => reject(readError(err, partitionId, consumer.eventHubName, options.host)));
        },
      },
      { startPosition: position, maxBatchSize: 1, maxWaitTimeInSeconds: 1 },
    );
  });
}

function readError(err: unknown, partitionId: string, eventHubName: string, host: string): ConnectionError {
  const name = (err as { name?: unknown } | null)?.name;
  const code = (err as { code?: unknown } | null)?.code;
  if (name === "ReceiverDisconnectedError" || code === "ReceiverDisconnectedError") {
    return new ConnectionError(
      `cannot read partition ${partitionId} of event hub '${eventHubName}': a worker's receiver holds it in this consumer group; stop the workers first`,
      { cause: err, retriable: false, context: { partitionId } },
    );
  }
  const translated = translateEventHubsError(err, {
    host,
    eventHubName,
    operation: `read partition ${partitionId}`,
  });
  return translated instanceof ConnectionError
    ? translated
    : new ConnectionError(translated.message, { cause: err, context: { partitionId } });
}
