/**
 * The in-memory half of a partition log: event bytes packed into large chunk buffers and a
 * column-wise index in growable typed arrays, so that a stored event costs its encoded size plus
 * a few dozen bytes rather than one Buffer object and one JS object per event.
 *
 * Sequence numbers are implicit: the event at index slot `head + k` has sequence number
 * `beginSequenceNumber + k`. Partition keys are stored as UTF-8 right after the message bytes.
 */
/** One stored event as readers get it. */
export interface StoredEvent {
  /** Consecutive within the partition, from 0; never reused. */
  sequenceNumber: number;
  /** Decimal string: the event's byte position in the partition's logical stream. Never reused,
   *  kept across retention and restart. */
  offset: string;
  /** When the partition accepted the event, in ms since the Unix epoch. */
  enqueuedTimeMs: number;
  /** The partition key the event was sent with, if any. */
  partitionKey: string | undefined;
  /** The complete encoded AMQP message exactly as sent (one data section of a batch envelope).
   *  A view into shared storage: do not modify it. */
  message: Buffer;
}

/** Default size of one chunk buffer, in bytes (1 MiB). */
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;

const INITIAL_CAPACITY = 1024;
/** Marks "no partition key" in the key-length column. */
const NO_KEY = -1;

/** How far the logical stream position advances for a message: at least 1, so offsets stay unique. */
export function offsetAdvance(messageLength: number): number {
  return Math.max(messageLength, 1);
}

/** In-memory events of one partition, oldest first. Not persistent; see partition-log.ts. */
export class EventStore {
  private readonly chunkBytes: number;
  /** Live chunks; `chunks[k]` has the absolute chunk id `chunkBase + k`. The last one is written to. */
  private chunks: Buffer[] = [];
  private chunkBase = 0;
  private writePos = 0;

  private capacity = INITIAL_CAPACITY;
  private head = 0;
  private tail = 0;
  private offsets = new Float64Array(INITIAL_CAPACITY);
  private times = new Float64Array(INITIAL_CAPACITY);
  private chunkIds = new Uint32Array(INITIAL_CAPACITY);
  private positions = new Uint32Array(INITIAL_CAPACITY);
  private lengths = new Uint32Array(INITIAL_CAPACITY);
  private keyLengths = new Int32Array(INITIAL_CAPACITY);

  /** Sequence number of the oldest stored event (equal to `nextSequenceNumber` when empty). */
  beginSequenceNumber: number;

  constructor(firstSequenceNumber: number, chunkBytes = DEFAULT_CHUNK_BYTES) {
    this.beginSequenceNumber = firstSequenceNumber;
    this.chunkBytes = chunkBytes;
  }

  /** Number of events held. */
  get count(): number {
    return this.tail - this.head;
  }

  /** Sequence number the next pushed event gets. */
  get nextSequenceNumber(): number {
    return this.beginSequenceNumber + this.count;
  }

  /** Continues numbering at `sequenceNumber`; only allowed while empty. */
  restartAt(sequenceNumber: number): void {
    if (this.count !== 0) throw new RangeError("restartAt() needs an empty store");
    this.beginSequenceNumber = sequenceNumber;
  }

  /** Makes room for `n` more index entries, compacting before growing. */
  reserve(n: number): void {
    if (this.tail + n <= this.capacity) return;
    const needed = this.count + n;
    // Compacting in place only when at least half is free keeps the copying amortised O(1).
    if (needed <= this.capacity / 2) {
      this.resize(this.capacity);
      return;
    }
    let capacity = this.capacity;
    while (capacity < needed) capacity *= 2;
    this.resize(capacity);
  }

  /** Appends one event; its sequence number is `nextSequenceNumber` before the call. */
  push(message: Buffer, partitionKey: string | undefined, offset: number, enqueuedTimeMs: number): void {
    this.reserve(1);
    const keyLength = partitionKey === undefined ? NO_KEY : Buffer.byteLength(partitionKey, "utf8");
    const total = message.length + Math.max(keyLength, 0);
    const chunk = this.chunkFor(total);
    const pos = this.writePos;
    message.copy(chunk, pos);
    if (partitionKey !== undefined) chunk.write(partitionKey, pos + message.length, "utf8");
    this.writePos += total;
    const slot = this.tail++;
    this.offsets[slot] = offset;
    this.times[slot] = enqueuedTimeMs;
    this.chunkIds[slot] = this.chunkBase + this.chunks.length - 1;
    this.positions[slot] = pos;
    this.lengths[slot] = message.length;
    this.keyLengths[slot] = keyLength;
  }

