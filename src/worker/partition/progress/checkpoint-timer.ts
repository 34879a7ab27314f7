/**
 * The checkpoint loop's paths off an event's way to its checkpoint (progress.ts): the one timer
 * that writes progress the count has not made due once the interval passes, the pause after a
 * failed write, and what a failed write means.
 */
import { CheckpointRefusedError } from "../../../checkpoint/guarded-store.js";
import type { Logger } from "../../../observability/logger.js";

/** Pause after a failed write before the next try, milliseconds (capped by the interval). */
const RETRY_AFTER_FAILURE_MS = 1000;

/** The checkpoint loop's one timer; it calls `fire` when it goes off. */
export class CheckpointTimer {
  private timer: NodeJS.Timeout | undefined;
  /** No write before this, epoch milliseconds: the pause after a failed write. */
  notBeforeMs = 0;

  constructor(private readonly fire: () => void) {}

  /** Whether the timer is set. */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  /** Unless set, sets the timer for when a write is due (`dueMs` from now, none if undefined), past any pause. */
  armFor(dueMs: number | undefined, nowMs: number): void {
    if (this.timer === undefined && dueMs !== undefined) this.arm(Math.max(dueMs, this.notBeforeMs - nowMs));
  }

  /** After a failed write: no write for a pause (at most the interval), then try again. */
  pause(nowMs: number, intervalMs: number): void {
    const retryMs = Math.min(RETRY_AFTER_FAILURE_MS, intervalMs);
    this.notBeforeMs = nowMs + retryMs;
    this.clear();
    this.arm(retryMs);
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fire();
    }, ms);
    this.timer.unref();
  }
}

/**
 * What a failed checkpoint write means, logged: `not-owner` (this worker does not own the
 * partition: nothing more may be written), `behind` (the stored checkpoint is ahead; a later
 * candidate will pass it, so retrying this one cannot succeed), or `failed` (try again).
 */
export function writeFailed(
  err: unknown,
  sequenceNumber: number,
  logger: Logger,
): "not-owner" | "behind" | "failed" {
  if (err instanceof CheckpointRefusedError && err.reason === "not-owner") {
    logger.warn({ sequenceNumber, err }, "checkpoint refused: partition not owned");
    return "not-owner";
  }
  if (err instanceof CheckpointRefusedError) {
    logger.debug({ sequenceNumber }, "checkpoint behind the stored one; skipped");
    return "behind";
  }
  logger.warn({ sequenceNumber, err }, "checkpoint write failed; retrying at the next opportunity");
  return "failed";
}
