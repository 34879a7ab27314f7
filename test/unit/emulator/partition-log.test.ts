import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/common/errors.js";
import { EmulatorProtocolError } from "../../../src/emulator/errors.js";
import { PartitionLog, type StoredEvent } from "../../../src/emulator/storage/partition-log.js";

function msg(i: number, size = 20): Buffer {
  const b = Buffer.alloc(size, i & 0xff);
  b.writeUInt32BE(i, 0);
  return b;
}

function clock(start = 1_700_000_000_000): { now: () => number; set: (t: number) => void } {
  let t = start;
  return { now: () => t, set: (v) => (t = v) };
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("PartitionLog in memory", () => {
  it("reports an empty partition as the service does", () => {
    expect(PartitionLog.open().info()).toEqual({
      beginSequenceNumber: -1,
      lastSequenceNumber: -1,
      lastOffset: "-1",
      lastEnqueuedTimeMs: 0,
      isEmpty: true,
    });
  });

  it("appends with consecutive sequence numbers, byte offsets and one enqueued time per append", () => {
    const c = clock();
    const log = PartitionLog.open({ now: c.now });
    const first = log.append([{ message: msg(0, 10) }, { message: msg(1, 30), partitionKey: "k" }]);
    c.set(1_700_000_000_500);
    const second = log.append([{ message: msg(2, 7), partitionKey: "ключ" }]);
    expect(first).toEqual({
      firstSequenceNumber: 0,
      lastSequenceNumber: 1,
      enqueuedTimeMs: 1_700_000_000_000,
    });
    expect(second).toEqual({
      firstSequenceNumber: 2,
      lastSequenceNumber: 2,
      enqueuedTimeMs: 1_700_000_000_500,
    });
    const events = log.read(0, 10);
    expect(events.map((e) => [e.sequenceNumber, e.offset, e.enqueuedTimeMs, e.partitionKey])).toEqual([
      [0, "0", 1_700_000_000_000, undefined],
      [1, "10", 1_700_000_000_000, "k"],
      [2, "40", 1_700_000_000_500, "ключ"],
    ]);
    expect(events.map((e) => e.message)).toEqual([msg(0, 10), msg(1, 30), msg(2, 7)]);
    expect(log.info()).toEqual({
      beginSequenceNumber: 0,
      lastSequenceNumber: 2,
      lastOffset: "40",
      lastEnqueuedTimeMs: 1_700_000_000_500,
      isEmpty: false,
    });
  });

  it("never gives an append an enqueued time before the previous one", () => {
    const c = clock();
    const log = PartitionLog.open({ now: c.now });
    log.append([{ message: msg(0) }]);
    c.set(1_600_000_000_000);
    expect(log.append([{ message: msg(1) }]).enqueuedTimeMs).toBe(1_700_000_000_000);
  });

  it("treats an empty append as a no-op", () => {
    const log = PartitionLog.open();
    const calls: number[] = [];
    log.onAppend(() => calls.push(1));
    expect(log.append([])).toMatchObject({ firstSequenceNumber: 0, lastSequenceNumber: -1 });
    expect(log.info().isEmpty).toBe(true);
    expect(calls).toEqual([]);
  });

  it("reads ranges, stops at the end, and returns views rather than copies", () => {
    const log = PartitionLog.open();
    for (let i = 0; i < 50; i++) log.append([{ message: msg(i) }]);
    expect(log.read(10, 5).map((e) => e.sequenceNumber)).toEqual([10, 11, 12, 13, 14]);
    expect(log.read(48, 5).map((e) => e.sequenceNumber)).toEqual([48, 49]);
    expect(log.read(50, 5)).toEqual([]);
    expect(log.read(0, 0)).toEqual([]);
    const [a, b] = log.read(0, 2) as [StoredEvent, StoredEvent];
    expect(a.message.buffer).toBe(b.message.buffer);
    expect(a.message.buffer.byteLength).toBeGreaterThan(a.message.length * 10);
  });

  it("spreads events over chunks and gives an oversized event a chunk of its own", () => {
    const log = PartitionLog.open({ chunkBytes: 100 });
    const sizes = [30, 30, 30, 30, 250, 10, 99, 4];
    sizes.forEach((size, i) => {
      log.append([{ message: msg(i, size), partitionKey: `key-${i}` }]);
    });
    const events = log.read(0, 100);
    expect(events.map((e) => e.message)).toEqual(sizes.map((size, i) => msg(i, size)));
    expect(events.map((e) => e.partitionKey)).toEqual(sizes.map((_s, i) => `key-${i}`));
  });

  it("keeps its index consistent through many appends, drops and regrowth", () => {
    const log = PartitionLog.open({ retentionEvents: 1500, chunkBytes: 4096 });
    let next = 0;
    for (let round = 0; round < 20; round++) {
      const batch = Array.from({ length: 97 + round * 13 }, () => ({
        message: msg(next++, 5 + (next % 50)),
      }));
      log.append(batch);
    }
    const info = log.info();
    expect(info.lastSequenceNumber).toBe(next - 1);
    expect(info.lastSequenceNumber - info.beginSequenceNumber + 1).toBe(1500);
    const events = log.read(0, 2000);
    expect(events).toHaveLength(1500);
    events.forEach((e) => {
      expect(e.message.readUInt32BE(0)).toBe(e.sequenceNumber);
    });
  });

  it("notifies listeners after each append until they unsubscribe, despite a failing one", () => {
    const log = PartitionLog.open();
    const seen: number[] = [];
    log.onAppend(() => {
      throw new Error("listener bug");
    });
    const off = log.onAppend(() => seen.push(log.info().lastSequenceNumber));
    log.append([{ message: msg(0) }, { message: msg(1) }]);
    log.append([{ message: msg(2) }]);
    off();
    log.append([{ message: msg(3) }]);
    expect(seen).toEqual([1, 2]);
  });

  it("refuses appends after close", () => {
    const log = PartitionLog.open();
    log.close();
    expect(errorOf(() => log.append([{ message: msg(0) }]))).toBeInstanceOf(EmulatorProtocolError);
  });

  it("validates its options", () => {
    for (const bad of [
      { retentionEvents: 0 },
      { retentionEvents: 1.5 },
      { retentionMs: -1 },
      { chunkBytes: 8 },
    ]) {
      const err = errorOf(() => PartitionLog.open(bad));
      expect(err).toBeInstanceOf(ConfigError);
    }
  });
});

describe("PartitionLog retention", () => {
  it("keeps at most retentionEvents, oldest dropped first", () => {
    const log = PartitionLog.open({ retentionEvents: 3 });
    for (let i = 0; i < 5; i++) log.append([{ message: msg(i) }]);
    expect(log.info()).toMatchObject({ beginSequenceNumber: 2, lastSequenceNumber: 4 });
    expect(log.read(0, 10).map((e) => e.sequenceNumber)).toEqual([2, 3, 4]);
    expect(log.read(0, 10)[0]?.message).toEqual(msg(2));
  });

  it("drops events older than retentionMs by the injected clock", () => {
    const c = clock(1_000_000);
    const log = PartitionLog.open({ retentionMs: 10_000, now: c.now });
    log.append([{ message: msg(0) }, { message: msg(1) }]);
    c.set(1_005_000);
    log.append([{ message: msg(2) }]);
    c.set(1_010_000);
    expect(log.applyRetention()).toBe(0);
    c.set(1_010_001);
    expect(log.applyRetention()).toBe(2);
    expect(log.info()).toMatchObject({ beginSequenceNumber: 2, lastSequenceNumber: 2 });
    c.set(1_100_000);
    expect(log.applyRetention()).toBe(1);
    expect(log.info().isEmpty).toBe(true);
    expect(log.append([{ message: msg(3) }]).firstSequenceNumber).toBe(3);
    expect(log.read(0, 10).map((e) => [e.sequenceNumber, e.offset])).toEqual([[3, "60"]]);
  });

  it("releases chunk memory as events are dropped", () => {
    const log = PartitionLog.open({ chunkBytes: 1024 });
    for (let i = 0; i < 10_000; i++) log.append([{ message: msg(i, 100) }]);
    const full = log.memoryBytes();
    expect(full).toBeGreaterThanOrEqual(1_000_000);
    const retained = PartitionLog.open({ chunkBytes: 1024, retentionEvents: 50 });
    for (let i = 0; i < 10_000; i++) retained.append([{ message: msg(i, 100) }]);
    // 50 events of 100 bytes span at most 6 chunks of 1 KiB, next to the smallest index.
    expect(retained.memoryBytes()).toBeLessThanOrEqual(6 * 1024 + 1024 * 32);
    expect(retained.read(0, 100).map((e) => e.message.readUInt32BE(0))).toEqual(
      Array.from({ length: 50 }, (_v, k) => 9950 + k),
    );
  });
});

describe("PartitionLog.resolve", () => {
  function filled(): PartitionLog {
    const c = clock(5_000);
    const log = PartitionLog.open({ now: c.now });
    for (let i = 0; i < 10; i++) {
      c.set(5_000 + Math.floor(i / 2) * 1000); // two events per second: 5000,5000,6000,6000,...
      log.append([{ message: msg(i, 10) }]);
    }
    return log;
  }

  it("resolves earliest and latest", () => {
    const log = filled();
    expect(log.resolve({ kind: "earliest" })).toBe(0);
    expect(log.resolve({ kind: "latest" })).toBe(10);
    const empty = PartitionLog.open();
    expect(empty.resolve({ kind: "earliest" })).toBe(0);
    expect(empty.resolve({ kind: "latest" })).toBe(0);
  });

  it("resolves sequence numbers, inclusive and exclusive, clamped to the log", () => {
    const log = filled();
    expect(log.resolve({ kind: "sequence", sequenceNumber: 4, inclusive: true })).toBe(4);
    expect(log.resolve({ kind: "sequence", sequenceNumber: 4, inclusive: false })).toBe(5);
    expect(log.resolve({ kind: "sequence", sequenceNumber: -1, inclusive: false })).toBe(0);
    expect(log.resolve({ kind: "sequence", sequenceNumber: 9, inclusive: false })).toBe(10);
    expect(log.resolve({ kind: "sequence", sequenceNumber: 500, inclusive: true })).toBe(10);
  });

  it("resolves offsets it handed out, inclusive and exclusive", () => {
    const log = filled();
    for (const e of log.read(0, 10)) {
      expect(log.resolve({ kind: "offset", offset: e.offset, inclusive: true })).toBe(e.sequenceNumber);
      expect(log.resolve({ kind: "offset", offset: e.offset, inclusive: false })).toBe(e.sequenceNumber + 1);
    }
  });

  it.each(["5", "95", "100", "1000", "abc"])("refuses offset %s that it never handed out", (offset) => {
    const err = errorOf(() => filled().resolve({ kind: "offset", offset, inclusive: false }));
    expect(err).toBeInstanceOf(EmulatorProtocolError);
    expect((err as EmulatorProtocolError).condition).toBe("com.microsoft:argument-out-of-range");
  });

  it("resolves an offset below the retained range to the beginning", () => {
    const log = PartitionLog.open({ retentionEvents: 4 });
    for (let i = 0; i < 10; i++) log.append([{ message: msg(i, 10) }]);
    expect(log.resolve({ kind: "offset", offset: "20", inclusive: false })).toBe(6);
    expect(log.resolve({ kind: "offset", offset: "60", inclusive: true })).toBe(6);
    expect(log.resolve({ kind: "offset", offset: "60", inclusive: false })).toBe(7);
  });

  it("resolves enqueued times, inclusive and exclusive", () => {
    const log = filled();
    expect(log.resolve({ kind: "enqueuedTime", timeMs: 6000, inclusive: false })).toBe(4);
    expect(log.resolve({ kind: "enqueuedTime", timeMs: 6000, inclusive: true })).toBe(2);
    expect(log.resolve({ kind: "enqueuedTime", timeMs: 6500, inclusive: true })).toBe(4);
    expect(log.resolve({ kind: "enqueuedTime", timeMs: 0, inclusive: false })).toBe(0);
    expect(log.resolve({ kind: "enqueuedTime", timeMs: 9000, inclusive: false })).toBe(10);
  });
});
