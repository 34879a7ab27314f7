/**
 * How far one partition is done, in one owner: the events it received (tracked in the
 * completed-prefix tracker in arrival order), the ones that completed, and the checkpoint loop —
 * when the policy says so (N completions or T ms), write the tracker's candidate through the
 * guarded store, at most one write in flight, later requests coalesced into the next write,
 * failures logged and retried at the next opportunity. The checkpoint never passes an event that
 * has not completed: a running or failed-and-unresolved event is simply not complete.
 */
import type { Checkpoint, ReceivedEventData } from "@azure/event-hubs";
import { CheckpointRefusedError, type CheckpointWriter } from "../../../checkpoint/guarded-store.js";
import type { Logger } from "../../../observability/logger.js";
import type { PartitionObserver } from "../../../observability/observer.js";
import { type CheckpointPosition, CompletedPrefixTracker } from "./tracker.js";

export type { CheckpointPosition } from "./tracker.js";

/** Which partition's checkpoint blob is written. */
export interface PartitionIdentity {
  /** Namespace host as the SDK names it in blob names. */
  readonly fullyQualifiedNamespace: string;
  /** Event hub name. */
  readonly eventHubName: string;
  /** Consumer group. */
  readonly consumerGroup: string;
  /** Partition id. */
  readonly partitionId: string;
}

/** Options of {@link PartitionProgress}. */
export interface PartitionProgressOptions {
  readonly identity: PartitionIdentity;
  readonly store: CheckpointWriter;
  /** Completions between checkpoints; ≥ 1. */
  readonly checkpointEvery: number;
  /** Milliseconds after which new progress is checkpointed anyway. */
  readonly checkpointIntervalMs: number;
  readonly logger: Logger;
  /** Epoch milliseconds; default Date.now. */
  readonly clock?: () => number;
  /** Receives every write's outcome and duration (metrics); default none. */
  readonly observer?: Pick<PartitionObserver, "checkpointWritten">;
  /** Called when the store refused a write because this worker does not own the partition. */
  readonly onNotOwner?: () => void;
}

/** Pause after a failed write before the next try, milliseconds (capped by the interval). */
const RETRY_AFTER_FAILURE_MS = 1000;

/** The progress of one partition; see the module comment. */
export class PartitionProgress {
  private readonly tracker = new CompletedPrefixTracker();
  private readonly policy: CheckpointPolicy;
  private tracked: number | undefined;
  private handled = 0;
  private exhausted = 0;
  private readonly clock: () => number;
  private writing: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private notBeforeMs = 0;
  private disabled = false;
  private last: CheckpointPosition | undefined;

  constructor(private readonly options: PartitionProgressOptions) {
    this.clock = options.clock ?? Date.now;
    this.policy = new CheckpointPolicy(
      { checkpointEvery: options.checkpointEvery, checkpointIntervalMs: options.checkpointIntervalMs },
      this.clock(),
    );
  }

  /** The last checkpoint this partition wrote, if any. */
  get lastCheckpoint(): CheckpointPosition | undefined {
    return this.last;
  }

  /** The sequence number of the last event tracked, if any. */
  get lastTracked(): number | undefined {
    return this.tracked;
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
    for (const event of events) {
      if (this.tracked !== undefined && event.sequenceNumber <= this.tracked) {
        this.options.logger.warn(
          { sequenceNumber: event.sequenceNumber, lastTracked: this.tracked },
          "event received again in the same ownership; skipped",
        );
        continue;
      }
      this.tracker.track(event.sequenceNumber, event.offset);
      this.tracked = event.sequenceNumber;
      fresh.push(event);
    }
    return fresh;
  }

  /**
   * Marks tracked events as completed, in any order: `handled` when their handlers succeeded, else
   * resolved or skipped by the failure handler. Throws when one is not tracked or already complete
   * (a broken invariant). Whether a checkpoint is due is asked at {@link poke}.
   */
  complete(events: readonly ReceivedEventData[], handled: boolean): void {
    for (const event of events) this.tracker.complete(event.sequenceNumber);
    if (handled) this.handled += events.length;
  }

  /** Counts events whose last attempt failed. */
  countFailed(events: number): void {
    this.exhausted += events;
  }

