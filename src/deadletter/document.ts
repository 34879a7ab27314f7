/**
 * The dead-letter document of one event: everything needed to understand why it failed and to
 * send it again. Pure: building from a received event and reading back the sendable parts.
 *
 * The body is kept as the SDK handed it over: a JSON value (the SDK decoded the data section as
 * JSON, or it was an AMQP value/sequence section) is stored as that value (`bodyEncoding: "json"`);
 * bytes the SDK could not decode are stored base64 (`bodyEncoding: "base64"`). Application
 * property values that JSON cannot carry are tagged: `{ "$date": ISO }`, `{ "$base64": … }`,
 * `{ "$bigint": "…" }`.
 */
import type { ReceivedEventData } from "@azure/event-hubs";
import { EhwError } from "../common/errors.js";
import { redactSecrets } from "../observability/logger.js";

/** Version of the document layout; bumped on an incompatible change. */
export const DEAD_LETTER_DOCUMENT_VERSION = 1;

/** How `body` is stored. */
export type BodyEncoding = "json" | "base64";

/** One error of a cause chain, as stored. */
export interface StoredErrorLink {
  /** Error class name (`name`), or the type of a thrown non-Error value. */
  readonly name: string;
  /** Message, secrets redacted. */
  readonly message: string;
  /** `code` when the error has a string code. */
  readonly code?: string;
}

/** The failure as stored: the final error, plus every cause below it. */
export interface StoredError extends StoredErrorLink {
  /** Whether a retry could have succeeded, when the error says so. */
  readonly retriable?: boolean;
  /** The causes, outermost first (at most {@link MAX_CAUSES}). */
  readonly causes: readonly StoredErrorLink[];
}

/** One dead-lettered event. */
export interface DeadLetterDocument {
  /** Layout version; {@link DEAD_LETTER_DOCUMENT_VERSION}. */
  readonly version: number;
  /** Event hub the event was read from. */
  readonly eventHubName: string;
  /** Consumer group that read it. */
  readonly consumerGroup: string;
  /** Partition id. */
  readonly partitionId: string;
  /** Sequence number in the partition. */
  readonly sequenceNumber: number;
  /** Offset in the partition (as the SDK reports it). */
  readonly offset: string;
  /** When the hub enqueued the event, ISO-8601 UTC. */
  readonly enqueuedTime: string;
  /** Partition key, when the event had one. */
  readonly partitionKey?: string;
  /** Pipeline that failed on it. */
  readonly pipeline: string;
  /** Attempts made, first try included. */
  readonly attempts: number;
  /** When it was dead-lettered, ISO-8601 UTC. */
  readonly deadLetteredAt: string;
  /** For a batch unit: its first sequence number and size; absent for an event pipeline. */
  readonly unit?: { readonly firstSequenceNumber: number; readonly eventCount: number };
  /** Why it failed. */
  readonly error: StoredError;
  /** How `body` is stored. */
  readonly bodyEncoding: BodyEncoding;
  /** AMQP body section the event came in: `data` (the usual), `value` or `sequence`. */
  readonly bodyType: "data" | "value" | "sequence";
  /** The body; see {@link BodyEncoding}. */
  readonly body: unknown;
  /** Application properties, tagged where JSON cannot carry the value. */
  readonly properties: Record<string, unknown>;
  /** Message id, when set (tagged like a property value when binary). */
  readonly messageId?: unknown;
  /** Correlation id, when set (tagged like a property value when binary). */
  readonly correlationId?: unknown;
  /** Content type, when set. */
  readonly contentType?: string;
  /** Service annotations of the event (`x-opt-*`), tagged like properties. */
  readonly systemProperties: Record<string, unknown>;
}

/** Where the event was read and what happened to it. */
export interface DeadLetterContext {
  readonly eventHubName: string;
  readonly consumerGroup: string;
  readonly partitionId: string;
  readonly pipeline: string;
  readonly attempts: number;
  readonly error: unknown;
  /** Epoch milliseconds. */
  readonly deadLetteredAtMs: number;
  /** The unit's events, when it is a batch unit of several. */
  readonly unit?: { readonly firstSequenceNumber: number; readonly eventCount: number };
}

/** Deepest cause stored; chains are rarely deeper, and a cycle must not loop. */
export const MAX_CAUSES = 8;

