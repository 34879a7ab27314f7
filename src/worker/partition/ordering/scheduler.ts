/**
 * Which queued units of one partition may start now, under an ordering strategy: at most
 * `strategy.maxRunning(concurrency)` at once, and one at a time per lane, in arrival order. A pure
 * data structure: the caller enqueues items in arrival order, starts what {@link next} returns and
 * reports each finished item with {@link done}. How much may wait is the caller's bound (the
 * processor's window), not the scheduler's. Items must be distinct values.
 *
 * Below it, the grouping of an SDK batch into the units it schedules, the window that bounds how
 * many may wait and run, and the notifier that wakes whoever waits for room or idleness: what an
 * event meets between arriving in a batch and starting, in one file.
 */
import type { ReceivedEventData } from "@azure/event-hubs";
import { EhwError } from "../../../common/errors.js";
import type { Pipeline } from "../../../handlers/pipeline.js";
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
  /**
   * Queued items in arrival order, from `head` on. A started item's slot is emptied at once: a
   * unit holds its events (a batch pipeline's up to a batch), and the array is spliced only now
   * and then.
   */
  private queue: (T | undefined)[] = [];
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

  /** Items the queue still references: the queued ones, none it has handed out. */
  get retained(): number {
    let n = 0;
    for (const item of this.queue) if (item !== undefined) n += 1;
    return n;
  }

  /** Items started and not done. */
  get runningCount(): number {
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
      queue[this.head] = undefined;
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
    const dropped = (this.head === 0 ? this.queue : this.queue.slice(this.head)) as T[];
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

  /** Gives up the emptied slots of started items once they are the bulk of the array. */
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

/**
 * Pure grouping of one SDK batch into units of work, by the ordering strategy's lanes. Consecutive
 * events of one lane routed to one batch pipeline form one unit (the whole partition is one lane
 * under `partition`, a key is one under `key`); without lanes (`none`) all of the batch's events of
 * a batch pipeline form one. Events of one lane routed to an event pipeline are grouped the same
 * way — they would run one after another anyway — into units marked `each`, which the processor
 * runs event by event in one loop, so that the scheduling round trip is paid per run rather than
 * per event; without lanes each such event is a unit of its own, free to run in parallel.
 */

/** A unit of work: the events one pipeline run takes, in sequence order. */
export interface WorkUnit {
  /** The pipeline that runs the unit. */
  readonly pipeline: Pipeline;
  /** Events, in sequence order; for an event pipeline one, or a run when `each` is set. */
  readonly events: ReceivedEventData[];
  /** The ordering lane all its events share; undefined when the strategy gives none. */
  readonly lane: Lane | undefined;
  /**
   * Set on a run of an event pipeline's events: each event is run on its own (own attempts, own
   * time limit, own failure decision, completed as it finishes), in order, one at a time.
   */
  readonly each?: boolean;
}

/** Splits an SDK batch into units, returned in order of their first event; see the module comment. */
export function groupIntoUnits(
  events: readonly ReceivedEventData[],
  route: (event: ReceivedEventData) => Pipeline,
  strategy: OrderingStrategy,
): WorkUnit[] {
  const units: WorkUnit[] = [];
  // The open unit per grouping lane: the event's lane, or, without one, its pipeline.
  const open = new Map<unknown, WorkUnit>();
  for (const event of events) {
    const pipeline = route(event);
    const lane = strategy.laneOf(event);
    if (lane === undefined && pipeline.kind === "event") {
      units.push({ pipeline, events: [event], lane });
      continue;
    }
    const group = lane ?? pipeline;
    // One pipeline per open unit: an event of another pipeline ends the unit in its lane.
    const current = open.get(group);
    if (current !== undefined && current.pipeline === pipeline) {
      current.events.push(event);
      continue;
    }
    const unit: WorkUnit =
      pipeline.kind === "event"
        ? { pipeline, events: [event], lane, each: true }
        : { pipeline, events: [event], lane };
    units.push(unit);
    open.set(group, unit);
  }
  return units;
}

/**
 * The window of one partition: how many events may be queued and running at once, and the units
 * of the batches `enqueue` took that did not fit yet. Every unit counts its events, a batch
 * pipeline's as much as an event pipeline's: the window bounds memory and the events a crash may
 * deliver again, both of which grow with events, not with units. A unit enters while fewer than
 * `size` events are in, so one larger than the window still runs. Held units enter the scheduler
 * in arrival order as room frees, so that a full window costs `enqueue` one wait per batch rather
 * than one per event. The window is the partition's one count of work in flight: the events queued
 * (admitted, not started) and running, which the processor's status reports.
 */
export class PartitionWindow {
  private queued = 0;
  private running = 0;
  /** Units not in the window yet, from `heldAt` on: about one batch, as the SDK awaits `enqueue`. */
  private held: WorkUnit[] = [];
  private heldAt = 0;

  constructor(
    /** The bound on events queued and running; see `windowSize` in the processor's options. */
    readonly size: number,
    private readonly scheduler: OrderingScheduler<WorkUnit>,
  ) {}

  /** Events admitted and not started. */
  get queuedEvents(): number {
    return this.queued;
  }

  /** Events started and not ended. */
  get runningEvents(): number {
    return this.running;
  }

  /** Whether another unit may enter. */
  hasRoom(): boolean {
    return this.queued + this.running < this.size;
  }

  /** Whether every held unit has entered and another one could: `enqueue` may return. */
  settled(): boolean {
    return this.heldAt >= this.held.length && this.hasRoom();
  }

  /** Holds units behind those already held. */
  hold(units: WorkUnit[]): void {
    this.held = this.heldAt >= this.held.length ? units : [...this.held.slice(this.heldAt), ...units];
    this.heldAt = 0;
  }

  /** Moves held units into the scheduler while there is room; returns how many events entered. */
  admit(): number {
    const { held } = this;
    let events = 0;
    while (this.heldAt < held.length && this.hasRoom()) {
      const unit = held[this.heldAt]!;
      this.heldAt += 1;
      this.scheduler.enqueue(unit);
      this.queued += unit.events.length;
      events += unit.events.length;
    }
    return events;
  }

  /** Drops the held units: they never run. */
  dropHeld(): void {
    this.held = [];
    this.heldAt = 0;
  }

  /** Queued events started. */
  started(events: number): void {
    this.queued -= events;
    this.running += events;
  }

  /** Running events ended: a unit's, or one event of a run. */
  ended(events: number): void {
    this.running -= events;
  }

  /** Queued events dropped: they never run. */
  dropped(events: number): void {
    this.queued -= events;
  }
}

/** Wakes whoever waits for a partition processor's state to change (room, idle, state). */
export class ChangeNotifier {
  private waiters: Waiter[] = [];

  /**
   * Wakes every waiter whose condition holds. Called after every event: it allocates nothing
   * unless it wakes someone, and a waiter whose condition does not hold yet stays registered
   * rather than waking only to register again.
   */
  notify(): void {
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    let kept: Waiter[] | undefined;
    for (let i = 0; i < waiters.length; i += 1) {
      const waiter = waiters[i]!;
      if (waiter.ready()) {
        kept ??= waiters.slice(0, i);
        waiter.wake();
      } else if (kept !== undefined) {
        kept.push(waiter);
      }
    }
    if (kept !== undefined) this.waiters = kept;
  }

  /** Resolves at the next {@link notify}, or after `timeoutMs` when given. */
  changed(timeoutMs?: number): Promise<void> {
    return this.until(always, timeoutMs);
  }

  /**
   * Resolves at the first {@link notify} at which `ready()` returns true (it is not asked now), or
   * after `timeoutMs` when given.
   */
  until(ready: () => boolean, timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        ready,
        wake: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () => {
            this.waiters = this.waiters.filter((w) => w !== waiter);
            resolve();
          },
          Math.max(0, timeoutMs),
        );
      }
    });
  }
}

interface Waiter {
  readonly ready: () => boolean;
  readonly wake: () => void;
}

function always(): boolean {
  return true;
}
