/**
 * The window of one partition: how much work may be queued and running at once, and the units of
 * the batches `enqueue` took that did not fit yet. A unit takes one slot, except a run of an event
 * pipeline (`each`), which takes one per event not yet finished, as its events did when each was a
 * unit of its own. Held units enter the scheduler in arrival order as slots free, so that a full
 * window costs `enqueue` one wait per batch rather than one per event.
 *
 * The window is the partition's one count of work in flight: slots, and the events queued
 * (admitted, not started) and running, which the processor's status reports.
 */
import type { OrderingScheduler, WorkUnit } from "./ordering/scheduler.js";

/** Slots and held units of one partition's window; see the module comment. */
export class PartitionWindow {
  /** Slots taken by queued and running work. */
  private taken = 0;
  private queued = 0;
  private running = 0;
  /** Units not in the window yet, from `heldAt` on: about one batch, as the SDK awaits `enqueue`. */
  private held: WorkUnit[] = [];
  private heldAt = 0;

  constructor(
    /** The bound on slots; see `windowSize` in the processor's options. */
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
    return this.taken < this.size;
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
      this.taken += slotsOf(unit);
      events += unit.events.length;
    }
    this.queued += events;
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

  /** Running events ended, giving back their slot: one per unit, or per event of a run. */
  ended(events: number): void {
    this.running -= events;
    this.taken -= 1;
  }

  /** Queued events dropped (they never run), giving back their slots. */
  dropped(events: number, slots: number): void {
    this.queued -= events;
    this.taken -= slots;
  }
}

/** Window slots a unit takes: one per event for a run of an event pipeline, else one. */
export function slotsOf(unit: WorkUnit): number {
  return unit.each === true ? unit.events.length : 1;
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