/** Builds the document of one event; see the module comment. */
export function buildDeadLetterDocument(
  event: ReceivedEventData,
  ctx: DeadLetterContext,
): DeadLetterDocument {
  const { body, bodyEncoding } = encodeBody(event.body);
  const doc: DeadLetterDocument = {
    version: DEAD_LETTER_DOCUMENT_VERSION,
    eventHubName: ctx.eventHubName,
    consumerGroup: ctx.consumerGroup,
    partitionId: ctx.partitionId,
    sequenceNumber: event.sequenceNumber,
    offset: String(event.offset),
    enqueuedTime: validIso(event.enqueuedTimeUtc),
    ...(event.partitionKey ? { partitionKey: event.partitionKey } : {}),
    pipeline: ctx.pipeline,
    attempts: ctx.attempts,
    deadLetteredAt: new Date(ctx.deadLetteredAtMs).toISOString(),
    ...(ctx.unit !== undefined && ctx.unit.eventCount > 1 ? { unit: ctx.unit } : {}),
    error: describeError(ctx.error),
    bodyEncoding,
    bodyType: bodyTypeOf(event),
    body,
    properties: encodeRecord(event.properties),
    ...(event.messageId !== undefined ? { messageId: encodeValue(event.messageId) } : {}),
    ...(event.correlationId !== undefined ? { correlationId: encodeValue(event.correlationId) } : {}),
    ...(event.contentType !== undefined ? { contentType: event.contentType } : {}),
    systemProperties: encodeRecord(event.systemProperties),
  };
  return doc;
}

/** Whether a value is binary (Buffer or any Uint8Array). */
function isBinary(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

function encodeBody(body: unknown): { body: unknown; bodyEncoding: BodyEncoding } {
  if (isBinary(body)) return { body: Buffer.from(body).toString("base64"), bodyEncoding: "base64" };
  return { body: encodeValue(body ?? null), bodyEncoding: "json" };
}

function bodyTypeOf(event: ReceivedEventData): DeadLetterDocument["bodyType"] {
  try {
    const type = event.getRawAmqpMessage().bodyType;
    return type === "value" || type === "sequence" ? type : "data";
  } catch {
    // A hand-built event (tests, replays through other tools) may have no raw message.
    return "data";
  }
}

function validIso(date: Date | undefined): string {
  return date instanceof Date && !Number.isNaN(date.getTime())
    ? date.toISOString()
    : new Date(0).toISOString();
}

/** A JSON-safe copy of a record of property values. */
export function encodeRecord(record: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record ?? {})) out[key] = encodeValue(value);
  return out;
}

function encodeValue(value: unknown, depth = 0): unknown {
  if (value instanceof Date) return { $date: validIso(value) };
  if (isBinary(value)) return { $base64: Buffer.from(value).toString("base64") };
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (value === undefined || typeof value === "function" || typeof value === "symbol") return null;
  if (depth > 32 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => encodeValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = encodeValue(v, depth + 1);
  return out;
}

/** Reverses the tags of {@link encodeRecord} (for replay). */
export function decodeRecord(record: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record ?? {})) out[key] = decodeValue(value);
  return out;
}

function decodeValue(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(decodeValue);
  const entries = Object.entries(value);
  if (entries.length === 1) {
    const [tag, inner] = entries[0] ?? [];
    if (tag === "$date" && typeof inner === "string") return new Date(inner);
    if (tag === "$base64" && typeof inner === "string") return Buffer.from(inner, "base64");
    if (tag === "$bigint" && typeof inner === "string") return BigInt(inner);
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, decodeValue(v)]));
}

/** A stored message or correlation id as the SDK takes it. */
export function decodeId(value: unknown): string | number | Buffer | undefined {
  const decoded = decodeValue(value);
  if (typeof decoded === "string" || typeof decoded === "number" || Buffer.isBuffer(decoded)) return decoded;
  return decoded === undefined || decoded === null ? undefined : String(decoded);
}

/** The stored body as the SDK should send it again: bytes for base64, else the JSON value. */
export function decodeBody(doc: Pick<DeadLetterDocument, "body" | "bodyEncoding">): unknown {
  if (doc.bodyEncoding === "base64") return Buffer.from(String(doc.body), "base64");
  return decodeValue(doc.body);
}

/**
 * Describes a failure and its cause chain. A thrown non-Error value (a string, an object,
 * undefined) becomes a link named after its type with its JSON text, so the document always says
 * what was thrown.
 */
export function describeError(error: unknown): StoredError {
  const head = describeLink(error);
  const retriable = error instanceof EhwError ? error.retriable : undefined;
  const causes: StoredErrorLink[] = [];
  const seen = new Set<unknown>([error]);
  let current: unknown = error instanceof Error ? error.cause : undefined;
  while (current !== undefined && causes.length < MAX_CAUSES && !seen.has(current)) {
    seen.add(current);
    causes.push(describeLink(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return { ...head, ...(retriable === undefined ? {} : { retriable }), causes };
}

function describeLink(value: unknown): StoredErrorLink {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return {
      name: value.name,
      message: redactSecrets(value.message),
      ...(typeof code === "string" ? { code } : {}),
    };
  }
  return { name: `thrown ${value === null ? "null" : typeof value}`, message: redactSecrets(textOf(value)) };
}

function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
