/**
 * One timer for many deadlines. Per-attempt `setTimeout`s (and `AbortSignal.timeout`/`any`) cost
 * measurable CPU and garbage at tens of thousands of events a second; here an attempt's deadline is
 * an entry in a set, and a single timer wakes at the earliest deadline still registered. Attempts
 * normally finish long before their limit, so the timer rarely fires and rarely moves.
 */

/**
 * A deadline that can be registered with {@link DeadlineWatch.watch}: the watch sets `deadlineMs`
 * and calls `expire` once it has passed. An object the caller has anyway (an attempt's context)
 * can be its own entry, so that registering a deadline allocates nothing.
 */
export interface Deadline {
  /** Set by the watch: when it expires, on the watch's clock. */
  deadlineMs: number;
  /** Called once the deadline has passed, unless it was unwatched first. */
  expire(): void;
}

/** Calls `expire` of each registered deadline once it has passed, unless it was removed first. */
export class DeadlineWatch {
  private readonly entries = new Set<Deadline>();
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Number.POSITIVE_INFINITY;

  /** @param clock - monotonic milliseconds; default `performance.now`. */
  constructor(private readonly clock: () => number = () => performance.now()) {}

  /** Registers `entry` to expire `afterMs` from now (again, if it was registered before). */
  watch(entry: Deadline, afterMs: number): void {
    entry.deadlineMs = this.clock() + afterMs;
    this.entries.add(entry);
    if (entry.deadlineMs < this.timerAtMs) this.arm(entry.deadlineMs);
  }

  /** Removes `entry`; it does not expire. */
  unwatch(entry: Deadline): void {
    this.entries.delete(entry);
  }

  /** Registers a deadline `afterMs` from now; returns the function that removes it. */
  add(afterMs: number, onExpire: () => void): () => void {
    const entry: Deadline = { deadlineMs: 0, expire: onExpire };
    this.watch(entry, afterMs);
    return () => {
      this.unwatch(entry);
    };
  }

  /** Deadlines registered and not yet expired or removed. */
  get size(): number {
    return this.entries.size;
  }

  private arm(atMs: number): void {
    clearTimeout(this.timer);
    this.timerAtMs = atMs;
    this.timer = setTimeout(() => this.fire(), Math.max(0, atMs - this.clock()));
    // Deadlines belong to work that keeps the process busy anyway; the timer alone must not.
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAtMs = Number.POSITIVE_INFINITY;
    const now = this.clock();
    let next = Number.POSITIVE_INFINITY;
    const expired: Deadline[] = [];
    for (const entry of this.entries) {
      if (entry.deadlineMs <= now) expired.push(entry);
      else if (entry.deadlineMs < next) next = entry.deadlineMs;
    }
    for (const entry of expired) this.entries.delete(entry);
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
    for (const entry of expired) entry.expire();
  }
}
