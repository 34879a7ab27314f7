/**
 * How far one partition is done, in one owner: the events received and completed (the
 * completed-prefix tracker), the every-N-or-T policy, and the checkpoint loop, which writes the
 * tracker's candidate through the guarded store when the policy says so, one write at a time.
 * The loop's timer and the meaning of a failed write are in checkpoint-timer.ts.
 */
import type { Checkpoint, ReceivedEventData } from "@azure/event-hubs";
import { EhwError } from "../../../common/errors.js";
import type { CheckpointPosition, PartitionProgressOptions } from "../types.js";
import {
  type CheckpointPolicyOptions,
  CheckpointTimer,
  msUntilCheckpointDue,
  writeFailed,
} from "./checkpoint-timer.js";

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
/** The progress of one partition; see the module comment. */
export class PartitionProgress {
  private readonly tracker = new CompletedPrefixTracker();
  private readonly policy: CheckpointPolicy;
  /** Wakes the loop for progress not due yet, and after a failed write's pause. */
  private readonly timer = new CheckpointTimer(() => this.poke());
  private handled = 0;
  private exhausted = 0;
  private readonly clock: () => number;
  private writing: Promise<void> | undefined;
  private again = false;
  private disabled = false;
  private last: CheckpointPosition | undefined;

  constructor(private readonly options: PartitionProgressOptions) {
    this.clock = options.clock ?? Date.now;
    this.policy = new CheckpointPolicy(options, this.clock());
  }

  /** The last checkpoint this partition wrote, if any. */
  get lastCheckpoint(): CheckpointPosition | undefined {
    return this.last;
  }

  /**
   * Enqueued time (ms since the epoch) of the oldest tracked event not completed yet; null when
   * every tracked event completed.
   */
  get oldestIncompleteEnqueuedTimeMs(): number | null {
    return this.tracker.incomplete === 0
      ? null
      : (this.tracker.oldestIncompleteEnqueuedTime()?.getTime() ?? null);
  }

  /** The sequence number of the last event tracked, if any. */
  get lastTracked(): number | undefined {
    return this.tracker.lastTracked;
  }

  /** Events handled successfully since the partition was claimed. */
  get processed(): number {
    return this.handled;
  }

  /** Events whose last attempt failed. */
  get failed(): number {
    return this.exhausted;
  }

  /** The highest event below which every tracked event has completed; undefined when none. */
  checkpointCandidate(): CheckpointPosition | undefined {
    return this.tracker.checkpointCandidate();
  }

  /**
   * Tracks a batch in arrival order and returns the events that are new; an event at or below the
   * last tracked one (received again in the same ownership) is skipped with a warning.
   */
  track(events: readonly ReceivedEventData[]): ReceivedEventData[] {
    const fresh: ReceivedEventData[] = [];
    const tracker = this.tracker;
    for (const event of events) {
      const lastTracked = tracker.lastTracked;
      if (lastTracked !== undefined && event.sequenceNumber <= lastTracked) {
        this.options.logger.warn(
          { sequenceNumber: event.sequenceNumber, lastTracked },
          "event received again in the same ownership; skipped",
        );
        continue;
      }
      tracker.track(event.sequenceNumber, event.offset, event.enqueuedTimeUtc);
      fresh.push(event);
    }
    return fresh;
  }

  /**
   * Marks tracked events as completed, in any order: `handled` when their handlers succeeded, else
   * resolved or skipped by the failure handler. Throws when one is not tracked or already complete.
   */
  complete(events: readonly ReceivedEventData[], handled: boolean): void {
    for (const event of events) this.tracker.complete(event.sequenceNumber);
    if (handled) this.handled += events.length;
  }

  /** Counts events whose last attempt failed. */
  countFailed(events: number): void {
    this.exhausted += events;
  }

  /** Call after completions: writes now when due, else arms the interval timer. */
  poke(): void {
    if (this.disabled) return;
    const count = this.tracker.uncheckpointedCount;
    const { timer } = this;
    // Called after every completion. With the timer armed (for when the interval makes a write
    // due, or for the retry pause), only the count can make one due sooner: no clock read.
    if (timer.armed && count < this.options.checkpointEvery) return;
    const now = this.clock();
    if (now >= timer.notBeforeMs && this.policy.isDue(now, count)) {
      void this.request();
      return;
    }
    timer.armFor(this.policy.msUntilDue(now, count), now);
  }

