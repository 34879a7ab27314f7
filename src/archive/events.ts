/**
 * Pure mapping of archived records back to events as a handler sees them (the worker's own view
 * of a received event: body decoded as JSON when it is JSON text, application properties, system
 * properties, partition key, message id), and the range test of a replay.
 */
import type { ReceivedEventData } from "@azure/event-hubs";
import type { CaptureRecord, CaptureValue } from "../handlers/builtins/archive/schema.js";

/** What a replay takes from the archive; bounds inclusive except `toTime`, absent = unbounded. */
export interface ReplayRange {
  readonly partitionId?: string;
  /** Events enqueued at or after this time. */
  readonly fromTime?: Date;
  /** Events enqueued before this time. */
  readonly toTime?: Date;
  readonly fromSequenceNumber?: number;
  readonly toSequenceNumber?: number;
}

/** Whether an event of `partitionId` is in the range. */
export function inRange(
  event: Pick<ReceivedEventData, "sequenceNumber" | "enqueuedTimeUtc">,
  range: ReplayRange,
): boolean {
  const t = event.enqueuedTimeUtc.getTime();
  if (range.fromTime !== undefined && t < range.fromTime.getTime()) return false;
  if (range.toTime !== undefined && t >= range.toTime.getTime()) return false;
  if (range.fromSequenceNumber !== undefined && event.sequenceNumber < range.fromSequenceNumber) return false;
  if (range.toSequenceNumber !== undefined && event.sequenceNumber > range.toSequenceNumber) return false;
  return true;
}

/** A map value without avsc's union wrapper. */
export function plainValue(value: CaptureValue): unknown {
  if ("long" in value) return value.long;
  if ("double" in value) return value.double;
  if ("string" in value) return value.string;
  return value.bytes;
}

function plainMap(map: Record<string, CaptureValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(map)) out[key] = plainValue(value);
  return out;
}

/** The body as the worker hands it to handlers: JSON text parsed, other bytes as they are. */
export function decodeBody(bytes: Buffer | null): unknown {
  if (bytes === null) return undefined;
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    return bytes;
  }
}

/** Names of the system properties that become event fields rather than staying in `systemProperties`. */
const FIELD_PROPERTIES = [
  "x-opt-sequence-number",
  "x-opt-offset",
  "x-opt-enqueued-time",
  "x-opt-partition-key",
  "messageId",
  "correlationId",
  "contentType",
];

/** The event an archived record stands for. */
export function recordToEvent(record: CaptureRecord): ReceivedEventData {
  const system = plainMap(record.SystemProperties);
  const properties = plainMap(record.Properties);
  const partitionKey = system["x-opt-partition-key"];
  const enqueued = system["x-opt-enqueued-time"];
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(system)) if (!FIELD_PROPERTIES.includes(key)) rest[key] = value;
  const body = record.Body;
  const event: ReceivedEventData = {
    body: decodeBody(body),
    properties,
    systemProperties: rest,
    sequenceNumber: record.SequenceNumber,
    offset: record.Offset,
    enqueuedTimeUtc: new Date(typeof enqueued === "number" ? enqueued : Date.parse(record.EnqueuedTimeUtc)),
    partitionKey: typeof partitionKey === "string" ? partitionKey : null,
    getRawAmqpMessage: () => ({
      body: body ?? undefined,
      bodyType: "data",
      applicationProperties: properties,
      messageAnnotations: {},
    }),
  };
  if (system.messageId !== undefined) event.messageId = system.messageId as string | number | Buffer;
  if (system.correlationId !== undefined)
    event.correlationId = system.correlationId as string | number | Buffer;
  if (typeof system.contentType === "string") event.contentType = system.contentType;
  return event;
}
