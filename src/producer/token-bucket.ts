/**
 * Rate limiting for the load generator: a token bucket that hands out reservations. A caller
 * reserves the events of a whole batch at once and learns how long to wait before sending; the
 * bucket may go into debt, so a batch larger than the burst still goes out at the right time.
 * This keeps the rate accurate over seconds without a sleep per event.
 */
import { sleep } from "../common/retry.js";

/** A monotonic clock in milliseconds. */
export type Clock = () => number;

/** Options of {@link TokenBucket}. */
export interface TokenBucketOptions {
  /** Tokens (events) added per second; > 0. */
  readonly ratePerSecond: number;
  /** Most tokens the bucket holds (the largest burst), ≥ 1; default: 50 ms worth, at least 1. */
  readonly burst?: number;
  /** Clock in milliseconds; default `performance.now`. */
  readonly now?: Clock;
}

/** The default burst: 50 ms of events, at least one. */
export function defaultBurst(ratePerSecond: number): number {
  return Math.max(1, Math.ceil(ratePerSecond / 20));
}

/** A token bucket that starts full and refills continuously at `ratePerSecond`. */
export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  private readonly now: Clock;
  private tokens: number;
  private updatedAt: number;

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0) || !Number.isFinite(options.ratePerSecond)) {
      throw new RangeError(`ratePerSecond must be a finite number above 0 (got ${options.ratePerSecond})`);
    }
    this.ratePerSecond = options.ratePerSecond;
    this.burst = Math.max(1, options.burst ?? defaultBurst(options.ratePerSecond));
    this.now = options.now ?? (() => performance.now());
    this.tokens = this.burst;
    this.updatedAt = this.now();
  }

  /**
   * Takes `count` tokens now and returns how many milliseconds the caller must wait before it may
   * use them (0 when they were there). Later reservations queue behind this one.
   */
  reserve(count: number): number {
    const now = this.now();
    const elapsedMs = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.ratePerSecond) / 1000);
    this.updatedAt = now;
    this.tokens -= count;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.ratePerSecond;
  }

  /**
   * Gives back tokens of a reservation that was not used (e.g. a batch dropped on shutdown), so
   * that the next reservation does not wait for them.
   */
  refund(count: number): void {
    this.tokens = Math.min(this.burst, this.tokens + count);
  }

  /** Reserves `count` tokens and waits until they may be used; rejects with an AbortError on abort. */
  async take(count: number, signal?: AbortSignal): Promise<void> {
    const waitMs = this.reserve(count);
    if (waitMs <= 0) return;
    try {
      await sleep(waitMs, signal);
    } catch (err) {
      this.refund(count);
      throw err;
    }
  }
}
