import { EhwError } from "../common/errors.js";

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
  /** Queued items in arrival order; those before `head` have started (slots not yet given up). */
  private queue: T[] = [];
  private head = 0;
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
    return this.queue.length - this.head;
  }

  /** Items started and not done. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Items queued plus in flight. */
  get pending(): number {
    return this.queue.length - this.head + this.running.size;
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
    if (room <= 0 || this.head === this.queue.length) return [];
    if (this.options.ordering !== "key") {
      // Taken from the front by moving `head`, not by splicing: asked after every event.
      const end = Math.min(this.queue.length, this.head + room);
      const started = this.queue.slice(this.head, end);
      for (const item of started) this.running.set(item, NO_KEY);
      this.head = end;
      this.compact();
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
    const dropped = this.head === 0 ? this.queue : this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    return dropped;
  }

  /** Gives up the slots of started items once they are the bulk of the array. */
  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  private nextByKey(room: number): T[] {
    const started: T[] = [];
    const remaining: T[] = [];
    for (let i = this.head; i < this.queue.length; i += 1) {
      const item = this.queue[i]!;
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
    this.head = 0;
    return started;
  }

  private groupOf(item: T): GroupKey {
    return this.options.keyOf(item) ?? NO_KEY;
  }
}
