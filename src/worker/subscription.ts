/**
 * The worker's subscription: what it asks the SDK for (batch size, wait time, prefetch, start
 * positions, bodies left undecoded) and how the SDK's four per-pump calls reach the partition set.
 * A batch is decoded here, next to the `skipParsingBodyAsJson` that makes decoding ours, and handed
 * to its pump's processor; the SDK fetches the pump's next batch only once `enqueue` returned.
 */
import type {
  EventHubConsumerClient,
  EventPosition,
  ReceivedEventData,
  Subscription,
  SubscriptionEventHandlers,
} from "@azure/event-hubs";
import { type ProcessingConfig, toEventPosition } from "../config/worker.js";
import type { PartitionSet } from "./partition-set.js";

/** Subscribes to every partition of the client's hub, through the SDK's load balancer. */
export function subscribe(
  client: EventHubConsumerClient,
  processing: ProcessingConfig,
  partitions: PartitionSet,
  partitionIds: readonly string[],
): Subscription {
  return client.subscribe(handlers(partitions), {
    maxBatchSize: processing.maxBatchSize,
    maxWaitTimeInSeconds: processing.maxWaitTimeMs / 1000,
    prefetchCount: processing.prefetchCount,
    startPosition: startPosition(processing, partitionIds),
    // Bodies are decoded by decodeBodies (below), as the SDK would but cheaper for non-JSON bytes.
    skipParsingBodyAsJson: true,
  });
}

function handlers(partitions: PartitionSet): SubscriptionEventHandlers {
  return {
    processInitialize: async (ctx) => {
      partitions.open(ctx);
    },
    processEvents: async (events, ctx) => {
      decodeBodies(events);
      // Rejects with PartitionLostError once the guarded store knows the partition is lost.
      await partitions.processorOf(ctx).enqueue(events);
    },
    processClose: async (reason, ctx) => {
      await partitions.close(ctx, reason);
    },
    processError: async (error, ctx) => {
      partitions.reportError(error, ctx.partitionId);
    },
  };
}

/**
 * One position for every partition, or a map over all of them when there are overrides: the SDK
 * reads a partition missing from a map from the latest event, not from the default.
 */
function startPosition(
  processing: ProcessingConfig,
  partitionIds: readonly string[],
): EventPosition | Record<string, EventPosition> {
  const { startPosition, startPositions } = processing;
  if (Object.keys(startPositions).length === 0) return toEventPosition(startPosition);
  const map: Record<string, EventPosition> = {};
  for (const id of partitionIds) map[id] = toEventPosition(startPositions[id] ?? startPosition);
  return map;
}

/**
 * Decodes the bodies of a batch received with `skipParsingBodyAsJson`, in place, into what a
 * handler sees, as the SDK decodes by default: a data section that holds a JSON text becomes the
 * parsed value, any other bytes stay bytes, value and sequence sections stay as they came. The SDK
 * tries `JSON.parse` on every data section and lets the exception say no: for bodies that are not
 * JSON (Avro, protobuf, plain text) that exception and its stack trace cost 5–10 µs per event, a
 * fifth of a consumer's whole per-event CPU. Bytes that cannot begin a JSON text are handed over at
 * once; everything else goes through `JSON.parse` of the UTF-8 text, so the result is the SDK's.
 */
export function decodeBodies(events: readonly ReceivedEventData[]): void {
  for (const event of events) {
    const { body } = event;
    if (body instanceof Uint8Array && event.getRawAmqpMessage().bodyType === "data") {
      event.body = jsonOrBytes(body);
    }
  }
}

/** The JSON value the bytes hold as UTF-8 text, or the bytes themselves when they hold none. */
export function jsonOrBytes(bytes: Uint8Array): unknown {
  if (!mayBeJson(bytes)) return bytes;
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  } catch {
    return bytes;
  }
}

/**
 * False when JSON.parse would certainly reject the bytes: nothing but whitespace, or a first
 * non-whitespace byte that no JSON value starts with (a byte-order mark included: JSON.parse
 * rejects it too).
 */
function mayBeJson(bytes: Uint8Array): boolean {
  for (const byte of bytes) {
    // JSON whitespace: space, tab, line feed, carriage return.
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return JSON_START[byte] === 1;
  }
  return false;
}

/** 1 for the bytes a JSON value may start with: { [ " - 0-9 t f n. */
const JSON_START = new Uint8Array(256);
for (const c of '{["-0123456789tfn') JSON_START[c.charCodeAt(0)] = 1;
