import {
  type EventPosition,
  earliestEventPosition,
  latestEventPosition,
  type PartitionContext,
  type ReceivedEventData,
} from "@azure/event-hubs";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../helpers/wait-for.js";
import { useTestEmulator } from "./harness.js";

describe("emulator readers (start positions, credit, runtime metric)", () => {
  const env = useTestEmulator();
  const { closer, producer } = env;

  /** Subscribes to partition 0 from `position`; returns the live list of received events. */
  function read(
    hub: string,
    position: EventPosition,
    options: { maxBatchSize?: number; track?: boolean; contexts?: PartitionContext[] } = {},
  ): ReceivedEventData[] {
    const consumer = env.consumer(hub);
    const got: ReceivedEventData[] = [];
    closer.add(
      consumer.subscribe(
        "0",
        {
          processEvents: async (events, ctx) => {
            got.push(...events);
            if (events.length > 0) options.contexts?.push(ctx);
          },
          processError: async () => {},
        },
        {
          startPosition: position,
          maxWaitTimeInSeconds: 1,
          maxBatchSize: options.maxBatchSize ?? 100,
          trackLastEnqueuedEventProperties: options.track ?? false,
        },
      ),
    );
    return got;
  }

  async function seed(hub: string, count: number): Promise<ReceivedEventData[]> {
    await producer(hub).sendBatch(
      Array.from({ length: count }, (_, i) => ({ body: i })),
      { partitionId: "0" },
    );
    const all = read(hub, earliestEventPosition);
    await waitFor(() => all.length >= count, { what: `${count} seeded events` });
    return all;
  }

  const bodies = (events: ReceivedEventData[]) => events.map((e) => e.body as number);

  it("starts at the earliest event and numbers events from 0 with string offsets", async () => {
    const hub = env.hub(1);
    const all = await seed(hub, 5);
    expect(bodies(all)).toEqual([0, 1, 2, 3, 4]);
    expect(all.map((e) => e.sequenceNumber)).toEqual([0, 1, 2, 3, 4]);
    for (const e of all) {
      expect(typeof e.offset).toBe("string");
      expect(e.enqueuedTimeUtc).toBeInstanceOf(Date);
    }
    expect(new Set(all.map((e) => e.offset)).size).toBe(5);
  });

  it("starts after a sequence number (exclusive) and at it (inclusive)", async () => {
    const hub = env.hub(1);
    await seed(hub, 6);
    const exclusive = read(hub, { sequenceNumber: 2, isInclusive: false });
    const inclusive = read(hub, { sequenceNumber: 2, isInclusive: true });
    await waitFor(() => exclusive.length >= 3 && inclusive.length >= 4, { what: "events after sequence 2" });
    expect(bodies(exclusive)).toEqual([3, 4, 5]);
    expect(bodies(inclusive)).toEqual([2, 3, 4, 5]);
  });

  it("starts after an offset it handed out (exclusive) and at it (inclusive)", async () => {
    const hub = env.hub(1);
    const all = await seed(hub, 6);
    const offset = all[3]?.offset as string;
    const exclusive = read(hub, { offset, isInclusive: false });
    const inclusive = read(hub, { offset, isInclusive: true });
    await waitFor(() => exclusive.length >= 2 && inclusive.length >= 3, { what: "events after the offset" });
    expect(bodies(exclusive)).toEqual([4, 5]);
    expect(bodies(inclusive)).toEqual([3, 4, 5]);
  });

  it("starts after an enqueued time", async () => {
    const hub = env.hub(1);
    const first = await seed(hub, 3);
    const firstTime = first[2]?.enqueuedTimeUtc.getTime() as number;
    await waitFor(() => Date.now() > firstTime + 5, { what: "the clock to move past the first batch" });
    await producer(hub).sendBatch([{ body: 10 }, { body: 11 }], { partitionId: "0" });
    const after = read(hub, { enqueuedOn: new Date(firstTime) });
    await waitFor(() => after.length >= 2, { what: "events after the time" });
    expect(bodies(after)).toEqual([10, 11]);
  });

  it("starts at the end for latest: only events sent after the attach arrive", async () => {
    const hub = env.hub(1);
    await seed(hub, 3);
    const readersBefore = env.emulator.readerCount();
    const latest = read(hub, latestEventPosition);
    await waitFor(() => env.emulator.readerCount() > readersBefore, { what: "the latest reader to attach" });
    await producer(hub).sendBatch([{ body: 100 }, { body: 101 }], { partitionId: "0" });
    await waitFor(() => latest.length >= 2, { what: "new events" });
    expect(bodies(latest)).toEqual([100, 101]);
    expect(latest[0]?.sequenceNumber).toBe(3);
  });

  it("streams a large backlog in order within the client's credit, then pushes new events", async () => {
    const hub = env.hub(1);
    const p = producer(hub);
    const total = 5000;
    let sent = 0;
    while (sent < total) {
      const batch = await p.createBatch({ partitionId: "0" });
      while (sent < total && batch.tryAdd({ body: sent })) sent++;
      await p.sendBatch(batch);
    }
    const got = read(hub, earliestEventPosition, { maxBatchSize: 250 });
    await waitFor(() => got.length >= total, { timeoutMs: 30_000, what: "the backlog" });
    await p.sendBatch([{ body: total }], { partitionId: "0" });
    await waitFor(() => got.length >= total + 1, { what: "the event sent after the backlog" });
    expect(bodies(got)).toEqual(Array.from({ length: total + 1 }, (_, i) => i));
  });

  it("adds last-enqueued runtime metrics when the reader tracks them", async () => {
    const hub = env.hub(1);
    await seed(hub, 2);
    const contexts: PartitionContext[] = [];
    const got = read(hub, earliestEventPosition, { track: true, contexts });
    await waitFor(() => got.length >= 2 && contexts.length > 0, { what: "tracked events" });
    const last = contexts[contexts.length - 1]?.lastEnqueuedEventProperties;
    expect(last?.sequenceNumber).toBe(1);
    expect(last?.offset).toBe(got[1]?.offset);
    expect(last?.enqueuedOn?.getTime()).toBe(got[1]?.enqueuedTimeUtc.getTime());
    expect(last?.retrievedOn).toBeInstanceOf(Date);
  });
});