  /** Events handled successfully since the partition was claimed. */
  get processed(): number {
    return this.handled;
  }

  /** Events whose last attempt failed. */
  get failed(): number {
    return this.exhausted;
  }

  /** Call after completions: writes now when due, else arms the interval timer. */
  poke(): void {
    if (this.disabled) return;
    const count = this.tracker.uncheckpointedCount;
    // Called after every completion. With the timer armed (for when the interval makes a write
    // due, or for the retry pause), only the count can make one due sooner: no clock read.
    if (this.timer !== undefined && count < this.options.checkpointEvery) return;
    const now = this.clock();
    if (now >= this.notBeforeMs && this.policy.isDue(now, count)) {
      void this.request();
      return;
    }
    if (this.timer !== undefined) return;
    const due = this.policy.msUntilDue(now, count);
    if (due === undefined) return;
    this.arm(Math.max(due, this.notBeforeMs - now));
  }

  /**
   * Writes the candidate now, whatever the policy says, after any write in flight; resolves once
   * nothing is pending. Used for the final checkpoint at shutdown. Failures are logged, not thrown.
   */
  async flush(): Promise<void> {
    if (this.disabled) return;
    this.clearTimer();
    await this.request();
    // A completion during the last write may have left something behind.
    if (this.tracker.pendingCheckpoint() !== undefined && !this.disabled) await this.request();
  }

  /** Stops all writing: after ownership loss nothing may be written. Idempotent. */
  disable(): void {
    this.disabled = true;
    this.clearTimer();
  }

  private request(): Promise<void> {
    if (this.writing !== undefined) {
      this.again = true;
      return this.writing;
    }
    this.writing = this.loop().finally(() => {
      this.writing = undefined;
      this.armForRest();
    });
    return this.writing;
  }

  private async loop(): Promise<void> {
    let first = true;
    do {
      // Requests made while a write was in flight are coalesced into one more write, but only once
      // the policy says so again: otherwise, with events flowing, each write would be followed at
      // once by another holding only the few events finished during it, many more writes than one
      // per N. What is not due yet is left to the interval timer (armForRest) or to `flush`.
      if (!first && !this.policy.isDue(this.clock(), this.tracker.uncheckpointedCount)) return;
      first = false;
      this.again = false;
      if (this.disabled) return;
      const position = this.tracker.pendingCheckpoint();
      if (position === undefined) return;
      if (!(await this.write(position))) return;
    } while (this.again);
  }

  private async write(position: CheckpointPosition): Promise<boolean> {
    const { identity, store, logger } = this.options;
    const { tracker } = this;
    const checkpoint: Checkpoint = { ...identity, ...position };
    const startedAt = performance.now();
    try {
      await store.updateCheckpoint(checkpoint);
    } catch (err) {
      const outcome = err instanceof CheckpointRefusedError ? "refused" : "failed";
      this.options.observer?.checkpointWritten(outcome, (performance.now() - startedAt) / 1000);
      if (err instanceof CheckpointRefusedError && err.reason === "not-owner") {
        logger.warn(
          { sequenceNumber: position.sequenceNumber, err },
          "checkpoint refused: partition not owned",
        );
        this.disable();
        // Nothing it processes from now on can be checkpointed: the partition must stop too.
        this.options.onNotOwner?.();
        return false;
      }
      if (err instanceof CheckpointRefusedError) {
        // The stored checkpoint is ahead of this position; a later candidate will pass it. Retrying
        // the same position on a timer cannot succeed.
        logger.debug(
          { sequenceNumber: position.sequenceNumber },
          "checkpoint behind the stored one; skipped",
        );
        return false;
      }
      logger.warn(
        { sequenceNumber: position.sequenceNumber, err },
        "checkpoint write failed; retrying at the next opportunity",
      );
      const retryMs = Math.min(RETRY_AFTER_FAILURE_MS, this.options.checkpointIntervalMs);
      this.notBeforeMs = this.clock() + retryMs;
      this.clearTimer();
      this.arm(retryMs);
      return false;
    }
    this.options.observer?.checkpointWritten("ok", (performance.now() - startedAt) / 1000);
    tracker.markCheckpointed(position.sequenceNumber);
    this.policy.markCheckpointed(this.clock());
    this.last = position;
    logger.debug(position, "checkpoint written");
    return true;
  }

