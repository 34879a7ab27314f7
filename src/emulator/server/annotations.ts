/**
 * Egress encoding: a stored event gets the service's message annotations (sequence number, offset,
 * enqueued time, partition key) spliced in front of its own, and optionally runtime-metric
 * delivery annotations, without decoding or re-encoding the rest of the message.
 */
import { listSections, mapBody, SECTION, type SectionSpan } from "./sections.js";

/** The service annotations every delivered event carries. */
export interface EventAnnotations {
  /** `x-opt-sequence-number` (long). */
  sequenceNumber: number;
  /** `x-opt-offset` (string). */
  offset: string;
  /** `x-opt-enqueued-time` (timestamp), in ms since the Unix epoch. */
  enqueuedTimeMs: number;
  /** `x-opt-partition-key` (string), when the event has one. */
  partitionKey: string | undefined;
}

/** Runtime-metric delivery annotations for readers that desire them. */
export interface RuntimeMetric {
  /** `last_enqueued_sequence_number` (long). */
  lastSequenceNumber: number;
  /** `last_enqueued_offset` (string). */
  lastOffset: string;
  /** `last_enqueued_time_utc` (timestamp), ms. */
  lastEnqueuedTimeMs: number;
  /** `runtime_info_retrieval_time_utc` (timestamp), ms. */
  retrievalTimeMs: number;
}

/** A symbol key, pre-encoded (sym8). */
function symbolKey(name: string): Buffer {
  const text = Buffer.from(name, "utf8");
  return Buffer.concat([Buffer.from([0xa3, text.length]), text]);
}

const KEY = {
  sequenceNumber: symbolKey("x-opt-sequence-number"),
  offset: symbolKey("x-opt-offset"),
  enqueuedTime: symbolKey("x-opt-enqueued-time"),
  partitionKey: symbolKey("x-opt-partition-key"),
  lastSequenceNumber: symbolKey("last_enqueued_sequence_number"),
  lastOffset: symbolKey("last_enqueued_offset"),
  lastEnqueuedTime: symbolKey("last_enqueued_time_utc"),
  retrievalTime: symbolKey("runtime_info_retrieval_time_utc"),
};

/** Size of a described map32 section header: 0x00 0x53 code 0xd1 size(4) count(4). */
const SECTION_HEAD_BYTES = 12;
/** Size of an encoded long or timestamp. */
const FIXED64_BYTES = 9;

function stringBytes(text: string): number {
  const size = Buffer.byteLength(text, "utf8");
  return size + (size < 256 ? 2 : 5);
}

/**
 * Writes into one preallocated buffer. Sizes are computed up front so each delivery costs a
 * single allocation; longs are written as two 32-bit halves (no BigInt on the hot path).
 */
class Cursor {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  bytes(data: Buffer): void {
    this.pos += data.copy(this.buf, this.pos);
  }

  sectionHead(code: number, bodyBytes: number, count: number): void {
    const b = this.buf;
    b[this.pos] = 0x00;
    b[this.pos + 1] = 0x53;
    b[this.pos + 2] = code;
    b[this.pos + 3] = 0xd1;
    b.writeUInt32BE(bodyBytes + 4, this.pos + 4);
    b.writeUInt32BE(count, this.pos + 8);
    this.pos += SECTION_HEAD_BYTES;
  }

  fixed64(code: number, value: number): void {
    const b = this.buf;
    b[this.pos] = code;
    const v = Math.trunc(value);
    if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      b.writeUInt32BE(Math.floor(v / 0x1_0000_0000), this.pos + 1);
      b.writeUInt32BE(v >>> 0, this.pos + 5);
    } else {
      b.writeBigInt64BE(BigInt(v), this.pos + 1);
    }
    this.pos += FIXED64_BYTES;
  }

  string(text: string): void {
    const b = this.buf;
    const size = Buffer.byteLength(text, "utf8");
    if (size < 256) {
      b[this.pos] = 0xa1;
      b[this.pos + 1] = size;
      this.pos += 2;
    } else {
      b[this.pos] = 0xb1;
      b.writeUInt32BE(size, this.pos + 1);
      this.pos += 5;
    }
    this.pos += b.write(text, this.pos, "utf8");
  }
}

