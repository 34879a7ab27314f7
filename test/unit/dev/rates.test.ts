import { describe, expect, it } from "vitest";
import { eventsPerSecond, RateMeter } from "../../../src/dev/rates.js";

describe("eventsPerSecond", () => {
  it("is unknown with fewer than two samples or no time between them", () => {
    expect(eventsPerSecond([])).toBeUndefined();
    expect(eventsPerSecond([{ atMs: 0, value: 5 }])).toBeUndefined();
    expect(
      eventsPerSecond([
        { atMs: 10, value: 5 },
        { atMs: 10, value: 9 },
      ]),
    ).toBeUndefined();
  });

  it("divides the increase by the time span", () => {
    const samples = [
      { atMs: 0, value: 100 },
      { atMs: 1000, value: 150 },
      { atMs: 2000, value: 300 },
    ];
    expect(eventsPerSecond(samples)).toBe(100);
  });

  it("is 0, not unknown, for a counter that stands still", () => {
    expect(
      eventsPerSecond([
        { atMs: 0, value: 7 },
        { atMs: 500, value: 7 },
      ]),
    ).toBe(0);
  });

  it("counts only increases when a counter restarts", () => {
    // 0 → 40 (+40), restart to 10 (ignored), 10 → 30 (+20): 60 events in 2 s.
    const samples = [
      { atMs: 0, value: 0 },
      { atMs: 1000, value: 40 },
      { atMs: 1500, value: 10 },
      { atMs: 2000, value: 30 },
    ];
    expect(eventsPerSecond(samples)).toBe(30);
  });
});

describe("RateMeter", () => {
  it("reports the rate over its window only", () => {
    const meter = new RateMeter({ windowMs: 2000 });
    meter.record(0, 0);
    meter.record(1000, 1000); // a burst that leaves the window later
    meter.record(2000, 1010);
    meter.record(3000, 1020);
    meter.record(4000, 1030);
    // Window [2000, 4000]: 20 events in 2 s.
    expect(meter.perSecond()).toBe(10);
    expect(meter.latest()).toBe(1030);
  });

  it("is unknown until it has two samples", () => {
    const meter = new RateMeter();
    expect(meter.perSecond()).toBeUndefined();
    expect(meter.latest()).toBeUndefined();
    meter.record(0, 3);
    expect(meter.perSecond()).toBeUndefined();
    meter.record(1000, 5);
    expect(meter.perSecond()).toBe(2);
  });
});
