import type { ReceivedEventData } from "@azure/event-hubs";
import { describe, expect, it } from "vitest";
import type { OrderingMode } from "../../../../../src/config/ordering.js";
import { createPipeline, type Pipeline } from "../../../../../src/handlers/pipeline.js";
import { orderingStrategy } from "../../../../../src/worker/partition/ordering/registry.js";
import { groupIntoUnits as groupWith } from "../../../../../src/worker/partition/ordering/scheduler.js";
import { fakeEvent } from "../../../handlers/events.js";

const groupIntoUnits = (
  events: ReceivedEventData[],
  route: (e: ReceivedEventData) => Pipeline,
  mode: OrderingMode,
) => groupWith(events, route, orderingStrategy(mode));
/** The lane the key strategy gives an event without a key. */
const noKeyLane = orderingStrategy("key").laneOf(fakeEvent(0));

const single = createPipeline("single", [{ name: "s", handler: { handle: async () => {} } }]);
const bulk = createPipeline("bulk", [{ name: "b", handler: { handleBatch: async () => {} } }]);

/** Events 0…n-1 with the given keys; routed to `bulk` unless their index is in `toSingle`. */
function batch(keys: Array<string | null>, toSingle: number[] = []) {
  const events = keys.map((k, i) => fakeEvent(i, { partitionKey: k, properties: { id: i } }));
  const route = (e: ReceivedEventData): Pipeline => (toSingle.includes(e.sequenceNumber) ? single : bulk);
  return { events, route };
}

const shape = (units: ReturnType<typeof groupIntoUnits>) =>
  units.map((u) => `${u.pipeline.name}:${u.events.map((e) => e.sequenceNumber).join(",")}`);

describe("groupIntoUnits", () => {
  it("makes one unit of a whole batch routed to a batch pipeline", () => {
    const { events, route } = batch(["a", "b", "a", null]);
    expect(shape(groupIntoUnits(events, route, "partition"))).toEqual(["bulk:0,1,2,3"]);
  });

  it("under partition ordering makes one run of consecutive events of an event pipeline", () => {
    const { events, route } = batch(["a", "b", "a", "b", "c"], [0, 1, 3, 4]);
    const units = groupIntoUnits(events, route, "partition");
    expect(shape(units)).toEqual(["single:0,1", "bulk:2", "single:3,4"]);
    expect(units.map((u) => u.each)).toEqual([true, undefined, true]);
  });

  it("under key ordering makes one run per key of an event pipeline's events", () => {
    const { events, route } = batch(["a", "b", "a", "a", null], [0, 1, 2, 4]);
    const units = groupIntoUnits(events, route, "key");
    expect(shape(units)).toEqual(["single:0,2", "single:1", "bulk:3", "single:4"]);
    expect(units.map((u) => u.lane)).toEqual(["a", "b", "a", noKeyLane]);
  });

  it("under none ordering gives each event of an event pipeline its own unit, in no lane", () => {
    const { events } = batch(["a", "a", null]);
    const units = groupIntoUnits(events, () => single, "none");
    expect(shape(units)).toEqual(["single:0", "single:1", "single:2"]);
    expect(units.map((u) => u.lane)).toEqual([undefined, undefined, undefined]);
    expect(units.some((u) => u.each)).toBe(false);
  });

  it("gives each event of an event pipeline its own unit, in its key's lane", () => {
    const { events } = batch(["a", null]);
    const units = groupIntoUnits(events, () => single, "key");
    expect(shape(units)).toEqual(["single:0", "single:1"]);
    expect(units.map((u) => u.lane)).toEqual(["a", noKeyLane]);
  });

  it("under partition ordering splits batch runs at events of other pipelines", () => {
    const { events, route } = batch(["a", "a", "a", "a"], [2]);
    expect(shape(groupIntoUnits(events, route, "partition"))).toEqual(["bulk:0,1", "single:2", "bulk:3"]);
  });

  it("under key ordering groups batch events per key, split only by that key's own events", () => {
    const { events, route } = batch(["a", "b", "a", "b", "a"], [3]);
    const units = groupIntoUnits(events, route, "key");
    expect(shape(units)).toEqual(["bulk:0,2,4", "bulk:1", "single:3"]);
    expect(units.map((u) => u.lane)).toEqual(["a", "b", "b"]);
  });

  it("under none ordering makes one unit per batch pipeline", () => {
    const { events, route } = batch(["a", "b", "c", "d"], [1]);
    expect(shape(groupIntoUnits(events, route, "none"))).toEqual(["bulk:0,2,3", "single:1"]);
  });
});
