/**
 * The completed-prefix tracker of one partition: which received events have completed, and so
 * the highest event a checkpoint may name. Pure bookkeeping; the checkpoint loop (progress.ts)
 * asks it what to write.
 */
import { EhwError } from "../../../common/errors.js";
import type { CheckpointPosition } from "../types.js";

interface Entry {
  readonly sequenceNumber: number;
  readonly offset: string;
  /** When the service enqueued it (the age of the oldest unprocessed event); undefined if not given. */
  readonly enqueuedTime: Date | undefined;
  done: boolean;
}

/** Drop the consumed head of the queue once it holds this many entries (amortised O(1) shift). */
const COMPACT_AFTER = 1024;
/** Most handed-out candidates remembered between two checkpoints. */
const MAX_ISSUED = 1024;

/**
 * Completed-prefix tracker of one partition. Events are tracked in arrival order (strictly
 * increasing sequence numbers, gaps allowed) and completed in any order; the checkpoint candidate
 * is the highest tracked event below which every tracked event has completed. An event that is
 * running, or failed and not yet resolved, is simply not complete, so the candidate never passes
 * it. Memory is O(in-flight): the completed prefix is dropped as soon as it is known.
 */
export class CompletedPrefixTracker {
  /** Tracked events in sequence order; those before `head` are the dropped completed prefix. */
  private queue: Entry[] = [];
  private head = 0;
  private openCount = 0;
  private tracked: number | undefined;
  /** The entry of the candidate; its position object is built only when asked for. */
  private candidateEntry: Entry | undefined;
  private candidate: CheckpointPosition | undefined;
  private checkpointed: number | undefined;
  private sinceCheckpoint = 0;
  private completedTotal = 0;
  /** Number of events that ever joined the completed prefix. */
  private prefixOrdinal = 0;
  /** Candidates handed out by pendingCheckpoint, with the prefix length at that time. */
  private readonly issued = new Map<number, number>();

  /** Number of tracked events that have not completed yet. */
  get incomplete(): number {
    return this.openCount;
  }

  /** Completions since the tracker was created (for metrics). */
  get completedCount(): number {
    return this.completedTotal;
  }

  /** Events in the completed prefix past the last checkpoint: what the policy compares with N. */
  get uncheckpointedCount(): number {
    return this.sinceCheckpoint;
  }

  /** Sequence number of the last event tracked, if any. */
  get lastTracked(): number | undefined {
    return this.tracked;
  }

  /**
   * Sequence number of the checkpoint candidate (the completed prefix's last event), if any:
   * what {@link checkpointCandidate} names, without building a position object.
   */
  get completedThrough(): number | undefined {
    return this.candidateEntry?.sequenceNumber;
  }

  /** Sequence number of the last checkpoint recorded with {@link markCheckpointed}, if any. */
  get lastCheckpointedSequenceNumber(): number | undefined {
    return this.checkpointed;
  }

  /** Records an event that was scheduled, with its enqueued time. Sequence numbers must increase strictly. */
  track(sequenceNumber: number, offset: string, enqueuedTime?: Date): void {
    if (!Number.isSafeInteger(sequenceNumber) || sequenceNumber < 0) {
      throw invariant(`cannot track sequence number ${sequenceNumber}: not a non-negative integer`);
    }
    if (this.tracked !== undefined && sequenceNumber <= this.tracked) {
      throw invariant(
        `cannot track sequence number ${sequenceNumber} after ${this.tracked}: events must be tracked in increasing order`,
        sequenceNumber,
      );
    }
    this.queue.push({ sequenceNumber, offset, enqueuedTime, done: false });
    this.openCount += 1;
    this.tracked = sequenceNumber;
  }

  /** Marks a tracked event as completed (handled, or resolved by dead-lettering). Any order. */
  complete(sequenceNumber: number): void {
    const entry = this.find(sequenceNumber);
    if (entry === undefined || entry.done) {
      throw invariant(
        `cannot complete sequence number ${sequenceNumber}: not tracked or already complete`,
        sequenceNumber,
      );
    }
    entry.done = true;
    this.openCount -= 1;
    this.completedTotal += 1;
    this.advance();
  }