  /**
   * Writes the candidate now, whatever the policy says, after any write in flight; resolves once
   * nothing is pending. Used for the final checkpoint at shutdown. Failures are logged, not thrown.
   */
  async flush(): Promise<void> {
    if (this.disabled) return;
    this.timer.clear();
    await this.request();
    // A completion during the last write may have left something behind.
    if (this.tracker.pendingCheckpoint() !== undefined && !this.disabled) await this.request();
  }

  /** Stops all writing: after ownership loss nothing may be written. Idempotent. */
  disable(): void {
    this.disabled = true;
    this.timer.clear();
  }

  private request(): Promise<void> {
    if (this.writing !== undefined) {
      this.again = true;
      return this.writing;
    }
    this.writing = this.loop().finally(() => {
      this.writing = undefined;
      // Progress that is not due yet is written within the interval.
      const now = this.clock();
      if (!this.disabled)
        this.timer.armFor(this.policy.msUntilDue(now, this.tracker.uncheckpointedCount), now);
    });
    return this.writing;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      const position = this.disabled ? undefined : this.tracker.pendingCheckpoint();
      if (position === undefined || !(await this.write(position))) return;
      // Requests made while a write was in flight are coalesced into one more write, but only once
      // the policy says so again: otherwise, with events flowing, each write would be followed at
      // once by another holding only the few events finished during it, many more writes than one
      // per N. What is not due yet is left to the interval timer or to `flush`.
    } while (this.again && this.policy.isDue(this.clock(), this.tracker.uncheckpointedCount));
  }

  private async write(position: CheckpointPosition): Promise<boolean> {
    const { identity, store, logger, observer } = this.options;
    const checkpoint: Checkpoint = { ...identity, ...position };
    const startedAt = performance.now();
    try {
      await store.updateCheckpoint(checkpoint);
    } catch (err) {
      const failure = writeFailed(err, position.sequenceNumber, logger);
      const seconds = (performance.now() - startedAt) / 1000;
      observer?.checkpointWritten(failure === "failed" ? "failed" : "refused", seconds);
      if (failure === "not-owner") {
        this.disable();
        // Nothing it processes from now on can be checkpointed: the partition must stop too.
        this.options.onNotOwner?.();
      } else if (failure === "failed" && !this.disabled) {
        this.timer.pause(this.clock(), this.options.checkpointIntervalMs);
      }
      return false;
    }
    observer?.checkpointWritten("ok", (performance.now() - startedAt) / 1000);
    this.tracker.markCheckpointed(position.sequenceNumber);
    this.policy.markCheckpointed(this.clock());
    this.last = position;
    logger.debug(position, "checkpoint written");
    return true;
  }
}

// The every-N-or-T policy: pure decisions, every time passed in by the caller.

/** The policy with its one piece of state, the time of the last checkpoint. */
export class CheckpointPolicy {
  /** @param lastAtMs when the partition was opened; the interval counts from here at first. */
  constructor(
    private readonly options: CheckpointPolicyOptions,
    private lastAtMs: number,
  ) {}

  /** Epoch milliseconds of the last recorded checkpoint (or of the start). */
  get lastCheckpointAtMs(): number {
    return this.lastAtMs;
  }

  /**
   * Whether it is time to checkpoint: `checkpointEvery` events completed since the last checkpoint,
   * or `checkpointIntervalMs` passed since it and at least one event is new, whichever is first.
   */
  isDue(nowMs: number, uncheckpointedCount: number): boolean {
    if (uncheckpointedCount <= 0) return false;
    if (uncheckpointedCount >= this.options.checkpointEvery) return true;
    return nowMs - this.lastAtMs >= this.options.checkpointIntervalMs;
  }

  /** See {@link msUntilCheckpointDue}. */
  msUntilDue(nowMs: number, uncheckpointedCount: number): number | undefined {
    const state = { nowMs, lastCheckpointAtMs: this.lastAtMs, uncheckpointedCount };
    return msUntilCheckpointDue(state, this.options);
  }

  /** Records that a checkpoint was written at `nowMs`. */
  markCheckpointed(nowMs: number): void {
    this.lastAtMs = nowMs;
  }
}
