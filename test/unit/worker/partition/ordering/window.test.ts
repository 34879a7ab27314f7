import { describe, expect, it } from "vitest";
import { createPipeline } from "../../../../../src/handlers/pipeline.js";
import { orderingStrategy } from "../../../../../src/worker/partition/ordering/registry.js";
import type { WorkUnit } from "../../../../../src/worker/partition/ordering/scheduler.js";
import {
  OrderingScheduler,
  PartitionWindow,
} from "../../../../../src/worker/partition/ordering/scheduler.js";
import { fakeEvent } from "../../../handlers/events.js";

const pipeline = createPipeline("p", [{ name: "h", handler: { handle() {} } }]);

function unit(seq: number, each = 1): WorkUnit {
  const events = Array.from({ length: each }, (_, i) => fakeEvent(seq + i));
  return each > 1 ? { pipeline, events, lane: undefined, each: true } : { pipeline, events, lane: undefined };
}

/** A unit of a batch pipeline: `count` events handled in one call. */
function batchUnit(seq: number, count: number): WorkUnit {
  return { pipeline, events: Array.from({ length: count }, (_, i) => fakeEvent(seq + i)), lane: undefined };
}

function setup(size: number, concurrency = 100) {
  const scheduler = new OrderingScheduler<WorkUnit>({
    strategy: orderingStrategy("none"),
    concurrency,
    laneOf: (u) => u.lane,
  });
  return { scheduler, window: new PartitionWindow(size, scheduler) };
}

const seqs = (units: WorkUnit[]) => units.map((u) => u.events[0]?.sequenceNumber);

/** A started unit ends, as the processor reports it: the scheduler's slot and the window's. */
function end(scheduler: OrderingScheduler<WorkUnit>, window: PartitionWindow, ended: WorkUnit): void {
  scheduler.done(ended);
  window.ended(ended.events.length);
}

describe("PartitionWindow", () => {
  it("admits held units in order while there is room, and the rest as slots free", () => {
    const { scheduler, window } = setup(2);
    window.hold([unit(0), unit(1), unit(2)]);
    expect(window.admit()).toBe(2);
    expect(window.settled()).toBe(false);
    const [first, second] = scheduler.next();
    expect(seqs([first!, second!])).toEqual([0, 1]);
    window.started(2);
    expect([window.queuedEvents, window.runningEvents]).toEqual([0, 2]);
    expect(window.admit()).toBe(0);
    end(scheduler, window, first!);
    expect(window.admit()).toBe(1);
    expect(seqs(scheduler.next())).toEqual([2]);
    // Everything entered, but the window is full: enqueue must still wait.
    expect(window.settled()).toBe(false);
    end(scheduler, window, second!);
    expect(window.settled()).toBe(true);
  });

  it("counts a run of an event pipeline as one slot per event", () => {
    const { window } = setup(4);
    window.hold([unit(0, 3), unit(3)]);
    expect(window.admit()).toBe(4);
    expect(window.hasRoom()).toBe(false);
  });

  it("counts a batch pipeline's unit as its events, so batches of any size stay bounded", () => {
    const { scheduler, window } = setup(4);
    window.hold([batchUnit(0, 3), batchUnit(3, 3), batchUnit(6, 3)]);
    // The second enters while 3 < 4 events are in; then the window is full, the third waits.
    expect(window.admit()).toBe(6);
    expect(window.hasRoom()).toBe(false);
    expect(window.settled()).toBe(false);
    const [first] = scheduler.next();
    window.started(3);
    end(scheduler, window, first!);
    expect(window.admit()).toBe(3);
    expect([window.queuedEvents, window.runningEvents]).toEqual([6, 0]);
  });

  it("keeps a later batch behind the units still held, and drops them all on request", () => {
    const { scheduler, window } = setup(1);
    window.hold([unit(0), unit(1)]);
    window.hold([unit(2)]);
    expect(window.admit()).toBe(1);
    const started = scheduler.next();
    expect(seqs(started)).toEqual([0]);
    expect(window.settled()).toBe(false);
    window.dropHeld();
    end(scheduler, window, started[0]!);
    expect(window.admit()).toBe(0);
    expect(window.settled()).toBe(true);
  });

  it("bounds queued plus running units, running ones still counting until they end", () => {
    const { scheduler, window } = setup(2, 1);
    window.hold([unit(0), unit(1), unit(2)]);
    expect(window.admit()).toBe(2);
    expect(window.hasRoom()).toBe(false);
    const [first] = scheduler.next();
    window.started(1);
    expect([window.queuedEvents, window.runningEvents]).toEqual([1, 1]);
    // Started, not ended: it still takes its slot.
    expect(window.hasRoom()).toBe(false);
    expect(window.admit()).toBe(0);
    end(scheduler, window, first!);
    expect(window.hasRoom()).toBe(true);
    expect(window.admit()).toBe(1);
  });
});
