/**
 * A consumer group shared by two `ehw run` workers and a plain SDK processor
 * (EventHubConsumerClient + BlobCheckpointStore, checkpointing the last event of each batch), all
 * on the same ownership and checkpoint blobs with the same loop and expiry: every event sent is
 * processed by one of them, and the three settle on a third of the partitions each.
 */
import { join } from "node:path";
import {
  EventHubConsumerClient,
  earliestEventPosition,
  type ReceivedEventData,
  type Subscription,
} from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import { describe, expect, it } from "vitest";
import { testStack } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";
import {
  FAST_TIMING,
  ledgerWorkerEnv,
  ownersOf,
  readLedger,
  sendToPartitions,
  startWorker,
  useWorkerTests,
} from "./support.js";

const PARTITIONS = ["0", "1", "2", "3", "4", "5"];
const PLAIN_OWNER = "plain-sdk-consumer";
const tests = useWorkerTests();
const { workers, cleanups } = tests;

/** Starts the plain SDK processor; `seen` collects the id property of every event it receives. */
function startPlainConsumer(
  hubName: string,
  store: BlobCheckpointStore,
  seen: string[],
): { client: EventHubConsumerClient; subscription: Subscription } {
  const client = new EventHubConsumerClient(
    "$Default",
    testStack().emulator.connectionString,
    hubName,
    store,
    {
      identifier: PLAIN_OWNER,
      // The SDK's default strategy; loop and expiry as the workers', as a group sharing blobs needs.
      loadBalancingOptions: {
        strategy: "balanced",
        updateIntervalInMs: Number(FAST_TIMING.EHW_UPDATE_INTERVAL_MS),
        partitionOwnershipExpirationIntervalInMs: Number(FAST_TIMING.EHW_OWNERSHIP_EXPIRATION_MS),
      },
      retryOptions: { retryDelayInMs: 200, maxRetryDelayInMs: 1000 },
    },
  );
  const subscription = client.subscribe(
    {
      processEvents: async (events: ReceivedEventData[], context) => {
        for (const event of events) seen.push(String(event.properties?.id));
        const last = events.at(-1);
        if (last !== undefined) await context.updateCheckpoint(last);
      },
      // Steals show up here as ReceiverDisconnectedError: normal in a group that rebalances.
      processError: async () => {},
    },
    { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 0.2 },
  );
  return { client, subscription };
}

describe("a consumer group shared with a plain SDK processor", () => {
  it("loses no event and gives each of the three a third of the partitions", async () => {
    const { hubName, containerName, containerClient, dir } = await tests.fresh(PARTITIONS.length);
    const ledgers = [join(dir, "a.jsonl"), join(dir, "b.jsonl")];
    const plainSeen: string[] = [];
    const plain = startPlainConsumer(hubName, new BlobCheckpointStore(containerClient), plainSeen);
    cleanups.push(async () => {
      await plain.subscription.close();
      await plain.client.close();
    });
    const [a, b] = await Promise.all(
      ledgers.map((file, i) => startWorker(`worker-${i}`, ledgerWorkerEnv(hubName, containerName, file))),
    );
    workers.push(a!, b!);
    // Sent while ownership still moves between the three.
    await sendToPartitions(hubName, PARTITIONS, 30);

    const owners = [a!.ownerId, b!.ownerId, PLAIN_OWNER];
    const counts = async () => {
      const byPartition = await ownersOf(containerClient, hubName);
      return owners.map((o) => [...byPartition.values()].filter((x) => x === o).length);
    };
    const third = PARTITIONS.length / 3;
    await waitFor(async () => (await counts()).every((c) => c === third), {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: "two partitions owned by each of the three",
    });
    await sendToPartitions(hubName, PARTITIONS, 20, (p, n) => ({ properties: { id: `${p}-w2-${n}` } }));

    const sent = PARTITIONS.flatMap((p) => [
      ...Array.from({ length: 30 }, (_, n) => `${p}-${n}`),
      ...Array.from({ length: 20 }, (_, n) => `${p}-w2-${n}`),
    ]);
    const processed = async (): Promise<Set<string>> => {
      const ids = new Set(plainSeen);
      for (const file of ledgers) for (const entry of await readLedger(file)) ids.add(String(entry.id));
      return ids;
    };
    await waitFor(
      async () => {
        const ids = await processed();
        return sent.every((id) => ids.has(id));
      },
      { timeoutMs: 60_000, intervalMs: 250, what: "every sent event processed by one of the three" },
    );
    const unexpected = [...(await processed())].filter((id) => !sent.includes(id));
    expect(unexpected).toEqual([]);
    // The split held while the second wave was processed: no flapping once balanced.
    expect(await counts()).toEqual([third, third, third]);
    // Everyone took part: the plain processor and both workers processed events of the second wave.
    const wave2 = (ids: Iterable<string>) => [...ids].filter((id) => id.includes("-w2-")).length;
    expect(wave2(plainSeen)).toBeGreaterThan(0);
    for (const file of ledgers)
      expect(wave2((await readLedger(file)).map((e) => String(e.id)))).toBeGreaterThan(0);
  });
});