  /** The highest event below which every tracked event has completed; undefined when none. */
  checkpointCandidate(): CheckpointPosition | undefined {
    return this.handOut(false);
  }

  /** The oldest tracked event that has not completed (what holds the checkpoint back), if any. */
  oldestIncomplete(): CheckpointPosition | undefined {
    const entry = this.queue[this.head];
    return entry === undefined ? undefined : { sequenceNumber: entry.sequenceNumber, offset: entry.offset };
  }

  /** Enqueued time of the oldest tracked event not completed; undefined when none or not given. */
  oldestIncompleteEnqueuedTime(): Date | undefined {
    return this.queue[this.head]?.enqueuedTime;
  }

  /** The candidate, when it lies past the last recorded checkpoint; else undefined. */
  pendingCheckpoint(): CheckpointPosition | undefined {
    return this.handOut(true);
  }

  /**
   * Records that a checkpoint at `sequenceNumber` was written; a lower one than the last is ignored
   * (never backwards). Events that completed after a handed-out candidate was written still count
   * as uncheckpointed; for any other position (e.g. one read from the store) the count restarts.
   */
  markCheckpointed(sequenceNumber: number): void {
    if (this.checkpointed !== undefined && sequenceNumber <= this.checkpointed) return;
    this.checkpointed = sequenceNumber;
    const ordinal = this.issued.get(sequenceNumber);
    this.sinceCheckpoint = ordinal === undefined ? 0 : this.prefixOrdinal - ordinal;
    for (const seq of this.issued.keys()) {
      if (seq <= sequenceNumber) this.issued.delete(seq);
    }
  }

  /**
   * The candidate (only past the last checkpoint when `pastLast`), one position object per
   * candidate. Its prefix length is remembered, so that markCheckpointed counts what completed since.
   */
  private handOut(pastLast: boolean): CheckpointPosition | undefined {
    const entry = this.candidateEntry;
    if (entry === undefined) return undefined;
    const { sequenceNumber } = entry;
    if (pastLast && this.checkpointed !== undefined && sequenceNumber <= this.checkpointed) return undefined;
    if (this.candidate?.sequenceNumber !== sequenceNumber) {
      this.candidate = { sequenceNumber, offset: entry.offset };
    }
    if (!this.issued.has(sequenceNumber)) {
      // Bounded even when checkpoints keep failing: the oldest entries matter least.
      if (this.issued.size >= MAX_ISSUED) {
        const oldest = this.issued.keys().next();
        if (!oldest.done) this.issued.delete(oldest.value);
      }
      this.issued.set(sequenceNumber, this.prefixOrdinal);
    }
    return this.candidate;
  }

  /**
   * The not yet dropped entry of `sequenceNumber`, if tracked. The queue is sorted, so a binary
   * search; under partition ordering the event completed is the oldest one, found at once.
   */
  private find(sequenceNumber: number): Entry | undefined {
    const queue = this.queue;
    let low = this.head;
    if (queue[low]?.sequenceNumber === sequenceNumber) return queue[low];
    let high = queue.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const entry = queue[mid]!;
      if (entry.sequenceNumber === sequenceNumber) return entry;
      if (entry.sequenceNumber < sequenceNumber) low = mid + 1;
      else high = mid - 1;
    }
    return undefined;
  }

  private advance(): void {
    let moved = 0;
    while (this.head < this.queue.length) {
      const entry = this.queue[this.head];
      if (entry === undefined || !entry.done) break;
      this.candidateEntry = entry;
      this.head += 1;
      moved += 1;
    }
    this.prefixOrdinal += moved;
    this.sinceCheckpoint += moved;
    if (this.head >= COMPACT_AFTER || this.head === this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}

function invariant(message: string, sequenceNumber?: number): EhwError {
  return new EhwError("INVARIANT_VIOLATED", message, {
    context: sequenceNumber === undefined ? {} : { sequenceNumber },
  });
}
