/**
 * How far one partition is done, in one owner: the events received and completed (the
 * completed-prefix tracker, tracker.ts), when to checkpoint (the policy, policy.ts), and the
 * checkpoint loop, which writes the tracker's candidate through the guarded store when the policy
 * says so, one write at a time. The loop's timer and the meaning of a failed write are in
 * checkpoint-timer.ts.
 */
import type { Checkpoint, ReceivedEventData } from "@azure/event-hubs";
import type { CheckpointPosition, PartitionProgressOptions } from "../types.js";
import { CheckpointTimer, writeFailed } from "./checkpoint-timer.js";
import { CheckpointPolicy } from "./policy.js";
import { CompletedPrefixTracker } from "./tracker.js";

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
   * last tracked one (received again in the same ownership) is skipped with a warning. Call with
   * every batch the SDK hands over, empty ones too: the policy learns from their sizes when a
   * backlog has drained.
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
    // What completed before this batch may already reach its end (an empty batch): look now.
    if (this.policy.batchReceived(events.length, tracker.lastTracked, tracker.lastCheckpointedSequenceNumber))
      this.poke();
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
    const { tracker, timer, policy } = this;
    const count = tracker.uncheckpointedCount;
    const through = tracker.completedThrough;
    // Called after every completion. With the timer armed (for when the interval makes a write
    // due, or for the retry pause), only the count or catching up can make one due sooner: no
    // clock read.
    if (timer.armed && count < this.options.checkpointEvery && !policy.caughtUp(through)) return;
    const now = this.clock();
    if (now >= timer.notBeforeMs && policy.isDue(now, count, through)) {
      void this.request();
      return;
    }
    timer.armFor(policy.msUntilDue(now, count, through), now);
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
      const { tracker } = this;
      if (!this.disabled)
        this.timer.armFor(
          this.policy.msUntilDue(now, tracker.uncheckpointedCount, tracker.completedThrough),
          now,
        );
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
    } while (this.again && this.isDue());
  }

  private isDue(): boolean {
    const { tracker } = this;
    return this.policy.isDue(this.clock(), tracker.uncheckpointedCount, tracker.completedThrough);
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
      } else if (failure === "behind") {
        this.policy.forgetCaughtUp();
      }
      return false;
    }
    observer?.checkpointWritten("ok", (performance.now() - startedAt) / 1000);
    this.tracker.markCheckpointed(position.sequenceNumber);
    this.policy.markCheckpointed(this.clock(), position.sequenceNumber);
    this.last = position;
    logger.debug(position, "checkpoint written");
    return true;
  }
}
