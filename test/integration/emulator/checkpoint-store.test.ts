/**
 * The emulator with the SDK's BlobCheckpointStore on the Azurite the global setup started:
 * checkpoint and resume, and two consumers splitting the partitions through ownership blobs.
 */
import { type CheckpointStore, EventHubConsumerClient, earliestEventPosition } from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import { describe, expect, it } from "vitest";
import { freshContainer } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";
import { FAST_RETRY, useTestEmulator } from "./harness.js";

describe("emulator with BlobCheckpointStore on Azurite", () => {
  const env = useTestEmulator();
  const { closer } = env;

  async function store(): Promise<CheckpointStore> {
    const { containerClient } = await freshContainer("emu-ckpt");
    return new BlobCheckpointStore(containerClient);
  }

  function consumer(hub: string, checkpointStore: CheckpointStore): EventHubConsumerClient {
    return closer.add(
      new EventHubConsumerClient("$Default", env.emulator.connectionString(), hub, checkpointStore, {
        retryOptions: FAST_RETRY,
        loadBalancingOptions: {
          strategy: "balanced",
          updateIntervalInMs: 300,
          partitionOwnershipExpirationIntervalInMs: 3000,
        },
      }),
    );
  }

  it("resumes after the last checkpoint when a consumer restarts", async () => {
    const hub = env.hub(1);
    const checkpointStore = await store();
    const producer = env.producer(hub);
    await producer.sendBatch(
      Array.from({ length: 10 }, (_, i) => ({ body: i })),
      { partitionId: "0" },
    );

    const first: number[] = [];
    let checkpointed = false;
    const sub1 = consumer(hub, checkpointStore).subscribe(
      {
        processEvents: async (events, ctx) => {
          for (const event of events) {
            first.push(event.sequenceNumber);
            if (event.sequenceNumber === 5) {
              await ctx.updateCheckpoint(event);
              checkpointed = true;
            }
          }
        },
        processError: async () => {},
      },
      { startPosition: earliestEventPosition, maxBatchSize: 3, maxWaitTimeInSeconds: 1 },
    );
    await waitFor(() => first.length >= 10 && checkpointed, {
      timeoutMs: 20_000,
      what: "the first consumer",
    });
    await sub1.close();
    expect(first).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const second: number[] = [];
    const sub2 = closer.add(
      consumer(hub, checkpointStore).subscribe(
        {
          processEvents: async (events) => {
            for (const event of events) second.push(event.sequenceNumber);
          },
          processError: async () => {},
        },
        // Earliest applies only without a checkpoint: a replay from 0 would show here.
        { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
      ),
    );
    await waitFor(() => second.length >= 4, { timeoutMs: 20_000, what: "the second consumer" });
    await sub2.close();
    expect(second).toEqual([6, 7, 8, 9]);
  });

  it("lets two consumers split the partitions and each read only its own", async () => {
    const hub = env.hub(4);
    const checkpointStore = await store();
    const owned = [new Set<string>(), new Set<string>()];
    const seen: Array<Array<{ partitionId: string; body: unknown }>> = [[], []];
    const foreign: string[] = [];
    for (const index of [0, 1]) {
      closer.add(
        consumer(hub, checkpointStore).subscribe(
          {
            processInitialize: async (ctx) => {
              owned[index]?.add(ctx.partitionId);
            },
            processClose: async (_reason, ctx) => {
              owned[index]?.delete(ctx.partitionId);
            },
            processEvents: async (events, ctx) => {
              for (const event of events)
                seen[index]?.push({ partitionId: ctx.partitionId, body: event.body });
            },
            processError: async () => {},
          },
          { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
        ),
      );
    }
    // Ownership moves in steps (the loser closes after the winner initialises), so wait for a
    // disjoint 2/2 split covering every partition.
    const split = () => {
      const union = new Set([...(owned[0] ?? []), ...(owned[1] ?? [])]);
      return owned[0]?.size === 2 && owned[1]?.size === 2 && union.size === 4;
    };
    await waitFor(split, { timeoutMs: 30_000, what: "a disjoint 2/2 split" });

    const producer = env.producer(hub);
    for (const partitionId of ["0", "1", "2", "3"])
      await producer.sendBatch([{ body: `p${partitionId}` }], { partitionId });
    await waitFor(() => (seen[0]?.length ?? 0) + (seen[1]?.length ?? 0) >= 4, {
      timeoutMs: 20_000,
      what: "all four events",
    });
    const all4 = [...(seen[0] ?? []), ...(seen[1] ?? [])];
    // Each event reached exactly one consumer, from its own partition, owned when processed.
    expect(all4.map((e) => `${e.partitionId}:${String(e.body)}`).sort()).toEqual([
      "0:p0",
      "1:p1",
      "2:p2",
      "3:p3",
    ]);
    expect(foreign).toEqual([]);
  });
});
