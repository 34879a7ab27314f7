/**
 * When a partition's progress is checkpointed: after `checkpointEvery` events (N) or
 * `checkpointIntervalMs` (T), whichever comes first, and at once when a backlog has drained.
 * Pure decisions: every time, count and sequence number is passed in by the caller.
 *
 * The last rule exists because, on a backlog, every batch the SDK hands over is full; the first one
 * shorter than `maxBatchSize` (or an empty one) after a full one means the partition has caught up
 * with its end. Its last events are fewer than N, and under N-or-T alone their checkpoint would wait
 * up to T although the partition has nothing else to do. Under steady low traffic every batch is
 * short, so there is no transition and the rule never fires; as each transition needs a full batch
 * before it, the rule adds at most one write per full batch.
 */

/** Settings of the checkpoint policy. */
export interface CheckpointPolicyOptions {
  /** Checkpoint after this many events joined the completed prefix since the last one; ≥ 1. */
  readonly checkpointEvery: number;
  /** Checkpoint when this many milliseconds passed since the last one and there is something new. */
  readonly checkpointIntervalMs: number;
  /** Most events per SDK batch; a shorter batch after a full one means the backlog has drained. */
  readonly maxBatchSize: number;
  /** Whether a drained backlog is checkpointed at once (`checkpointOnCatchUp`); default true. */
  readonly checkpointOnCatchUp?: boolean;
}

/** What the policy looks at; all times are epoch milliseconds supplied by the caller. */
export interface CheckpointPolicyState {
  /** Now, in epoch milliseconds. */
  readonly nowMs: number;
  /** When the last checkpoint was written (or the partition was opened), epoch milliseconds. */
  readonly lastCheckpointAtMs: number;
  /** Events in the completed prefix past the last checkpoint (the tracker's `uncheckpointedCount`). */
  readonly uncheckpointedCount: number;
  /**
   * Whether the completed prefix reached the last event of the batch that showed the partition
   * caught up (see the module comment); default false.
   */
  readonly caughtUp?: boolean;
}

/**
 * Milliseconds until a checkpoint is due (0 when it is due now), for arming a timer. Undefined
 * when nothing is new, so no timer is needed.
 */
export function msUntilCheckpointDue(
  state: CheckpointPolicyState,
  options: CheckpointPolicyOptions,
): number | undefined {
  if (state.uncheckpointedCount <= 0) return undefined;
  if (state.uncheckpointedCount >= options.checkpointEvery || state.caughtUp === true) return 0;
  return Math.max(0, state.lastCheckpointAtMs + options.checkpointIntervalMs - state.nowMs);
}

/** Whether a checkpoint is due now. */
export function isCheckpointDue(state: CheckpointPolicyState, options: CheckpointPolicyOptions): boolean {
  return msUntilCheckpointDue(state, options) === 0;
}

/**
 * The policy of one partition with its state: the time of the last checkpoint, whether the last
 * batch was full, and the event a caught-up partition's checkpoint is to reach at once.
 */
export class CheckpointPolicy {
  private lastBatchFull = false;
  private catchUpAt: number | undefined;

  /** @param lastAtMs when the partition was opened; the interval counts from here at first. */
  constructor(
    private readonly options: CheckpointPolicyOptions,
    private lastAtMs: number,
  ) {}

  /** Epoch milliseconds of the last recorded checkpoint (or of the start). */
  get lastCheckpointAtMs(): number {
    return this.lastAtMs;
  }

  /** Sequence number a checkpoint is written for as soon as the prefix reaches it; undefined when none. */
  get caughtUpAt(): number | undefined {
    return this.catchUpAt;
  }

  /**
   * Records a batch the SDK handed over: `size` events (repeats skipped included), `lastTracked` the
   * partition's last event tracked after it, `checkpointed` the last checkpoint's sequence number.
   * Returns true when this batch shows the partition caught up with something left to checkpoint.
   */
  batchReceived(size: number, lastTracked: number | undefined, checkpointed: number | undefined): boolean {
    const full = size >= this.options.maxBatchSize;
    const wasFull = this.lastBatchFull;
    this.lastBatchFull = full;
    if (full || !wasFull || lastTracked === undefined || this.options.checkpointOnCatchUp === false)
      return false;
    if (checkpointed !== undefined && lastTracked <= checkpointed) return false;
    this.catchUpAt = lastTracked;
    return true;
  }

  /** Whether the completed prefix, through `completedThrough`, reached the caught-up batch's end. */
  caughtUp(completedThrough: number | undefined): boolean {
    const at = this.catchUpAt;
    return at !== undefined && completedThrough !== undefined && completedThrough >= at;
  }

  /** Whether a checkpoint is due: N, T, or caught up (see the module comment). */
  isDue(nowMs: number, uncheckpointedCount: number, completedThrough?: number): boolean {
    // Asked after completions; the same rule as msUntilCheckpointDue without building a state.
    if (uncheckpointedCount <= 0) return false;
    if (uncheckpointedCount >= this.options.checkpointEvery || this.caughtUp(completedThrough)) return true;
    return nowMs - this.lastAtMs >= this.options.checkpointIntervalMs;
  }

  /** See {@link msUntilCheckpointDue}. */
  msUntilDue(nowMs: number, uncheckpointedCount: number, completedThrough?: number): number | undefined {
    const state = {
      nowMs,
      lastCheckpointAtMs: this.lastAtMs,
      uncheckpointedCount,
      caughtUp: this.caughtUp(completedThrough),
    };
    return msUntilCheckpointDue(state, this.options);
  }

  /** Records that a checkpoint at `sequenceNumber` was written at `nowMs`. */
  markCheckpointed(nowMs: number, sequenceNumber: number): void {
    this.lastAtMs = nowMs;
    if (this.catchUpAt !== undefined && sequenceNumber >= this.catchUpAt) this.catchUpAt = undefined;
  }

  /**
   * Forgets the caught-up batch: the store holds a checkpoint ahead of the prefix, which a later
   * candidate passes on its own; retrying at once cannot succeed.
   */
  forgetCaughtUp(): void {
    this.catchUpAt = undefined;
  }
}
