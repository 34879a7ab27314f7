/**
 * The on-disk half of a partition log: append-only segment files of checksummed records, one
 * record per append (so a batch is on disk entirely or not at all), plus a small state file that
 * remembers what retention has dropped and where numbering continues.
 *
 * Record layout (little-endian): magic u32 | body length u32 | CRC-32 of body u32 | body, where
 * body = first sequence number f64 | first offset f64 | enqueued time ms f64 | event count u32 |
 * per event: message length u32, key length i32 (-1 = no key), message bytes, key UTF-8 bytes.
 * A record is written with one synchronous write before the append returns.
 */
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { EmulatorProtocolError } from "../errors.js";

const MAGIC = 0x31574845; // "EHW1"
const HEADER_BYTES = 12;
const BODY_FIXED_BYTES = 28;
const EVENT_FIXED_BYTES = 8;
const SEGMENT_SUFFIX = ".seg";
const STATE_FILE = "state.json";
/** The AMQP condition for a storage failure: the sender may retry, the data is not accepted. */
export const STORAGE_FAILURE_CONDITION = "amqp:internal-error";

/** One event inside a record. */
export interface RecordEvent {
  /** The encoded AMQP message. */
  message: Buffer;
  /** The partition key; default none. */
  partitionKey?: string | undefined;
}

/** One decoded append: its events share the enqueued time; numbering continues from the firsts. */
export interface DecodedRecord {
  /** Sequence number of `events[0]`. */
  firstSequenceNumber: number;
  /** Offset of `events[0]`; later events follow at their byte positions. */
  firstOffset: number;
  /** Enqueued time of every event, in ms since the Unix epoch. */
  enqueuedTimeMs: number;
  events: RecordEvent[];
}

/** Numbering that must survive even when retention has deleted every segment. */
export interface LogState {
  /** Events below this sequence number were dropped by retention. */
  beginSequenceNumber: number;
  /** Sequence number of the next append. */
  nextSequenceNumber: number;
  /** Offset of the next append. */
  nextOffset: number;
  /** Enqueued time of the last append (ms); the next is never earlier. */
  lastEnqueuedTimeMs: number;
}

interface Segment {
  path: string;
  firstSequenceNumber: number;
  /** firstSequenceNumber - 1 while the segment holds no record. */
  lastSequenceNumber: number;
  bytes: number;
}

/** Encodes one append as a record. */
export function encodeRecord(
  firstSequenceNumber: number,
  firstOffset: number,
  enqueuedTimeMs: number,
  events: ReadonlyArray<RecordEvent>,
): Buffer {
  let bodyBytes = BODY_FIXED_BYTES;
  const keyBytes = events.map((e) => (e.partitionKey === undefined ? -1 : Buffer.byteLength(e.partitionKey)));
  events.forEach((e, i) => {
    bodyBytes += EVENT_FIXED_BYTES + e.message.length + Math.max(keyBytes[i]!, 0);
  });
  const out = Buffer.allocUnsafe(HEADER_BYTES + bodyBytes);
  let pos = HEADER_BYTES;
  pos = out.writeDoubleLE(firstSequenceNumber, pos);
  pos = out.writeDoubleLE(firstOffset, pos);
  pos = out.writeDoubleLE(enqueuedTimeMs, pos);
  pos = out.writeUInt32LE(events.length, pos);
  events.forEach((e, i) => {
    const keyLength = keyBytes[i]!;
    pos = out.writeUInt32LE(e.message.length, pos);
    pos = out.writeInt32LE(keyLength, pos);
    pos += e.message.copy(out, pos);
    if (e.partitionKey !== undefined) pos += out.write(e.partitionKey, pos, keyLength, "utf8");
  });
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(bodyBytes, 4);
  out.writeUInt32LE(crc32(out.subarray(HEADER_BYTES)), 8);
  return out;
}

/**
 * Decodes the record at `start`; undefined when it is incomplete or does not check out (a torn
 * write). Messages are views into `buf`.
 */
