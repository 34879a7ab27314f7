import {
  EventHubBufferedProducerClient,
  type EventHubProducerClient,
  earliestEventPosition,
  type ReceivedEventData,
} from "@azure/event-hubs";
import { describe, expect, it } from "vitest";
import { partitionIndexForKey } from "../../../src/emulator/services/partition-key.js";
import { waitFor } from "../../helpers/wait-for.js";
import { FAST_RETRY, useTestEmulator } from "./harness.js";

describe("emulator ingest (sending)", () => {
  const env = useTestEmulator();
  const { closer, producer } = env;

  async function lastSequenceNumbers(p: EventHubProducerClient, partitions: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < partitions; i++)
      out.push((await p.getPartitionProperties(String(i))).lastEnqueuedSequenceNumber);
    return out;
  }

  /** Reads every event of every partition from the start until `count` have arrived. */
  async function readAll(
    hub: string,
    count: number,
  ): Promise<Array<{ partitionId: string; event: ReceivedEventData }>> {
    const consumer = env.consumer(hub);
    const got: Array<{ partitionId: string; event: ReceivedEventData }> = [];
    const sub = consumer.subscribe(
      {
        processEvents: async (events, ctx) => {
          for (const event of events) got.push({ partitionId: ctx.partitionId, event });
        },
        processError: async () => {},
      },
      { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
    );
    closer.add(sub);
    await waitFor(() => got.length >= count, { timeoutMs: 15_000, what: `${count} events` });
    return got;
  }

  it("spreads batches without key or partition over all partitions", async () => {
    const hub = env.hub(3);
    const p = producer(hub);
    for (let i = 0; i < 6; i++) await p.sendBatch([{ body: `e${i}` }]);
    // Round robin: every partition got two single-event batches.
    expect(await lastSequenceNumbers(p, 3)).toEqual([1, 1, 1]);
  });

  it("puts a batch to a partition id into that partition, atomically and in order", async () => {
    const hub = env.hub(3);
    const p = producer(hub);
    const batch = await p.createBatch({ partitionId: "2" });
    for (let i = 0; i < 10; i++) expect(batch.tryAdd({ body: { n: i }, properties: { i } })).toBe(true);
    await p.sendBatch(batch);
    expect(await lastSequenceNumbers(p, 3)).toEqual([-1, -1, 9]);
    const got = await readAll(hub, 10);
    expect(got.map((g) => g.partitionId)).toEqual(Array(10).fill("2"));
    expect(got.map((g) => (g.event.body as { n: number }).n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(got.map((g) => g.event.sequenceNumber)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(got[3]?.event.properties).toEqual({ i: 3 });
  });

  it("hashes a partition key to the partition the service algorithm names, and carries the key", async () => {
    const hub = env.hub(4);
    const p = producer(hub);
    const keys = ["alpha", "beta", "gamma", "delta", "k-17", "order-4711"];
    for (const key of keys) await p.sendBatch([{ body: key }], { partitionKey: key });
    const got = await readAll(hub, keys.length);
    for (const { partitionId, event } of got) {
      expect(event.partitionKey).toBe(event.body);
      expect(partitionId).toBe(String(partitionIndexForKey(event.body as string, 4)));
    }
  });

  it("agrees with the buffered producer's client-side key hashing", async () => {
    const hub = env.hub(5);
    const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`);
    const direct = producer(hub);
    for (const key of keys) await direct.sendBatch([{ body: { key, via: "server" } }], { partitionKey: key });
    const buffered = closer.add(
      new EventHubBufferedProducerClient(env.emulator.connectionString(), hub, {
        retryOptions: FAST_RETRY,
        onSendEventsErrorHandler: () => {},
        maxWaitTimeInMs: 50,
      }),
    );
    for (const key of keys)
      await buffered.enqueueEvent({ body: { key, via: "client" } }, { partitionKey: key });
    await buffered.flush();
    const got = await readAll(hub, keys.length * 2);
    const where = new Map<string, Set<string>>();
    for (const { partitionId, event } of got) {
      const key = (event.body as { key: string }).key;
      const set = where.get(key) ?? new Set<string>();
      set.add(partitionId);
      where.set(key, set);
    }
    expect(where.size).toBe(keys.length);
    for (const [key, partitions] of where)
      expect([key, [...partitions]]).toEqual([key, [String(partitionIndexForKey(key, 5))]]);
    // More than one partition is used, or the agreement above would prove little.
    expect(new Set([...where.values()].map((s) => [...s][0])).size).toBeGreaterThan(1);
  });

  it("rejects a message over 1 MiB with MessageTooLargeError and stores nothing", async () => {
    const hub = env.hub(1);
    const p = producer(hub);
    await expect(p.sendBatch([{ body: Buffer.alloc(1024 * 1024 + 100, 1) }])).rejects.toMatchObject({
      code: "MessageTooLargeError",
    });
    expect((await p.getPartitionProperties("0")).isEmpty).toBe(true);
  });

  it("gives createBatch the link's 1 MiB limit", async () => {
    const hub = env.hub(1);
    const p = producer(hub);
    const batch = await p.createBatch();
    expect(batch.maxSizeInBytes).toBe(1024 * 1024);
    expect(batch.tryAdd({ body: Buffer.alloc(1024 * 1024, 1) })).toBe(false);
  });

  it("refuses a send link to an unknown partition", async () => {
    const hub = env.hub(2);
    const p = producer(hub);
    await expect(p.sendBatch([{ body: "x" }], { partitionId: "9" })).rejects.toBeDefined();
  });
});
