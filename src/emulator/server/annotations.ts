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

/** A small growable byte writer for hand-encoded AMQP map entries. */
class Writer {
  private buf = Buffer.allocUnsafe(256);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  /** A symbol (sym8/sym32). */
  symbol(text: string): void {
    this.variable(text, 0xa3, 0xb3);
  }

  /** A string (str8/str32). */
  string(text: string): void {
    this.variable(text, 0xa1, 0xb1);
  }

  /** A long (0x81). */
  long(value: number): void {
    this.ensure(9);
    this.buf[this.length] = 0x81;
    this.buf.writeBigInt64BE(BigInt(value), this.length + 1);
    this.length += 9;
  }

  /** A timestamp (0x83), ms since the Unix epoch. */
  timestamp(ms: number): void {
    this.ensure(9);
    this.buf[this.length] = 0x83;
    this.buf.writeBigInt64BE(BigInt(Math.trunc(ms)), this.length + 1);
    this.length += 9;
  }

  bytes(data: Buffer): void {
    this.ensure(data.length);
    data.copy(this.buf, this.length);
    this.length += data.length;
  }

  private variable(text: string, small: number, large: number): void {
    const size = Buffer.byteLength(text, "utf8");
    this.ensure(size + 5);
    if (size < 256) {
      this.buf[this.length] = small;
      this.buf[this.length + 1] = size;
      this.length += 2;
    } else {
      this.buf[this.length] = large;
      this.buf.writeUInt32BE(size, this.length + 1);
      this.length += 5;
    }
    this.length += this.buf.write(text, this.length, "utf8");
  }

  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** Wraps raw map entries as a described section (map32 with `count` items). */
function section(code: number, entries: Buffer, count: number): Buffer {
  const head = Buffer.allocUnsafe(12);
  head[0] = 0x00;
  head[1] = 0x53;
  head[2] = code;
  head[3] = 0xd1;
  head.writeUInt32BE(entries.length + 4, 4);
  head.writeUInt32BE(count, 8);
  return Buffer.concat([head, entries]);
}

/** Encodes the runtime-metric delivery-annotations section. */
export function encodeDeliveryAnnotations(metric: RuntimeMetric): Buffer {
  const w = new Writer();
  w.symbol("last_enqueued_sequence_number");
  w.long(metric.lastSequenceNumber);
  w.symbol("last_enqueued_offset");
  w.string(metric.lastOffset);
  w.symbol("last_enqueued_time_utc");
  w.timestamp(metric.lastEnqueuedTimeMs);
  w.symbol("runtime_info_retrieval_time_utc");
  w.timestamp(metric.retrievalTimeMs);
  return section(SECTION.deliveryAnnotations, w.result(), 8);
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
  const header = spans.find((s) => s.code === SECTION.header);
  const own = spans.find((s) => s.code === SECTION.messageAnnotations);
  const rest = spans.filter(
    (s) =>
      s.code !== SECTION.header &&
      s.code !== SECTION.messageAnnotations &&
      s.code !== SECTION.deliveryAnnotations,
  );
  const ownMap = own ? mapBody(stored, own.valueStart) : undefined;
  const w = new Writer();
  let count = 6;
  w.symbol("x-opt-sequence-number");
  w.long(annotations.sequenceNumber);
  w.symbol("x-opt-offset");
  w.string(annotations.offset);
  w.symbol("x-opt-enqueued-time");
  w.timestamp(annotations.enqueuedTimeMs);
  if (annotations.partitionKey !== undefined && !(ownMap && hasPartitionKey(ownMap.pairs))) {
    w.symbol("x-opt-partition-key");
    w.string(annotations.partitionKey);
    count += 2;
  }
  if (ownMap) {
    w.bytes(ownMap.pairs);
    count += ownMap.count;
  }
  const parts: Buffer[] = [];
  if (header) parts.push(stored.subarray(header.start, header.end));
  if (metric) parts.push(encodeDeliveryAnnotations(metric));
  parts.push(section(SECTION.messageAnnotations, w.result(), count));
  pushContiguous(parts, stored, rest);
  return Buffer.concat(parts);
}

const PARTITION_KEY_SYMBOL = Buffer.from("x-opt-partition-key", "utf8");

/** Whether raw map entries contain the partition-key symbol (a byte search is enough: it is a key). */
function hasPartitionKey(pairs: Buffer): boolean {
  return pairs.includes(PARTITION_KEY_SYMBOL);
}

/** Appends the spans' bytes, merging neighbours so a typical event costs one slice. */
function pushContiguous(parts: Buffer[], stored: Buffer, spans: SectionSpan[]): void {
  let start = -1;
  let end = -1;
  for (const span of spans) {
    if (span.start === end) {
      end = span.end;
      continue;
    }
    if (start >= 0) parts.push(stored.subarray(start, end));
    start = span.start;
    end = span.end;
  }
  if (start >= 0) parts.push(stored.subarray(start, end));
}