export function decodeRecord(buf: Buffer, start: number): { record: DecodedRecord; end: number } | undefined {
  if (start + HEADER_BYTES > buf.length || buf.readUInt32LE(start) !== MAGIC) return undefined;
  const bodyBytes = buf.readUInt32LE(start + 4);
  const end = start + HEADER_BYTES + bodyBytes;
  if (bodyBytes < BODY_FIXED_BYTES || end > buf.length) return undefined;
  const body = buf.subarray(start + HEADER_BYTES, end);
  if (crc32(body) !== buf.readUInt32LE(start + 8)) return undefined;
  const record: DecodedRecord = {
    firstSequenceNumber: body.readDoubleLE(0),
    firstOffset: body.readDoubleLE(8),
    enqueuedTimeMs: body.readDoubleLE(16),
    events: [],
  };
  const count = body.readUInt32LE(24);
  let pos = BODY_FIXED_BYTES;
  for (let i = 0; i < count; i++) {
    if (pos + EVENT_FIXED_BYTES > body.length) return undefined;
    const messageLength = body.readUInt32LE(pos);
    const keyLength = body.readInt32LE(pos + 4);
    const messageEnd = pos + EVENT_FIXED_BYTES + messageLength;
    const keyEnd = messageEnd + Math.max(keyLength, 0);
    if (keyEnd > body.length) return undefined;
    record.events.push({
      message: body.subarray(pos + EVENT_FIXED_BYTES, messageEnd),
      partitionKey: keyLength < 0 ? undefined : body.toString("utf8", messageEnd, keyEnd),
    });
    pos = keyEnd;
  }
  return pos === body.length ? { record, end } : undefined;
}