function deliveryAnnotationsBytes(metric: RuntimeMetric): number {
  return (
    KEY.lastSequenceNumber.length +
    FIXED64_BYTES +
    KEY.lastOffset.length +
    stringBytes(metric.lastOffset) +
    KEY.lastEnqueuedTime.length +
    FIXED64_BYTES +
    KEY.retrievalTime.length +
    FIXED64_BYTES
  );
}

function writeDeliveryAnnotations(c: Cursor, metric: RuntimeMetric): void {
  c.sectionHead(SECTION.deliveryAnnotations, deliveryAnnotationsBytes(metric), 8);
  c.bytes(KEY.lastSequenceNumber);
  c.fixed64(0x81, metric.lastSequenceNumber);
  c.bytes(KEY.lastOffset);
  c.string(metric.lastOffset);
  c.bytes(KEY.lastEnqueuedTime);
  c.fixed64(0x83, metric.lastEnqueuedTimeMs);
  c.bytes(KEY.retrievalTime);
  c.fixed64(0x83, metric.retrievalTimeMs);
}

/** Encodes the runtime-metric delivery-annotations section. */
export function encodeDeliveryAnnotations(metric: RuntimeMetric): Buffer {
  const c = new Cursor(Buffer.allocUnsafe(SECTION_HEAD_BYTES + deliveryAnnotationsBytes(metric)));
  writeDeliveryAnnotations(c, metric);
  return c.buf;
}

/**
 * Builds the message to deliver: the stored event's header, then (optional) delivery annotations,
 * then message annotations = the service's entries followed by the event's own, then every other
 * section of the stored event byte for byte. A client-set `x-opt-partition-key` is kept as sent.
 */
export function spliceAnnotations(
  stored: Buffer,
  annotations: EventAnnotations,
  metric?: RuntimeMetric,
): Buffer {
  const spans = listSections(stored);
  let header: SectionSpan | undefined;
  let own: SectionSpan | undefined;
  const rest: SectionSpan[] = [];
  for (const span of spans) {
    if (span.code === SECTION.header) header = span;
    else if (span.code === SECTION.messageAnnotations) own = span;
    else if (span.code !== SECTION.deliveryAnnotations) rest.push(span);
  }
  const ownMap = own ? mapBody(stored, own.valueStart) : undefined;
  const addKey = annotations.partitionKey !== undefined && !(ownMap && hasPartitionKey(ownMap.pairs));
  const partitionKey = annotations.partitionKey ?? "";
  const entriesBytes =
    KEY.sequenceNumber.length +
    FIXED64_BYTES +
    KEY.offset.length +
    stringBytes(annotations.offset) +
    KEY.enqueuedTime.length +
    FIXED64_BYTES +
    (addKey ? KEY.partitionKey.length + stringBytes(partitionKey) : 0) +
    (ownMap ? ownMap.pairs.length : 0);
  let restBytes = 0;
  for (const span of rest) restBytes += span.end - span.start;
  const total =
    (header ? header.end - header.start : 0) +
    (metric ? SECTION_HEAD_BYTES + deliveryAnnotationsBytes(metric) : 0) +
    SECTION_HEAD_BYTES +
    entriesBytes +
    restBytes;
  const c = new Cursor(Buffer.allocUnsafe(total));
  if (header) c.bytes(stored.subarray(header.start, header.end));
  if (metric) writeDeliveryAnnotations(c, metric);
  c.sectionHead(SECTION.messageAnnotations, entriesBytes, 6 + (addKey ? 2 : 0) + (ownMap ? ownMap.count : 0));
  c.bytes(KEY.sequenceNumber);
  c.fixed64(0x81, annotations.sequenceNumber);
  c.bytes(KEY.offset);
  c.string(annotations.offset);
  c.bytes(KEY.enqueuedTime);
  c.fixed64(0x83, annotations.enqueuedTimeMs);
  if (addKey) {
    c.bytes(KEY.partitionKey);
    c.string(partitionKey);
  }
  if (ownMap) c.bytes(ownMap.pairs);
  for (const span of rest) c.bytes(stored.subarray(span.start, span.end));
  return c.buf;
}

const PARTITION_KEY_SYMBOL = Buffer.from("x-opt-partition-key", "utf8");

/** Whether raw map entries contain the partition-key symbol (a byte search is enough: it is a key). */
function hasPartitionKey(pairs: Buffer): boolean {
  return pairs.includes(PARTITION_KEY_SYMBOL);
}
