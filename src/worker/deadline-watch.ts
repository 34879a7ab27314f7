/**
 * One timer for many deadlines. Per-attempt `setTimeout`s (and `AbortSignal.timeout`/`any`) cost
 * measurable CPU and garbage at tens of thousands of events a second; here an attempt's deadline is
 * an entry in a set, and a single timer wakes at the earliest deadline still registered. Attempts
 * normally finish long before their limit, so the timer rarely fires and rarely moves.
 */

interface Entry {
  readonly deadlineMs: number;
  readonly onExpire: () => void;
}

/** Calls `onExpire` of each registered deadline once it has passed, unless it was removed first. */
export class DeadlineWatch {
  private readonly entries = new Set<Entry>();
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Number.POSITIVE_INFINITY;

  /** @param clock - monotonic milliseconds; default `performance.now`. */
  constructor(private readonly clock: () => number = () => performance.now()) {}

  /** Registers a deadline `afterMs` from now; returns the function that removes it. */
  add(afterMs: number, onExpire: () => void): () => void {
    const entry: Entry = { deadlineMs: this.clock() + afterMs, onExpire };
    this.entries.add(entry);
    if (entry.deadlineMs < this.timerAtMs) this.arm(entry.deadlineMs);
    return () => {
      this.entries.delete(entry);
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
    const expired: Entry[] = [];
    for (const entry of this.entries) {
      if (entry.deadlineMs <= now) expired.push(entry);
      else if (entry.deadlineMs < next) next = entry.deadlineMs;
    }
    for (const entry of expired) this.entries.delete(entry);
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
    for (const entry of expired) entry.onExpire();
  }
}
