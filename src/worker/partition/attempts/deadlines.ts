/**
 * One timer for many deadlines. Per-attempt `setTimeout`s (and `AbortSignal.timeout`/`any`) cost
 * measurable CPU and garbage at tens of thousands of events a second; here an attempt's deadline is
 * an entry in a queue, and a single timer wakes at the earliest deadline still registered. Attempts
 * normally finish long before their limit, so the timer rarely fires and rarely moves.
 *
 * Deadlines of one length are registered in the order they expire (the clock is monotonic), so
 * each length has a FIFO lane: registering appends, removing only marks the entry (a `Set` delete
 * per attempt was the costliest step of this module), and dead entries are dropped from the front
 * as the lane is used, or by compaction once they dominate it. A dead entry is an attempt that
 * still holds its unit, and a batch pipeline's unit holds up to a batch of events, so dead entries
 * are let go of early: the front ones as the head passes them, the others once a few dozen gather.
 */

/**
 * A deadline that can be registered with {@link DeadlineWatch.watch}: the watch sets `deadlineMs`
 * and calls `expire` once it has passed. An object the caller has anyway (an attempt's context)
 * can be its own entry, so that registering a deadline allocates nothing.
 */
export interface Deadline {
  /** Set by the watch: when it expires, on the watch's clock; NaN once unwatched or expired. */
  deadlineMs: number;
  /** Called once the deadline has passed, unless it was unwatched first. */
  expire(): void;
}

/** What a slot the head has passed holds instead of the caller's object, which it lets go of. */
const PASSED: Deadline = { deadlineMs: Number.NaN, expire() {} };

/** The registrations of one deadline length, in expiry order. */
class Lane {
  /** Entries and the deadline each was registered with; an entry whose `deadlineMs` differs is dead. */
  readonly entries: Deadline[] = [];
  readonly at: number[] = [];
  head = 0;
  /** Length (past `head`) above which the lane is compacted; doubles with the live entries. */
  compactAbove = MIN_COMPACT;

  /**
   * Drops dead entries at the front. The slots before `head` are given up too: while attempts keep
   * finishing in order the lane never empties, and the array would otherwise hold every attempt
   * (and through it its events) it ever saw.
   */
  dropDeadHead(): void {
    const { entries, at } = this;
    while (this.head < entries.length && entries[this.head]!.deadlineMs !== at[this.head]) {
      entries[this.head] = PASSED;
      this.head += 1;
    }
    if (this.head === entries.length) {
      entries.length = 0;
      at.length = 0;
      this.head = 0;
    } else if (this.head >= MIN_COMPACT && this.head * 2 >= entries.length) {
      entries.splice(0, this.head);
      at.splice(0, this.head);
      this.head = 0;
    }
  }

  push(entry: Deadline): void {
    this.dropDeadHead();
    this.entries.push(entry);
    this.at.push(entry.deadlineMs);
    if (this.entries.length - this.head > this.compactAbove) this.compact();
  }

  /** Keeps only live entries: attempts that settle out of order leave dead ones behind a live head. */
  private compact(): void {
    let kept = 0;
    for (let i = this.head; i < this.entries.length; i += 1) {
      const entry = this.entries[i]!;
      if (entry.deadlineMs !== this.at[i]) continue;
      this.entries[kept] = entry;
      this.at[kept] = this.at[i]!;
      kept += 1;
    }
    this.entries.length = kept;
    this.at.length = kept;
    this.head = 0;
    this.compactAbove = Math.max(MIN_COMPACT, 2 * kept);
  }

  /** Live entries. */
  get live(): number {
    let n = 0;
    for (let i = this.head; i < this.entries.length; i += 1) {
      if (this.entries[i]!.deadlineMs === this.at[i]) n += 1;
    }
    return n;
  }
}

/**
 * A lane is compacted only past this many entries: dead ones behind a live head (attempts of other
 * partitions that finished first) are kept at most this long, or twice the live ones.
 */
const MIN_COMPACT = 64;

/** Calls `expire` of each registered deadline once it has passed, unless it was removed first. */
export class DeadlineWatch {
  private readonly lanes = new Map<number, Lane>();
  /** The lane used last: nearly always the only one. */
  private lastLane: Lane | undefined;
  private lastAfterMs = Number.NaN;
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Number.POSITIVE_INFINITY;

  /** @param clock - monotonic milliseconds; default `performance.now`. */
  constructor(private readonly clock: () => number = () => performance.now()) {}

  /** Registers `entry` to expire `afterMs` from now (instead, if it was registered before). */
  watch(entry: Deadline, afterMs: number): void {
    this.watchFrom(entry, this.clock(), afterMs);
  }

  /** Now, on the watch's clock. */
  now(): number {
    return this.clock();
  }

  /**
   * Registers `entry` to expire `afterMs` after `startMs` (from {@link now}), for work that began
   * before it could be registered. Start times must not decrease between registrations of one length.
   */
  watchFrom(entry: Deadline, startMs: number, afterMs: number): void {
    const deadlineMs = startMs + afterMs;
    entry.deadlineMs = deadlineMs;
    this.laneOf(afterMs).push(entry);
    if (deadlineMs < this.timerAtMs) this.arm(deadlineMs);
  }

  /** Removes `entry`; it does not expire. */
  unwatch(entry: Deadline): void {
    entry.deadlineMs = Number.NaN;
  }

  /** Registers a deadline `afterMs` from now; returns the function that removes it. */
  add(afterMs: number, onExpire: () => void): () => void {
    const entry: Deadline = { deadlineMs: Number.NaN, expire: onExpire };
    this.watch(entry, afterMs);
    return () => {
      this.unwatch(entry);
    };
  }

  /** Deadlines registered and not yet expired or removed. */
  get size(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.live;
    return n;
  }

  /** Callers' entries the watch still references, live or dead: bounded by a multiple of {@link size}. */
  get retained(): number {
    let n = 0;
    for (const lane of this.lanes.values()) {
      for (const entry of lane.entries) if (entry !== PASSED) n += 1;
    }
    return n;
  }

  private laneOf(afterMs: number): Lane {
    if (afterMs === this.lastAfterMs && this.lastLane !== undefined) return this.lastLane;
    let lane = this.lanes.get(afterMs);
    if (lane === undefined) {
      lane = new Lane();
      this.lanes.set(afterMs, lane);
    }
    this.lastLane = lane;
    this.lastAfterMs = afterMs;
    return lane;
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
    for (const [afterMs, lane] of this.lanes) {
      const { entries, at } = lane;
      for (;;) {
        lane.dropDeadHead();
        if (lane.head >= entries.length) break;
        const atMs = at[lane.head]!;
        if (atMs > now) {
          if (atMs < next) next = atMs;
          break;
        }
        const entry = entries[lane.head]!;
        entry.deadlineMs = Number.NaN;
        expired.push(entry);
      }
      if (entries.length === 0) {
        this.lanes.delete(afterMs);
        if (this.lastLane === lane) this.lastLane = undefined;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
    for (const entry of expired) entry.expire();
  }
}
