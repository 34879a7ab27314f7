/**
 * One partition's event log: consecutive sequence numbers, byte-position offsets that are never
 * reused, retention by count and age, optional persistence to append-only segment files.
 */
import { ConfigError } from "../../common/errors.js";
import { type Logger, silentLogger } from "../../observability/logger.js";
import { EmulatorProtocolError } from "../errors.js";
import type { StartPosition } from "../services/start-position.js";
import { DEFAULT_CHUNK_BYTES, EventStore, offsetAdvance, type StoredEvent } from "./event-store.js";
import {
  type DecodedRecord,
  encodeRecord,
  type LogState,
  readLogState,
  SegmentFiles,
} from "./segment-files.js";

export type { StoredEvent };

/** What the management `READ` of a partition reports. */
export interface PartitionInfo {
  /** Oldest retained sequence number; -1 when empty. */
  beginSequenceNumber: number;
  /** Newest sequence number; -1 when empty. */
  lastSequenceNumber: number;
  /** Offset of the newest event; "-1" when empty. */
  lastOffset: string;
  /** Enqueued time of the newest event in ms since the Unix epoch; 0 when empty. */
  lastEnqueuedTimeMs: number;
  /** True when no event is retained. */
  isEmpty: boolean;
}

/** Options of {@link PartitionLog.open}. */
export interface PartitionLogOptions {
  /** Keep at most this many events (oldest dropped first); default unlimited. */
  retentionEvents?: number;
  /** Drop events older than this many ms; default unlimited. */
  retentionMs?: number;
  /**
   * Directory for this partition's files; default none (memory only). When set, every append is
   * written to a segment file with a synchronous write before `append()` returns, so an accepted
   * event survives the process being killed (kill -9); it is not fsynced, so a power loss may
   * lose the newest appends. `open()` reloads all retained events with their sequence numbers,
   * offsets and enqueued times, and cuts off a record torn by a crash mid-write.
   */
  dataDir?: string;
  /** Clock, in ms since the Unix epoch; default `Date.now`. */
  now?: () => number;
  /** Size of one in-memory chunk buffer, in bytes; default 1 MiB. */
  chunkBytes?: number;
  /** A segment file is closed and a new one started once it reaches this size, in bytes; default
   *  16 MiB. Retention deletes whole segments, so this is also the disk-space granularity. */
  segmentBytes?: number;
  /** Logger for failures of append listeners; default silent. */
  logger?: Logger;
}

interface CompiledOptions {
  retentionEvents: number;
  retentionMs: number;
  dataDir: string | undefined;
  now: () => number;
  chunkBytes: number;
  segmentBytes: number;
  logger: Logger;
}

const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;
/** Condition sent for a start offset this partition never handed out. */
export const UNKNOWN_OFFSET_CONDITION = "com.microsoft:argument-out-of-range";

function compileOptions(raw: PartitionLogOptions): CompiledOptions {
  const positive = (value: number | undefined, setting: string, min: number): number => {
    if (value === undefined) return Number.POSITIVE_INFINITY;
    if (!(value >= min) || (Number.isFinite(value) && !Number.isInteger(value))) {
      throw new ConfigError(`${setting} must be an integer >= ${min}, got ${value}`, {
        context: { setting },
      });
    }
    return value;
  };
  return {
    retentionEvents: positive(raw.retentionEvents, "retentionEvents", 1),
    retentionMs: positive(raw.retentionMs, "retentionMs", 1),
    dataDir: raw.dataDir,
    now: raw.now ?? Date.now,
    chunkBytes: Math.min(positive(raw.chunkBytes ?? DEFAULT_CHUNK_BYTES, "chunkBytes", 64), 2 ** 31),
    segmentBytes: positive(raw.segmentBytes ?? DEFAULT_SEGMENT_BYTES, "segmentBytes", 1),
    logger: (raw.logger ?? silentLogger()).child({ component: "partition-log" }),
  };
}

/** Result of {@link PartitionLog.append}. */
export interface AppendResult {
  /** Sequence number of the first appended event. */
  firstSequenceNumber: number;
  /** Sequence number of the last appended event (`firstSequenceNumber - 1` for an empty append). */
  lastSequenceNumber: number;
  /** The enqueued time given to every event of the append, in ms since the Unix epoch. */
  enqueuedTimeMs: number;
}

/** An event to append. */
export interface AppendEvent {
  /** The complete encoded AMQP message; copied, so the caller may reuse the buffer. */
  message: Buffer;
  /** The event's partition key; default none. */
  partitionKey?: string;
}

