import { describe, expect, it } from "vitest";
import { ledgerEventOf, RangeSet, RedeliveryCauses, SeenEvents } from "../../../src/dev/seen-events.js";

describe("RangeSet", () => {
  it("counts distinct numbers and refuses repeats", () => {
    const set = new RangeSet();
    expect(set.add(5)).toBe(true);
    expect(set.add(5)).toBe(false);
    expect(set.add(7)).toBe(true);
    expect(set.size).toBe(2);
    expect(set.has(6)).toBe(false);
    expect(set.has(7)).toBe(true);
  });

  it("merges neighbours so that a contiguous stream is one range", () => {
    const set = new RangeSet();
    for (const n of [0, 2, 4, 1, 3]) set.add(n);
    expect(set.ranges).toBe(1);
    expect(set.size).toBe(5);
    for (let n = 5; n < 10_000; n++) set.add(n);
    expect(set.ranges).toBe(1);
    expect(set.size).toBe(10_000);
  });

  it("agrees with a plain Set on a shuffled sequence with repeats", () => {
    const set = new RangeSet();
    const reference = new Set<number>();
    let x = 12345;
    for (let i = 0; i < 5000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const n = x % 700;
      expect(set.add(n)).toBe(!reference.has(n));
      reference.add(n);
    }
    expect(set.size).toBe(reference.size);
    for (let n = 0; n < 700; n++) expect(set.has(n)).toBe(reference.has(n));
  });
});

describe("SeenEvents", () => {
  it("counts handlings, distinct events and repeats per partition", () => {
    const seen = new SeenEvents();
    seen.record("0", 1);
    seen.record("0", 2);
    seen.record("1", 1); // same number, other partition: not a repeat
    seen.record("0", 1); // handled again after a failover
    expect(seen.total).toBe(4);
    expect(seen.distinct).toBe(3);
    expect(seen.repeated).toBe(1);
  });
});

describe("ledgerEventOf", () => {
  it("reads partition, sequence number and worker of a ledger line", () => {
    expect(ledgerEventOf('{"p":"3","s":42,"o":"4200","k":"key-1","id":7,"w":"worker-1","t":1}')).toEqual({
      partitionId: "3",
      sequenceNumber: 42,
      workerId: "worker-1",
    });
  });

  it("ignores torn, foreign and malformed lines", () => {
    expect(ledgerEventOf('{"p":"3","s":4')).toBeUndefined();
    expect(ledgerEventOf('{"p":3,"s":4}')).toBeUndefined();
    expect(ledgerEventOf('{"p":"3","s":"4"}')).toBeUndefined();
    expect(ledgerEventOf("hello")).toBeUndefined();
  });
});

describe("RedeliveryCauses", () => {
  it("counts each redelivery by how the worker that handled it again got its partition", () => {
    const causes = new RedeliveryCauses();
    for (const via of ["expired", "expired", "steal", "handover", "released", "own", undefined, "new"]) {
      causes.record(via);
    }
    expect(causes.snapshot()).toEqual({
      crash: 2,
      steal: 1,
      handover: 1,
      release: 1,
      reconnect: 1,
      other: 2,
    });
  });

  it("tells a first handling from a repeat", () => {
    const seen = new SeenEvents();
    expect(seen.record("0", 5)).toBe(true);
    expect(seen.record("0", 5)).toBe(false);
    expect(ledgerEventOf('{"p":"0","s":5,"w":"worker-2"}')).toEqual({
      partitionId: "0",
      sequenceNumber: 5,
      workerId: "worker-2",
    });
  });
});
