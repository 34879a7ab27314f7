import { describe, expect, it } from "vitest";
import { batchEventCap, keyForId, type Lane, SendPlan } from "../../../src/producer/plan.js";

/** Drains a lane, returning its ids in order. */
function drain(lane: Lane): number[] {
  const ids: number[] = [];
  for (let id = lane.peek(); id !== undefined; id = lane.peek()) {
    ids.push(id);
    lane.advance();
  }
  return ids;
}

describe("keyForId", () => {
  it("spreads ids round robin over key-0 … key-{K-1}", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((id) => keyForId(id, 3))).toEqual([
      "key-0",
      "key-1",
      "key-2",
      "key-0",
      "key-1",
      "key-2",
      "key-0",
    ]);
    expect(keyForId(41, 1)).toBe("key-0");
  });
});

describe("SendPlan", () => {
  it("without routing: one shared lane with every id in order", () => {
    const plan = new SendPlan({ kind: "any" }, 10, 5);
    expect(plan.lanes).toHaveLength(1);
    const lane = plan.acquire()!;
    expect(lane.batchOptions).toEqual({});
    expect(lane.exclusive).toBe(false);
    // Shared: several senders may fill it at once.
    expect(plan.acquire()).toBe(lane);
    expect(drain(lane)).toEqual([10, 11, 12, 13, 14]);
    expect(plan.acquire()).toBeUndefined();
    expect(plan.remaining()).toBe(0);
  });

  it("with a partition: one shared lane whose batches name the partition", () => {
    const plan = new SendPlan({ kind: "partition", partitionId: "2" }, 0, 3);
    const lane = plan.acquire()!;
    expect(lane.batchOptions).toEqual({ partitionId: "2" });
    expect(drain(lane)).toEqual([0, 1, 2]);
  });

  it("with keys: one lane per key holding exactly the ids whose key it is", () => {
    const plan = new SendPlan({ kind: "keys", keyCount: 3 }, 5, 10);
    expect(plan.lanes.map((l) => l.batchOptions.partitionKey)).toEqual(["key-0", "key-1", "key-2"]);
    const byLane = plan.lanes.map((lane) => drain(lane));
    expect(byLane).toEqual([
      [6, 9, 12],
      [7, 10, 13],
      [5, 8, 11, 14],
    ]);
    for (const [i, ids] of byLane.entries()) {
      for (const id of ids) expect(keyForId(id, 3)).toBe(`key-${i}`);
    }
  });

  it("with more keys than events: empty lanes are never handed out", () => {
    const plan = new SendPlan({ kind: "keys", keyCount: 10 }, 0, 2);
    expect(plan.remaining()).toBe(2);
    const a = plan.acquire()!;
    const b = plan.acquire()!;
    expect([a.peek(), b.peek()]).toEqual([0, 1]);
    expect(plan.acquire()).toBeUndefined();
  });

  it("key lanes are exclusive and handed out round robin", () => {
    const plan = new SendPlan({ kind: "keys", keyCount: 2 }, 0, 100);
    const first = plan.acquire()!;
    const second = plan.acquire()!;
    expect(first.batchOptions.partitionKey).toBe("key-0");
    expect(second.batchOptions.partitionKey).toBe("key-1");
    // Both busy: nothing to hand out although ids remain.
    expect(plan.acquire()).toBeUndefined();
    expect(plan.remaining()).toBe(100);
    plan.release(first);
    expect(plan.acquire()).toBe(first);
  });

  it("counts the remaining ids as lanes advance", () => {
    const plan = new SendPlan({ kind: "keys", keyCount: 4 }, 0, 10);
    const lane = plan.acquire()!;
    lane.advance();
    expect(plan.remaining()).toBe(9);
  });
});

describe("batchEventCap", () => {
  it("is unlimited without a rate and 50 ms of events with one", () => {
    expect(batchEventCap(undefined)).toBe(Number.POSITIVE_INFINITY);
    expect(batchEventCap(10)).toBe(1);
    expect(batchEventCap(20_000)).toBe(1000);
  });
});
