/**
 * Event Hubs Capture's Avro schema and the mapping of a received event onto one of its records.
 * The schema text is Capture's as `avro-tools getschema` prints it for a Capture file, so that
 * readers written for Capture read these files unchanged.
 */
import type { schema as avroSchema } from "avsc";
import type { ReceivedEventData } from "../../contract.js";

/** Capture's record schema (`Microsoft.ServiceBus.Messaging.EventData`), field for field. */
export const CAPTURE_SCHEMA: avroSchema.RecordType = {
  type: "record",
  name: "EventData",
  namespace: "Microsoft.ServiceBus.Messaging",
  fields: [
    { name: "SequenceNumber", type: "long" },
    { name: "Offset", type: "string" },
    { name: "EnqueuedTimeUtc", type: "string" },
    { name: "SystemProperties", type: { type: "map", values: ["long", "double", "string", "bytes"] } },
    { name: "Properties", type: { type: "map", values: ["long", "double", "string", "bytes"] } },
    { name: "Body", type: ["null", "bytes"] },
  ],
};

/**
 * A map value as avsc writes the union `["long","double","string","bytes"]`: wrapped in an object
 * naming the branch, because a JavaScript number could be either of the first two.
 */
export type CaptureValue = { long: number } | { double: number } | { string: string } | { bytes: Buffer };

/** One record of a Capture file, in avsc's representation. */
export interface CaptureRecord {
  SequenceNumber: number;
  Offset: string;
  EnqueuedTimeUtc: string;
  SystemProperties: Record<string, CaptureValue>;
  Properties: Record<string, CaptureValue>;
  Body: Buffer | null;
}

/**
 * A property value as one of the union's branches: safe integers → long, other numbers → double,
 * strings → string, bytes → bytes, booleans → the string "true" / "false", bigints → long when
 * safe else their decimal text, anything else (lists, maps) → its JSON text. Null and undefined
 * have no branch in Capture's schema and give undefined: such an entry is left out.
 */
export function captureValue(value: unknown): CaptureValue | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "number") return Number.isSafeInteger(value) ? { long: value } : { double: value };
  if (typeof value === "string") return { string: value };
  if (typeof value === "boolean") return { string: String(value) };
  if (typeof value === "bigint") {
    const n = Number(value);
    return Number.isSafeInteger(n) ? { long: n } : { string: value.toString() };
  }
  if (value instanceof Uint8Array) return { bytes: toBuffer(value) };
  if (value instanceof Date) return { long: value.getTime() };
  return { string: JSON.stringify(value) };
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function captureMap(values: Record<string, unknown> | undefined): Record<string, CaptureValue> {
  const out: Record<string, CaptureValue> = {};
  if (values === undefined) return out;
  // for…in rather than Object.entries: no array of pairs per event.
  for (const key in values) {
    if (!Object.hasOwn(values, key)) continue;
    const converted = captureValue(values[key]);
    if (converted !== undefined) out[key] = converted;
  }
  return out;
}

/** Whether a value is a rhea data section (`{ typecode: 0x75, content }`) rather than bare bytes. */
function sectionContent(body: unknown): Uint8Array | undefined {
  if (body instanceof Uint8Array) return body;
  if (typeof body === "object" && body !== null && "content" in body) {
    const content = (body as { content: unknown }).content;
    if (content instanceof Uint8Array) return content;
  }
  return undefined;
}

function rawMessage(
  event: ReceivedEventData,
): ReturnType<ReceivedEventData["getRawAmqpMessage"]> | undefined {
  try {
    return typeof event.getRawAmqpMessage === "function" ? event.getRawAmqpMessage() : undefined;
  } catch {
    // Events built by hand (replays, tests) may have no AMQP message behind them.
    return undefined;
  }
}

/**
 * The body as it travelled: the bytes of the AMQP data section, whatever the worker decoded them
 * to; a value or sequence body (not sent by Event Hubs producers) as its JSON text; no body as null.
 */
export function bodyBytes(event: ReceivedEventData, raw = rawMessage(event)): Buffer | null {
  if (raw !== undefined && (raw.bodyType ?? "data") === "data") {
    const bytes = sectionContent(raw.body);
    if (bytes !== undefined) return toBuffer(bytes);
  }
  const { body } = event;
  if (body === undefined || body === null) return null;
  if (body instanceof Uint8Array) return toBuffer(body);
  return Buffer.from(JSON.stringify(body), "utf8");
}

/** The last time formatted: the events of a batch share their enqueued millisecond often. */
const lastTime = { ms: Number.NaN, text: "" };

/**
 * Capture's text for the enqueued time: ISO 8601 in UTC with seven fraction digits, as .NET's
 * round-trip format writes it (`2026-12-03T07:10:40.1230000Z`).
 */
export function captureTime(time: Date): string {
  const ms = time.getTime();
  if (ms !== lastTime.ms) {
    lastTime.text = `${time.toISOString().slice(0, -1)}0000Z`;
    lastTime.ms = ms;
  }
  return lastTime.text;
}

/**
 * The Capture record of an event. SystemProperties holds the broker's annotations
 * (`x-opt-sequence-number`, `x-opt-offset`, `x-opt-enqueued-time` in epoch milliseconds,
 * `x-opt-partition-key` when set) and whatever else the SDK reported as system properties
 * (message id, correlation id, content type, other annotations).
 */
export function toCaptureRecord(event: ReceivedEventData): CaptureRecord {
  const raw = rawMessage(event);
  const system = captureMap(event.systemProperties);
  system["x-opt-sequence-number"] = { long: event.sequenceNumber };
  system["x-opt-offset"] = { string: event.offset };
  system["x-opt-enqueued-time"] = { long: event.enqueuedTimeUtc.getTime() };
  if (event.partitionKey !== undefined && event.partitionKey !== null) {
    system["x-opt-partition-key"] = { string: event.partitionKey };
  }
  if (event.messageId !== undefined && system.messageId === undefined) {
    const id = captureValue(event.messageId);
    if (id !== undefined) system.messageId = id;
  }
  if (event.correlationId !== undefined && system.correlationId === undefined) {
    const id = captureValue(event.correlationId);
    if (id !== undefined) system.correlationId = id;
  }
  if (event.contentType !== undefined && system.contentType === undefined) {
    system.contentType = { string: event.contentType };
  }
  return {
    SequenceNumber: event.sequenceNumber,
    Offset: event.offset,
    EnqueuedTimeUtc: captureTime(event.enqueuedTimeUtc),
    SystemProperties: system,
    // The SDK turns binary property values into plain objects of their bytes (its date conversion
    // copies every object); the AMQP message still has them as bytes.
    Properties: captureMap(raw?.applicationProperties ?? event.properties),
    Body: bodyBytes(event, raw),
  };
}