/** One partition's events. Synchronous and single-threaded: callers need no locking. */
export class PartitionLog {
  private readonly store: EventStore;
  private readonly listeners = new Set<() => void>();
  private files: SegmentFiles | undefined;
  private nextOffset = 0;
  private lastTimeMs = 0;
  private closed = false;

  private constructor(private readonly options: CompiledOptions) {
    this.store = new EventStore(0, options.chunkBytes);
  }

  /** Opens a log, reading `dataDir` when given. Synchronous. */
  static open(options: PartitionLogOptions = {}): PartitionLog {
    const log = new PartitionLog(compileOptions(options));
    if (log.options.dataDir !== undefined) log.load(log.options.dataDir);
    log.applyRetention();
    return log;
  }

  /**
   * Appends atomically (all or none), assigning consecutive sequence numbers and one enqueued time
   * (never earlier than the previous append's, even if the clock steps back). With `dataDir` the
   * events are on disk when this returns. An empty list changes nothing.
   * @throws EmulatorProtocolError (`amqp:internal-error`, retriable) when the write fails.
   */
  append(events: ReadonlyArray<AppendEvent>): AppendResult {
    if (this.closed) throw new EmulatorProtocolError("amqp:internal-error", "partition log is closed");
    const firstSequenceNumber = this.store.nextSequenceNumber;
    const enqueuedTimeMs = Math.max(this.options.now(), this.lastTimeMs);
    const result = {
      firstSequenceNumber,
      lastSequenceNumber: firstSequenceNumber + events.length - 1,
      enqueuedTimeMs,
    };
    if (events.length === 0) return result;
    this.files?.append(
      encodeRecord(firstSequenceNumber, this.nextOffset, enqueuedTimeMs, events),
      firstSequenceNumber,
      result.lastSequenceNumber,
    );
    this.store.reserve(events.length);
    for (const e of events) this.push(e.message, e.partitionKey, enqueuedTimeMs);
    this.applyRetention();
    this.notify();
    return result;
  }

  /** What the partition holds now, as the management `READ` reports it. */
  info(): PartitionInfo {
    if (this.store.count === 0) {
      return {
        beginSequenceNumber: -1,
        lastSequenceNumber: -1,
        lastOffset: "-1",
        lastEnqueuedTimeMs: 0,
        isEmpty: true,
      };
    }
    const last = this.store.nextSequenceNumber - 1;
    return {
      beginSequenceNumber: this.store.beginSequenceNumber,
      lastSequenceNumber: last,
      lastOffset: String(this.store.offsetOf(last)),
      lastEnqueuedTimeMs: this.store.timeOf(last),
      isEmpty: false,
    };
  }

  /**
   * First sequence number a reader at `position` should get. `lastSequenceNumber + 1` when nothing
   * is there yet; a position before the retained range resolves to the oldest retained event, one
   * past the end to the next event.
   * @throws EmulatorProtocolError (`com.microsoft:argument-out-of-range`) for an offset this
   *   partition never handed out.
   */
  resolve(position: StartPosition): number {
    const begin = this.store.beginSequenceNumber;
    const next = this.store.nextSequenceNumber;
    const clamp = (seq: number): number => Math.min(Math.max(seq, begin), next);
    switch (position.kind) {
      case "earliest":
        return begin;
      case "latest":
        return next;
      case "sequence":
        return clamp(position.sequenceNumber + (position.inclusive ? 0 : 1));
      case "enqueuedTime":
        return this.store.firstAtTime(position.timeMs, position.inclusive);
      case "offset":
        return this.resolveOffset(position.offset, position.inclusive);
    }
  }

  /** Up to `max` events from `fromSequenceNumber` on (from the oldest retained one if that is
   *  later); fewer, or none, at the end. Messages are views, not copies. */
  read(fromSequenceNumber: number, max: number): StoredEvent[] {
    const from = Math.max(fromSequenceNumber, this.store.beginSequenceNumber);
    const to = Math.min(this.store.nextSequenceNumber, from + Math.max(0, Math.floor(max)));
    const events: StoredEvent[] = [];
    for (let seq = from; seq < to; seq++) events.push(this.store.event(seq));
    return events;
  }