/** The segment files and state file of one partition directory. */
export class SegmentFiles {
  private readonly segments: Segment[];
  private fd: number | undefined;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    segments: Segment[],
  ) {
    this.segments = segments;
    const last = segments[segments.length - 1];
    this.fd = last === undefined ? undefined : openSync(last.path, "a");
  }

  /**
   * Opens (creating) `dir`, replays every record in order through `onRecord`, truncates a torn
   * final record, and returns the files ready for appending.
   * @throws EmulatorProtocolError when a segment other than the last is damaged.
   */
  static open(dir: string, segmentBytes: number, onRecord: (record: DecodedRecord) => void): SegmentFiles {
    mkdirSync(dir, { recursive: true });
    const names = readdirSync(dir)
      .filter((n) => n.endsWith(SEGMENT_SUFFIX))
      .sort();
    const segments: Segment[] = [];
    names.forEach((name, i) => {
      const segment = replaySegment(join(dir, name), i === names.length - 1, onRecord);
      if (segment.lastSequenceNumber < segment.firstSequenceNumber) unlinkSync(segment.path);
      else segments.push(segment);
    });
    return new SegmentFiles(dir, segmentBytes, segments);
  }

  /** Writes one encoded record; on failure the file is cut back so that no partial record stays. */
  append(record: Buffer, firstSequenceNumber: number, lastSequenceNumber: number): void {
    let active = this.segments[this.segments.length - 1];
    if (active === undefined || this.fd === undefined || active.bytes >= this.segmentBytes) {
      active = this.rotate(firstSequenceNumber);
    }
    const fd = this.fd!;
    try {
      let written = 0;
      while (written < record.length) written += writeSync(fd, record, written, record.length - written);
    } catch (err) {
      try {
        ftruncateSync(fd, active.bytes);
      } catch {
        // The next open() finds the damaged tail and truncates it there.
      }
      throw storageError(`could not write to ${active.path}`, err);
    }
    active.bytes += record.length;
    active.lastSequenceNumber = lastSequenceNumber;
  }

  /** Saves the state atomically (write then rename). */
  writeState(state: LogState): void {
    const path = join(this.dir, STATE_FILE);
    try {
      writeFileSync(`${path}.tmp`, JSON.stringify(state));
      renameSync(`${path}.tmp`, path);
    } catch (err) {
      throw storageError(`could not write ${path}`, err);
    }
  }

  /** Deletes every segment whose events all lie below `beginSequenceNumber`, oldest first. */
  deleteBefore(beginSequenceNumber: number): void {
    for (;;) {
      const oldest = this.segments[0];
      if (oldest === undefined || oldest.lastSequenceNumber >= beginSequenceNumber) return;
      if (this.segments.length === 1) this.closeFd();
      try {
        unlinkSync(oldest.path);
      } catch (err) {
        throw storageError(`could not delete ${oldest.path}`, err);
      }
      this.segments.shift();
    }
  }

  /** Number of segment files. */
  get segmentCount(): number {
    return this.segments.length;
  }

  /** True when some segment holds only events below `beginSequenceNumber`. */
  hasSegmentBefore(beginSequenceNumber: number): boolean {
    const oldest = this.segments[0];
    return oldest !== undefined && oldest.lastSequenceNumber < beginSequenceNumber;
  }

  /** Closes the active segment file. */
  close(): void {
    this.closeFd();
  }

  private rotate(firstSequenceNumber: number): Segment {
    this.closeFd();
    const path = join(this.dir, `${String(firstSequenceNumber).padStart(16, "0")}${SEGMENT_SUFFIX}`);
    try {
      this.fd = openSync(path, "a");
    } catch (err) {
      throw storageError(`could not create ${path}`, err);
    }
    const segment = { path, firstSequenceNumber, lastSequenceNumber: firstSequenceNumber - 1, bytes: 0 };
    this.segments.push(segment);
    return segment;
  }

  private closeFd(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function replaySegment(path: string, isLast: boolean, onRecord: (record: DecodedRecord) => void): Segment {
  const buf = readFileSync(path);
  const segment: Segment = { path, firstSequenceNumber: 0, lastSequenceNumber: -1, bytes: 0 };
  let pos = 0;
  while (pos < buf.length) {
    const decoded = decodeRecord(buf, pos);
    if (decoded === undefined) {
      // A process killed mid-write leaves a prefix of one record at the end of the newest segment,
      // and nothing after it. Anything else is damage to acknowledged events: cutting there would
      // drop every event after it and hand their sequence numbers out again.
      if (!isLast || !isTornTail(buf, pos)) throw damagedRecordError(path, pos, buf.length);
      truncateSync(path, pos);
      break;
    }
    const { record } = decoded;
    if (pos === 0) segment.firstSequenceNumber = record.firstSequenceNumber;
    segment.lastSequenceNumber = record.firstSequenceNumber + record.events.length - 1;
    onRecord(record);
    pos = decoded.end;
  }
  segment.bytes = pos;
  return segment;
}

/**
 * Whether the undecodable record at `pos` is what an interrupted write leaves: a prefix of a
 * record (its header cut short, or a complete header whose body runs to the end of the file).
 */
function isTornTail(buf: Buffer, pos: number): boolean {
  if (pos + HEADER_BYTES > buf.length) return true;
  if (buf.readUInt32LE(pos) !== MAGIC) return false;
  return pos + HEADER_BYTES + buf.readUInt32LE(pos + 4) >= buf.length;
}

function damagedRecordError(path: string, pos: number, size: number): EmulatorProtocolError {
  return new EmulatorProtocolError(
    STORAGE_FAILURE_CONDITION,
    `damaged record at byte ${pos} of ${path} (${size} bytes), with data after it: the events stored from there on cannot be read. Restore the file from a copy, or move the partition's directory aside to start it empty; the emulator will not cut the file and hand those sequence numbers out again`,
    { retriable: false },
  );
}

/** The state saved in `dir`, if any.
 * @throws EmulatorProtocolError when the file exists but is damaged. */
export function readLogState(dir: string): LogState | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, STATE_FILE), "utf8");
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text) as Partial<LogState>;
    const fields = [v.beginSequenceNumber, v.nextSequenceNumber, v.nextOffset, v.lastEnqueuedTimeMs];
    if (fields.every((f) => typeof f === "number" && Number.isFinite(f))) return v as LogState;
  } catch (err) {
    throw storageError(`damaged state file in ${dir}`, err);
  }
  throw storageError(`damaged state file in ${dir}`);
}

function storageError(message: string, cause?: unknown): EmulatorProtocolError {
  return new EmulatorProtocolError(STORAGE_FAILURE_CONDITION, message, {
    cause,
    retriable: true,
  });
}