  /** Arms the interval timer for progress that is not due yet, so it is written within T ms. */
  private armForRest(): void {
    if (this.disabled || this.timer !== undefined) return;
    const now = this.clock();
    const due = this.policy.msUntilDue(now, this.tracker.uncheckpointedCount);
    if (due !== undefined) this.arm(Math.max(due, this.notBeforeMs - now));
  }

  private arm(ms: number): void {
    if (this.disabled) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.poke();
    }, ms);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

// The every-N-or-T policy: pure decisions, every time passed in by the caller.

/** Settings of the checkpoint policy. */
export interface CheckpointPolicyOptions {
  /** Checkpoint after this many events joined the completed prefix since the last one; ≥ 1. */
  readonly checkpointEvery: number;
  /** Checkpoint when this many milliseconds passed since the last one and there is something new. */
  readonly checkpointIntervalMs: number;
}

/** What the policy looks at; all times are epoch milliseconds supplied by the caller. */
export interface CheckpointPolicyState {
  /** Now, in epoch milliseconds. */
  readonly nowMs: number;
  /** When the last checkpoint was written (or the partition was opened), epoch milliseconds. */
  readonly lastCheckpointAtMs: number;
  /** Events in the completed prefix past the last checkpoint (the tracker's `uncheckpointedCount`). */
  readonly uncheckpointedCount: number;
}

/**
 * Whether it is time to checkpoint: when `checkpointEvery` events have completed since the last
 * checkpoint, or `checkpointIntervalMs` has passed since it and at least one event is new —
 * whichever comes first. Never when nothing is new.
 */
export function isCheckpointDue(state: CheckpointPolicyState, options: CheckpointPolicyOptions): boolean {
  return isDueAt(state.nowMs, state.lastCheckpointAtMs, state.uncheckpointedCount, options);
}

/** {@link isCheckpointDue} on plain arguments: the policy asks after every completion, without a state object. */
function isDueAt(
  nowMs: number,
  lastCheckpointAtMs: number,
  uncheckpointedCount: number,
  options: CheckpointPolicyOptions,
): boolean {
  if (uncheckpointedCount <= 0) return false;
  if (uncheckpointedCount >= options.checkpointEvery) return true;
  return nowMs - lastCheckpointAtMs >= options.checkpointIntervalMs;
}

/**
 * Milliseconds until the interval rule makes a checkpoint due (0 when already due by time),
 * for arming a timer. Undefined when nothing is new, so no timer is needed.
 */
export function msUntilCheckpointDue(
  state: CheckpointPolicyState,
  options: CheckpointPolicyOptions,
): number | undefined {
  if (state.uncheckpointedCount <= 0) return undefined;
  if (state.uncheckpointedCount >= options.checkpointEvery) return 0;
  return Math.max(0, state.lastCheckpointAtMs + options.checkpointIntervalMs - state.nowMs);
}

/**
 * The policy with its one piece of state, the time of the last checkpoint. Pure: every time is
 * passed in by the caller.
 */
export class CheckpointPolicy {
  private lastAtMs: number;

  /** @param startedAtMs when the partition was opened; the interval counts from here at first. */
  constructor(
    private readonly options: CheckpointPolicyOptions,
    startedAtMs: number,
  ) {
    this.lastAtMs = startedAtMs;
  }

  /** Epoch milliseconds of the last recorded checkpoint (or of the start). */
  get lastCheckpointAtMs(): number {
    return this.lastAtMs;
  }

  /** See {@link isCheckpointDue}. */
  isDue(nowMs: number, uncheckpointedCount: number): boolean {
    return isDueAt(nowMs, this.lastAtMs, uncheckpointedCount, this.options);
  }

  /** See {@link msUntilCheckpointDue}. */
  msUntilDue(nowMs: number, uncheckpointedCount: number): number | undefined {
    return msUntilCheckpointDue(
      { nowMs, lastCheckpointAtMs: this.lastAtMs, uncheckpointedCount },
      this.options,
    );
  }

  /** Records that a checkpoint was written at `nowMs`. */
  markCheckpointed(nowMs: number): void {
    this.lastAtMs = nowMs;
  }
}