  /** Forgets the `n` oldest events and releases chunks no remaining event uses. */
  dropOldest(n: number): void {
    const drop = Math.min(n, this.count);
    if (drop <= 0) return;
    this.head += drop;
    this.beginSequenceNumber += drop;
    // The chunk being written to stays even when empty: readers may still hold views into it,
    // so it is never rewound, only left behind once full.
    const keepFrom = this.count > 0 ? this.chunkIds[this.head]! : this.chunkBase + this.chunks.length - 1;
    while (this.chunkBase < keepFrom && this.chunks.length > 1) {
      this.chunks.shift();
      this.chunkBase++;
    }
    if (this.count === 0) {
      this.head = 0;
      this.tail = 0;
    }
  }

  /** The stored event with this sequence number; the caller checks the range. */
  event(sequenceNumber: number): StoredEvent {
    const slot = this.head + (sequenceNumber - this.beginSequenceNumber);
    const chunk = this.chunks[this.chunkIds[slot]! - this.chunkBase]!;
    const pos = this.positions[slot]!;
    const end = pos + this.lengths[slot]!;
    const keyLength = this.keyLengths[slot]!;
    return {
      sequenceNumber,
      offset: String(this.offsets[slot]),
      enqueuedTimeMs: this.times[slot]!,
      partitionKey: keyLength === NO_KEY ? undefined : chunk.toString("utf8", end, end + keyLength),
      message: chunk.subarray(pos, end),
    };
  }

  /** Offset of the stored event with this sequence number, as a number. */
  offsetOf(sequenceNumber: number): number {
    return this.offsets[this.head + (sequenceNumber - this.beginSequenceNumber)]!;
  }

  /** Enqueued time (ms) of the stored event with this sequence number. */
  timeOf(sequenceNumber: number): number {
    return this.times[this.head + (sequenceNumber - this.beginSequenceNumber)]!;
  }

  /** Sequence number of the stored event with exactly this offset, or undefined. */
  findOffset(offset: number): number | undefined {
    const slot = this.lowerBound(this.offsets, offset, false);
    if (slot < this.tail && this.offsets[slot] === offset)
      return this.beginSequenceNumber + (slot - this.head);
    return undefined;
  }

  /** Sequence number of the first event enqueued after `timeMs` (at or after, when inclusive). */
  firstAtTime(timeMs: number, inclusive: boolean): number {
    return this.beginSequenceNumber + (this.lowerBound(this.times, timeMs, !inclusive) - this.head);
  }

  /** Bytes held for events: every live chunk (whole, including unused tail) plus the index arrays. */
  memoryBytes(): number {
    let bytes = 0;
    for (const chunk of this.chunks) bytes += chunk.length;
    return bytes + this.capacity * (8 + 8 + 4 + 4 + 4 + 4);
  }

  /** First slot whose value is >= target (or > target when `strict`); values are non-decreasing. */
  private lowerBound(values: Float64Array, target: number, strict: boolean): number {
    let lo = this.head;
    let hi = this.tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const v = values[mid]!;
      if (v < target || (strict && v === target)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private chunkFor(bytes: number): Buffer {
    const current = this.chunks[this.chunks.length - 1];
    if (current !== undefined && this.writePos + bytes <= current.length) return current;
    // An event larger than a chunk gets a chunk of its own size; nothing is ever split.
    const chunk = Buffer.allocUnsafeSlow(Math.max(this.chunkBytes, bytes));
    this.chunks.push(chunk);
    this.writePos = 0;
    return chunk;
  }

  private resize(capacity: number): void {
    const from = this.head;
    const to = this.tail;
    const move = <T extends Float64Array | Uint32Array | Int32Array>(old: T, make: (n: number) => T): T => {
      if (capacity === this.capacity) {
        old.copyWithin(0, from, to);
        return old;
      }
      const fresh = make(capacity);
      fresh.set(old.subarray(from, to));
      return fresh;
    };
    this.offsets = move(this.offsets, (n) => new Float64Array(n));
    this.times = move(this.times, (n) => new Float64Array(n));
    this.chunkIds = move(this.chunkIds, (n) => new Uint32Array(n));
    this.positions = move(this.positions, (n) => new Uint32Array(n));
    this.lengths = move(this.lengths, (n) => new Uint32Array(n));
    this.keyLengths = move(this.keyLengths, (n) => new Int32Array(n));
    this.capacity = capacity;
    this.head = 0;
    this.tail = to - from;
  }
}
