/**
 * Counting events as a consumer sees them and turning the count into a rate. The rate is taken
 * from the first event to the last, so connection set-up and partition claiming do not count
 * against steady-state throughput; the start-up delay is reported on its own.
 */

/** Counts events and remembers when the first and the latest arrived. */
export class Meter {
  count = 0;
  private readonly createdAt = performance.now();
  private firstAt: number | undefined;
  private lastAt: number | undefined;

  /** Records `n` events now. */
  add(n: number): void {
    if (n <= 0) return;
    const now = performance.now();
    this.firstAt ??= now;
    this.lastAt = now;
    this.count += n;
  }

  /** Milliseconds from creation to the first event, or undefined before it. */
  startupMs(): number | undefined {
    return this.firstAt === undefined ? undefined : this.firstAt - this.createdAt;
  }

  /** Seconds from the first event to the latest. */
  activeSeconds(): number {
    if (this.firstAt === undefined || this.lastAt === undefined) return 0;
    return (this.lastAt - this.firstAt) / 1000;
  }

  /** Events per second between the first and the latest event (0 before two arrivals). */
  eventsPerSecond(): number {
    const seconds = this.activeSeconds();
    return seconds > 0 ? this.count / seconds : 0;
  }
}

/** Options of {@link waitForCount}. */
export interface WaitForCountOptions {
  /** Stop waiting after this many milliseconds from the call; the caller reports what it got. */
  capMs: number;
  /** Poll interval, ms; default 50. */
  intervalMs?: number;
  /** Called about once a second with the count, for progress notes. */
  onTick?: (count: number) => void;
}

/**
 * Waits until `meter` counted `target` events or `capMs` passed. Resolves true when the target
 * was reached. A capped run is a result too (the slow scenarios are meant to be capped).
 */
export async function waitForCount(
  meter: Meter,
  target: number,
  options: WaitForCountOptions,
): Promise<boolean> {
  const deadline = performance.now() + options.capMs;
  const interval = options.intervalMs ?? 50;
  let nextTick = performance.now() + 1000;
  while (meter.count < target) {
    const now = performance.now();
    if (now >= deadline) return false;
    if (options.onTick && now >= nextTick) {
      options.onTick(meter.count);
      nextTick = now + 1000;
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  return true;
}
