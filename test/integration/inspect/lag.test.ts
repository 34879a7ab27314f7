/**
 * Lag by count and by age against the emulator: the partition properties the emulator reports
 * match the events it stores, and `ehw status` and a worker's `/metrics` agree with a direct SDK
 * read of the partition and the first event after the checkpoint.
 */
import { fileURLToPath } from "node:url";
import { EventHubConsumerClient } from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import { afterEach, describe, expect, it } from "vitest";
import { createWorker } from "../../../src/app/worker-app.js";
import { compileWorkerConfig } from "../../../src/config/worker.js";
import { readFirstEvent } from "../../../src/inspect/event-reader.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { startWorkerObservability } from "../../../src/ops/worker-observability.js";
import { freshContainer, freshHub, testStack } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";
import { sampleValue } from "../../unit/ops/exposition.js";
import { flagOptions } from "../worker/support.js";
import { FAST_RETRY, runEhw, sendTo } from "./harness.js";

const HOLDS = fileURLToPath(new URL("../../fixtures/handlers/waits-for-signal.mjs", import.meta.url));
const FQNS = "127.0.0.1";
const RETENTION_MS = 3_600_000;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface StatusPartition {
  lag: number;
  oldestUnprocessedEnqueuedAt: string | null;
  oldestUnprocessedAgeSeconds: number | null;
  retentionLeftSeconds: number | null;
  ageProblem: string | null;
}

async function statusOf(env: Record<string, string>, ...args: string[]) {
  const run = await runEhw(["status", "--json", ...args], env);
  expect(run.code, run.stderr).toBe(0);
  const doc = JSON.parse(run.stdout) as { readAt: string; partitions: StatusPartition[] };
  return { readAtMs: Date.parse(doc.readAt), partition: doc.partitions[0] as StatusPartition };
}

describe("lag by count and age", () => {
  it("matches a direct SDK read in ehw status and /metrics, also while a worker holds the partition", async () => {
    const { hubName, connectionString } = await freshHub(1, ["peek"]);
    const { containerName, containerClient } = await freshContainer("lag");
    const { azurite } = testStack();
    // Two batches with distinct enqueued times: events 0-3, then 4-9.
    await sendTo(connectionString, hubName, "0", 4);
    const firstSentMs = Date.now();
    await waitFor(() => Date.now() > firstSentMs + 20, { what: "the clock to move on" });
    await sendTo(connectionString, hubName, "0", 6);

    const sdk = new EventHubConsumerClient("peek", connectionString, hubName, { retryOptions: FAST_RETRY });
    cleanups.push(() => sdk.close());
    const props = await sdk.getPartitionProperties("0");
    const read = (sequenceNumber: number) =>
      readFirstEvent(sdk, "0", { sequenceNumber, isInclusive: true }, { host: "emulator" });
    const [third, fourth, last] = [await read(3), await read(4), await read(9)];
    if (third === undefined || fourth === undefined || last === undefined) throw new Error("events not read");
    // The emulator's properties are those of the last event it stores.
    expect(props).toMatchObject({
      beginningSequenceNumber: 0,
      lastEnqueuedSequenceNumber: 9,
      isEmpty: false,
    });
    expect(props.lastEnqueuedOffset).toBe(last.offset);
    expect(props.lastEnqueuedOnUtc.getTime()).toBe(last.enqueuedTimeMs);
    expect(fourth.enqueuedTimeMs).toBeGreaterThan(third.enqueuedTimeMs);

    await new BlobCheckpointStore(containerClient).updateCheckpoint({
      fullyQualifiedNamespace: FQNS,
      eventHubName: hubName,
      consumerGroup: "$Default",
      partitionId: "0",
      sequenceNumber: 3,
      offset: third.offset,
    });
    const env = {
      EHW_EVENTHUB_CONNECTION_STRING: connectionString,
      EHW_EVENTHUB_NAME: hubName,
      EHW_STORAGE_CONNECTION_STRING: azurite.connectionString,
      EHW_CONTAINER_NAME: containerName,
      EHW_HUB_RETENTION_MS: String(RETENTION_MS),
    };
    const idle = await statusOf(env);
    expect(idle.partition).toMatchObject({
      lag: 6,
      oldestUnprocessedEnqueuedAt: new Date(fourth.enqueuedTimeMs).toISOString(),
      oldestUnprocessedAgeSeconds: Math.max(0, (idle.readAtMs - fourth.enqueuedTimeMs) / 1000),
      retentionLeftSeconds: (fourth.enqueuedTimeMs + RETENTION_MS - idle.readAtMs) / 1000,
      ageProblem: null,
    });

    const config = compileWorkerConfig(
      flagOptions({
        eventHubConnectionString: connectionString,
        eventHubName: hubName,
        storageConnectionString: azurite.connectionString,
        containerName,
        handler: HOLDS,
        strategy: "greedy",
        updateIntervalMs: "1000",
        ownershipExpirationMs: "4000",
        maxWaitTimeMs: "200",
        metricsPort: "0",
        hubRetentionMs: String(RETENTION_MS),
      }),
      { baseDir: process.cwd() },
    );
    const observability = await startWorkerObservability({
      config: config.observability,
      logger: silentLogger(),
    });
    cleanups.push(() => observability.close());
    const worker = createWorker(config, { logger: silentLogger(), observer: observability.metrics });
    cleanups.push(() => worker.stop({ deadlineMs: 1000 }));
    observability.attach(worker);
    await worker.start();
    const scrape = async () => (await fetch(`${observability.server?.url}/metrics`)).text();
    const before = Date.now();
    const text = await waitFor(
      async () => {
        const t = await scrape();
        const ready =
          sampleValue(t, "ehw_events_in_flight", { partition: "0" }) === 1 &&
          sampleValue(t, "ehw_partition_checkpoint_lag_events", { partition: "0" }) !== undefined;
        return ready ? t : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: "the held event and the partition properties in /metrics" },
    );
    const after = Date.now();
    const age = sampleValue(text, "ehw_partition_oldest_unprocessed_age_seconds", { partition: "0" });
    const left = sampleValue(text, "ehw_partition_retention_left_seconds", { partition: "0" });
    expect(sampleValue(text, "ehw_partition_checkpoint_lag_events", { partition: "0" })).toBe(6);
    expect(age).toBeGreaterThanOrEqual((before - fourth.enqueuedTimeMs) / 1000);
    expect(age).toBeLessThanOrEqual((after - fourth.enqueuedTimeMs) / 1000);
    expect((age ?? 0) + (left ?? 0)).toBeCloseTo(RETENTION_MS / 1000, 1);

    // The worker's epoch receiver holds the partition: the workers' own group cannot read it,
    // another consumer group can.
    const held = await statusOf(env);
    expect(held.partition.lag).toBe(6);
    expect(held.partition.oldestUnprocessedAgeSeconds).toBeNull();
    expect(held.partition.ageProblem).toContain("--peek-consumer-group");
    const peeked = await statusOf(env, "--peek-consumer-group", "peek");
    expect(peeked.partition.oldestUnprocessedEnqueuedAt).toBe(new Date(fourth.enqueuedTimeMs).toISOString());
    expect(worker.status().partitions[0]?.inFlight).toBe(1);
  });
});
