/**
 * The sending loop's own decisions (filling, lanes, concurrency, stopping, failures) over a
 * stand-in for the two producer calls it makes. The real producer is exercised end to end in
 * test/integration/send.
 */
import type { CreateBatchOptions, EventData, EventDataBatch } from "@azure/event-hubs";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/common/errors.js";
import type { SendRouting } from "../../../src/producer/options.js";
import { keyForId } from "../../../src/producer/plan.js";
import { type BatchSender, type SendLoopOptions, sendEvents } from "../../../src/producer/send-loop.js";

interface SentBatch {
  options: CreateBatchOptions;
  ids: number[];
}

/** A batch that holds at most `capacity` events. */
function fakeBatch(options: CreateBatchOptions, capacity: number): EventDataBatch & { events: EventData[] } {
  const events: EventData[] = [];
  return {
    events,
    partitionKey: options.partitionKey,
    partitionId: options.partitionId,
    maxSizeInBytes: capacity * 100,
    get sizeInBytes() {
      return events.length * 100;
    },
    get count() {
      return events.length;
    },
    tryAdd(event: EventData) {
      if (events.length >= capacity) return false;
      events.push(event);
      return true;
    },
  } as unknown as EventDataBatch & { events: EventData[] };
}

/** Records batches; `gate` lets a test hold sends open to observe what is in flight. */
class RecordingSender implements BatchSender {
  readonly sent: SentBatch[] = [];
  inFlight = 0;
  maxInFlight = 0;
  inFlightKeys = new Set<string>();
  keyOverlap = false;

  constructor(
    private readonly capacity: number,
    private readonly failOnBatch?: number,
  ) {}

  async createBatch(options: CreateBatchOptions = {}): Promise<EventDataBatch> {
    return fakeBatch(options, this.capacity);
  }

  async sendBatch(batch: EventDataBatch): Promise<void> {
    const fake = batch as EventDataBatch & { events: EventData[] };
    const key = fake.partitionKey;
    if (key !== undefined) {
      if (this.inFlightKeys.has(key)) this.keyOverlap = true;
      this.inFlightKeys.add(key);
    }
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    // Yield a few times so other senders run while this batch is "on the wire".
    for (let i = 0; i < 3; i++) await Promise.resolve();
    this.inFlight -= 1;
    if (key !== undefined) this.inFlightKeys.delete(key);
    if (this.failOnBatch !== undefined && this.sent.length + 1 === this.failOnBatch) {
      throw Object.assign(new Error("service said no"), { code: "ServerBusyError" });
    }
    const ids = fake.events.map((e) => (e.properties as { id: number }).id);
    this.sent.push({ options: { partitionKey: fake.partitionKey, partitionId: fake.partitionId }, ids });
  }
}

function options(routing: SendRouting, over: Partial<SendLoopOptions> = {}): SendLoopOptions {
  return {
    count: 1000,
    ratePerSecond: undefined,
    bodySizeBytes: 10,
    routing,
    idStart: 0,
    type: "t",
    concurrency: 4,
    ...over,
  };
}

const allIds = (sender: RecordingSender) => sender.sent.flatMap((b) => b.ids).sort((a, b) => a - b);

describe("sendEvents", () => {
  it("fills every batch to its limit and sends each id once", async () => {
    const sender = new RecordingSender(64);
    const summary = await sendEvents(sender, options({ kind: "any" }, { idStart: 7 }));
    expect(allIds(sender)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 7));
    // 1000 / 64 → 15 full batches and one of 40.
    expect(sender.sent.map((b) => b.ids.length).sort((a, b) => b - a)).toEqual([...Array(15).fill(64), 40]);
    expect(summary).toMatchObject({ sent: 1000, batches: 16, firstId: 7, lastId: 1006, interrupted: false });
  });

  it("keeps `concurrency` batches in flight", async () => {
    const sender = new RecordingSender(10);
    await sendEvents(sender, options({ kind: "any" }, { concurrency: 3 }));
    expect(sender.maxInFlight).toBe(3);
  });

  it("puts each keyed event in a batch created with its key, one batch per key in flight", async () => {
    const sender = new RecordingSender(7);
    await sendEvents(sender, options({ kind: "keys", keyCount: 5 }, { count: 300, concurrency: 8 }));
    expect(allIds(sender)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    for (const batch of sender.sent) {
      for (const id of batch.ids) expect(batch.options.partitionKey).toBe(keyForId(id, 5));
    }
    expect(sender.keyOverlap).toBe(false);
    // Per key, ids leave in increasing order.
    for (let k = 0; k < 5; k++) {
      const ids = sender.sent.filter((b) => b.options.partitionKey === `key-${k}`).flatMap((b) => b.ids);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
    }
  });

  it("names the partition on every batch with a partition routing", async () => {
    const sender = new RecordingSender(50);
    await sendEvents(sender, options({ kind: "partition", partitionId: "3" }, { count: 120 }));
    expect(
      sender.sent.every((b) => b.options.partitionId === "3" && b.options.partitionKey === undefined),
    ).toBe(true);
  });

  it("caps batches at 50 ms of events under a rate", async () => {
    const sender = new RecordingSender(1000);
    let t = 0;
    // The clock jumps so no reservation has to wait for real time.
    await sendEvents(sender, options({ kind: "any" }, { count: 100, ratePerSecond: 200 }), {
      now: () => (t += 1000),
    });
    expect(Math.max(...sender.sent.map((b) => b.ids.length))).toBe(10);
  });

  it("stops after the batches in flight when the signal aborts, reporting what was sent", async () => {
    const sender = new RecordingSender(10);
    const stop = new AbortController();
    const progress = { sent: 0, batches: 0, firstId: undefined, lastId: undefined };
    const original = sender.sendBatch.bind(sender);
    sender.sendBatch = async (batch) => {
      await original(batch);
      if (sender.sent.length >= 5) stop.abort();
    };
    const summary = await sendEvents(sender, options({ kind: "any" }), { signal: stop.signal, progress });
    expect(summary.interrupted).toBe(true);
    expect(summary.sent).toBe(sender.sent.length * 10);
    expect(summary.sent).toBeLessThan(1000);
    expect(progress.sent).toBe(summary.sent);
    expect(new Set(allIds(sender)).size).toBe(summary.sent);
  });

  it("rejects with the send error after the other senders finish", async () => {
    const sender = new RecordingSender(10, 3);
    await expect(sendEvents(sender, options({ kind: "any" }))).rejects.toThrow("service said no");
    expect(sender.inFlight).toBe(0);
  });

  it("rejects an event that does not fit in an empty batch, naming --body-size", async () => {
    const sender = new RecordingSender(0);
    const error = await sendEvents(sender, options({ kind: "any" })).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      /^--body-size 10: one event does not fit in a batch of at most 0 bytes/,
    );
  });
});
