import { EhwError } from "../errors.js";

/**
 * How events of one partition may overlap:
 * - `partition`: strictly one at a time, in sequence order;
 * - `key`: in order per partition key, different keys in parallel;
 * - `none`: any order, in parallel.
 */
export type OrderingMode = "partition" | "key" | "none";

/** Options of {@link OrderingScheduler}. */
export interface OrderingSchedulerOptions<T> {
  /** Ordering mode; see {@link OrderingMode}. */
  readonly ordering: OrderingMode;
  /** Most items in flight at once (ignored, i.e. 1, for `partition`); ≥ 1. */
  readonly concurrency: number;
  /** Most items queued plus in flight; {@link OrderingScheduler.hasRoom} is false at this bound. ≥ 1. */
  readonly maxPending: number;
  /**
   * The ordering key of an item (the partition key), used by `key` mode. Items whose key is
   * undefined form one group of their own: they run in order among themselves, one at a time.
   */
  readonly keyOf: (item: T) => string | undefined;
}

/** The group of items that have no key. A symbol, so no string key can collide with it. */
const NO_KEY: unique symbol = Symbol("no key");
type GroupKey = string | typeof NO_KEY;

/**
 * Decides which queued items may start now under an ordering mode and a concurrency bound. A pure
 * data structure: the caller enqueues items in arrival order, starts what {@link next} returns,
 * and reports each finished item with {@link done}. Items must be distinct values.
 */
export class OrderingScheduler<T> {
  private queue: T[] = [];
  private readonly running = new Map<T, GroupKey>();
  private readonly busyKeys = new Set<GroupKey>();
  private readonly limit: number;

  constructor(private readonly options: OrderingSchedulerOptions<T>) {
    for (const [name, value] of [
      ["concurrency", options.concurrency],
      ["maxPending", options.maxPending],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new EhwError(
          "INVARIANT_VIOLATED",
          `scheduler ${name} must be a positive integer, got ${value}`,
        );
      }
    }
    this.limit = options.ordering === "partition" ? 1 : options.concurrency;
  }

  /** Items queued and not started. */
  get size(): number {
    return this.queue.length;
  }

  /** Items started and not done. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Items queued plus in flight. */
  get pending(): number {
    return this.queue.length + this.running.size;
  }

  /** Whether another item may be enqueued (queue + in flight below `maxPending`). */
  hasRoom(): boolean {
    return this.pending < this.options.maxPending;
  }

  /** True when nothing is queued or running. */
  isIdle(): boolean {
    return this.pending === 0;
  }

  /** Queues an item in arrival order. Throws when there is no room: await room first. */
  enqueue(item: T): void {
    if (!this.hasRoom()) {
      throw new EhwError("INVARIANT_VIOLATED", `scheduler is full (${this.options.maxPending} pending)`);
    }
    this.queue.push(item);
  }

  /** Removes and returns the items that may start now, in arrival order; they count as in flight. */
  next(): T[] {
    const room = this.limit - this.running.size;
    if (room <= 0 || this.queue.length === 0) return [];
    if (this.options.ordering !== "key") {
      const started = this.queue.splice(0, room);
      for (const item of started) this.running.set(item, NO_KEY);
      return started;
    }
    return this.nextByKey(room);
  }

  /** Reports a started item as finished, freeing its slot and its key. */
  done(item: T): void {
    const key = this.running.get(item);
    if (key === undefined) {
      throw new EhwError("INVARIANT_VIOLATED", "scheduler.done() called for an item that is not in flight");
    }
    this.running.delete(item);
    if (this.options.ordering === "key") this.busyKeys.delete(key);
  }

  /** Drops every queued (not started) item and returns them, e.g. when the partition is lost. */
  clearQueued(): T[] {
    const dropped = this.queue;
    this.queue = [];
    return dropped;
  }

  private nextByKey(room: number): T[] {
    const started: T[] = [];
    const remaining: T[] = [];
    for (const item of this.queue) {
      const key = this.groupOf(item);
      // A busy key blocks every later item of that key, which keeps each key in arrival order.
      if (started.length < room && !this.busyKeys.has(key)) {
        this.busyKeys.add(key);
        this.running.set(item, key);
        started.push(item);
      } else {
        remaining.push(item);
      }
    }
    this.queue = remaining;
    return started;
  }

  private groupOf(item: T): GroupKey {
    return this.options.keyOf(item) ?? NO_KEY;
  }
}
