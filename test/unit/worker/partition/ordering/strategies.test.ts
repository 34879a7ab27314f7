import { describe, expect, it } from "vitest";
import { ORDERING_MODES } from "../../../../../src/config/ordering.js";
import {
  ORDERING_STRATEGIES,
  orderingStrategy,
} from "../../../../../src/worker/partition/ordering/registry.js";
import { fakeEvent } from "../../../handlers/events.js";

describe("ordering strategies", () => {
  it("has a strategy for every mode the config accepts, under that mode's name", () => {
    expect(Object.keys(ORDERING_STRATEGIES).sort()).toEqual([...ORDERING_MODES].sort());
    for (const mode of ORDERING_MODES) expect(orderingStrategy(mode).mode).toBe(mode);
  });

  it("partition: one lane for every event, one unit at a time whatever the concurrency", () => {
    const s = orderingStrategy("partition");
    const lanes = new Set(
      [fakeEvent(0, { partitionKey: "a" }), fakeEvent(1), fakeEvent(2, { partitionKey: "b" })].map((e) =>
        s.laneOf(e),
      ),
    );
    expect(lanes.size).toBe(1);
    expect([...lanes][0]).toBeDefined();
    expect(s.maxRunning(8)).toBe(1);
  });

  it("key: a lane per partition key, one shared lane for events without one, concurrency at once", () => {
    const s = orderingStrategy("key");
    expect(s.laneOf(fakeEvent(0, { partitionKey: "a" }))).toBe("a");
    expect(s.laneOf(fakeEvent(1, { partitionKey: "b" }))).toBe("b");
    const keyless = s.laneOf(fakeEvent(2, { partitionKey: null }));
    expect(keyless).toBeDefined();
    expect(s.laneOf(fakeEvent(3, { partitionKey: undefined }))).toBe(keyless);
    // No key text can name the keyless lane.
    expect(typeof keyless).toBe("symbol");
    expect(s.maxRunning(8)).toBe(8);
  });

  it("none: no lane, concurrency at once", () => {
    const s = orderingStrategy("none");
    expect(s.laneOf(fakeEvent(0, { partitionKey: "a" }))).toBeUndefined();
    expect(s.maxRunning(5)).toBe(5);
  });
});