  /** Calls `listener` after every append; returns the function that unsubscribes it. */
  onAppend(listener: () => void): () => void {
    // Wrapped so that the same function may subscribe twice and unsubscribe each independently.
    const entry = (): void => listener();
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  /** Applies retention now (count, then age); returns how many events were dropped. With
   *  `dataDir`, segments holding only dropped events are deleted. */
  applyRetention(): number {
    const { retentionEvents, retentionMs } = this.options;
    let drop = Math.max(0, this.store.count - retentionEvents);
    if (Number.isFinite(retentionMs)) {
      const cutoff = this.options.now() - retentionMs;
      const firstKept = this.store.firstAtTime(cutoff, true) - this.store.beginSequenceNumber;
      drop = Math.max(drop, firstKept);
    }
    if (drop === 0) return 0;
    this.store.dropOldest(drop);
    if (this.files?.hasSegmentBefore(this.store.beginSequenceNumber)) this.deleteSegments(this.files);
    return drop;
  }

  /** Bytes held in memory for stored events (chunk buffers + index arrays). */
  memoryBytes(): number {
    return this.store.memoryBytes();
  }

  /** Saves numbering state and closes files. Further appends throw. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    if (this.files !== undefined) {
      this.files.writeState(this.state());
      this.files.close();
    }
  }

  private push(message: Buffer, partitionKey: string | undefined, enqueuedTimeMs: number): void {
    this.store.push(message, partitionKey, this.nextOffset, enqueuedTimeMs);
    this.nextOffset += offsetAdvance(message.length);
    this.lastTimeMs = enqueuedTimeMs;
  }

  private resolveOffset(offsetText: string, inclusive: boolean): number {
    const offset = Number(offsetText);
    const seq = Number.isSafeInteger(offset) ? this.store.findOffset(offset) : undefined;
    if (seq !== undefined) return inclusive ? seq : seq + 1;
    const firstRetained =
      this.store.count > 0 ? this.store.offsetOf(this.store.beginSequenceNumber) : this.nextOffset;
    // Offsets below the retained range were handed out once; retention forgot which exactly.
    if (Number.isSafeInteger(offset) && offset >= 0 && offset < firstRetained)
      return this.store.beginSequenceNumber;
    throw new EmulatorProtocolError(
      UNKNOWN_OFFSET_CONDITION,
      `offset '${offsetText}' was never handed out by this partition (next offset is ${this.nextOffset})`,
    );
  }

  private deleteSegments(files: SegmentFiles): void {
    // The state goes first: should the process die between the two steps, the next open() still
    // skips the dropped events and continues numbering after the deleted ones.
    files.writeState(this.state());
    files.deleteBefore(this.store.beginSequenceNumber);
  }

  private state(): LogState {
    return {
      beginSequenceNumber: this.store.beginSequenceNumber,
      nextSequenceNumber: this.store.nextSequenceNumber,
      nextOffset: this.nextOffset,
      lastEnqueuedTimeMs: this.lastTimeMs,
    };
  }

  private load(dataDir: string): void {
    const state = readLogState(dataDir);
    const skipBelow = state?.beginSequenceNumber ?? 0;
    this.files = SegmentFiles.open(dataDir, this.options.segmentBytes, (record) =>
      this.replay(record, skipBelow),
    );
    if (state === undefined) return;
    // Numbering continues after everything ever handed out, even when retention deleted it all.
    if (this.store.count === 0) {
      this.store.restartAt(Math.max(state.nextSequenceNumber, this.store.nextSequenceNumber));
    } else if (this.store.nextSequenceNumber < state.nextSequenceNumber) {
      // Events were handed out that the segment files no longer hold: numbering on from the files
      // would give their sequence numbers to new events.
      throw new EmulatorProtocolError(
        "amqp:internal-error",
        `the segment files in ${dataDir} end before sequence number ${state.nextSequenceNumber}, which state.json says was handed out (they end at ${this.store.nextSequenceNumber - 1}): restore the missing segment files, or move the directory aside to start the partition empty`,
        { retriable: false },
      );
    }
    this.nextOffset = Math.max(this.nextOffset, state.nextOffset);
    this.lastTimeMs = Math.max(this.lastTimeMs, state.lastEnqueuedTimeMs);
  }

  private replay(record: DecodedRecord, skipBelow: number): void {
    if (this.store.count === 0) this.store.restartAt(record.firstSequenceNumber);
    else if (record.firstSequenceNumber !== this.store.nextSequenceNumber) {
      throw new EmulatorProtocolError(
        "amqp:internal-error",
        `segment files skip from sequence number ${this.store.nextSequenceNumber} to ${record.firstSequenceNumber}`,
      );
    }
    this.nextOffset = record.firstOffset;
    this.store.reserve(record.events.length);
    for (const e of record.events) this.push(e.message, e.partitionKey, record.enqueuedTimeMs);
    if (skipBelow > this.store.beginSequenceNumber)
      this.store.dropOldest(skipBelow - this.store.beginSequenceNumber);
  }

  private notify(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        // The events are stored already; a failing listener must not turn the append into an error.
        this.options.logger.error({ err }, "append listener failed");
      }
    }
  }
}
