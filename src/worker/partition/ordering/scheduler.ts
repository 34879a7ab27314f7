/**
 * Which queued units of one partition may start now, under an ordering strategy: at most
 * `strategy.maxRunning(concurrency)` at once, and one at a time per lane, in arrival order. A pure
 * data structure: the caller enqueues items in arrival order, starts what {@link next} returns and
 * reports each finished item with {@link done}. How much may wait is the caller's bound (the
 * processor's window), not the scheduler's. Items must be distinct values.
 */
import { EhwError } from "../../../common/errors.js";
import type { Lane, OrderingStrategy } from "./strategy.js";

/** Options of {@link OrderingScheduler}. */
export interface OrderingSchedulerOptions<T> {
  /** The ordering mode's strategy. */
  readonly strategy: OrderingStrategy;
  /** The `concurrency` setting; ≥ 1. The strategy turns it into the number that may run. */
  readonly concurrency: number;
  /** The lane of an item, as the strategy gave it when the item was formed. */
  readonly laneOf: (item: T) => Lane | undefined;
}

/** See the module comment. */
export class OrderingScheduler<T> {
  /** Queued items in arrival order; those before `head` have started. */
  private queue: T[] = [];
  private head = 0;
  /** Started items not done yet, with their lanes. */
  private readonly running = new Map<T, Lane | undefined>();
  /** Lanes with an item running, or held back behind one in this round of {@link next}. */
  private readonly busyLanes = new Set<Lane>();
  private readonly limit: number;

  constructor(private readonly options: OrderingSchedulerOptions<T>) {
    const { concurrency } = options;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new EhwError(
        "INVARIANT_VIOLATED",
        `scheduler concurrency must be a positive integer, got ${concurrency}`,
      );
    }
    this.limit = options.strategy.maxRunning(concurrency);
  }

  /** Items queued and not started. */
  get size(): number {
    return this.queue.length - this.head;
  }

  /** Items started and not done. */
  get inFlight(): number {
    return this.running.size;
  }

  /** True when nothing is queued or running. */
  isIdle(): boolean {
    return this.queue.length === this.head && this.running.size === 0;
  }

  /** Queues an item in arrival order. */
  enqueue(item: T): void {
    this.queue.push(item);
  }

  /** Removes and returns the items that may start now, in arrival order; they count as in flight. */
  next(): T[] {
    const room = this.limit - this.running.size;
    if (room <= 0 || this.head === this.queue.length) return [];
    const started: T[] = [];
    const { queue } = this;
    // From the front while the first item may start: the usual case, taken by moving `head`
    // rather than by building a new queue, as this is asked after every event.
    while (this.head < queue.length && started.length < room) {
      const item = queue[this.head]!;
      if (!this.tryStart(item)) break;
      started.push(item);
      this.head += 1;
    }
    if (started.length < room && this.head < queue.length) this.startPastBusyLanes(started, room);
    else this.compact();
    return started;
  }

  /** Reports a started item as finished, freeing its slot and its lane. */
  done(item: T): void {
    if (!this.running.has(item)) {
      throw new EhwError("INVARIANT_VIOLATED", "scheduler.done() called for an item that is not in flight");
    }
    const lane = this.running.get(item);
    this.running.delete(item);
    if (lane !== undefined) this.busyLanes.delete(lane);
  }

  /** Drops every queued (not started) item and returns them, e.g. when the partition is lost. */
  clearQueued(): T[] {
    const dropped = this.head === 0 ? this.queue : this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    return dropped;
  }

  /** Starts `item` unless its lane is busy. */
  private tryStart(item: T): boolean {
    const lane = this.options.laneOf(item);
    if (lane !== undefined) {
      if (this.busyLanes.has(lane)) return false;
      this.busyLanes.add(lane);
    }
    this.running.set(item, lane);
    return true;
  }

  /** Past an item of a busy lane: starts what else may start, keeps the rest in order. */
  private startPastBusyLanes(started: T[], room: number): void {
    const remaining: T[] = [];
    const { queue } = this;
    for (let i = this.head; i < queue.length; i += 1) {
      const item = queue[i]!;
      // A busy lane holds back every later item of that lane, which keeps each lane in order.
      if (started.length < room && this.tryStart(item)) started.push(item);
      else remaining.push(item);
    }
    this.queue = remaining;
    this.head = 0;
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
}
