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
