/**
 * A storage outage under a running fleet: two greedy workers share a hub on an Azurite of their own,
 * Azurite is stopped while events keep arriving, and restarted. Nothing can be checkpointed or
 * renewed meanwhile, so each partition stops taking events before its ownership can expire, and
 * the duplicates after the outage (ownerships may move once storage answers) stay within the
 * bound README documents, whatever the outage's length.
 */
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { EventHubProducerClient } from "@azure/event-hubs";
import { BlobServiceClient } from "@azure/storage-blob";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createWorker } from "../../../src/app/worker-app.js";
import { compileWorkerConfig } from "../../../src/config/worker.js";
import { type AzuriteProcess, startAzurite } from "../../../src/local/azurite.js";
import type { Logger } from "../../../src/observability/logger.js";
import { freshHub, testStack } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";
import { flagOptions, readLedger, tempDir } from "./support.js";

const PARTITIONS = ["0", "1", "2", "3"];
const UPDATE_INTERVAL_MS = 1000;
const EXPIRATION_MS = 4000;
const CHECKPOINT_INTERVAL_MS = 300;
const CHECKPOINT_EVERY = 10;
const CONCURRENCY = 4;
const MAX_BATCH_SIZE = 10;
/** One event per partition every this many milliseconds while the test runs. */
const SEND_EVERY_MS = 50;
/** How long storage stays down: the scenario's length, several times the ownership expiry. */
const OUTAGE_MS = 15_000;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Line = { msg: string; time: number; partitionId?: string; renewalAgeMs?: number };

function capturingLogger(lines: Line[]): Logger {
  return pino({ level: "info" }, { write: (text: string) => lines.push(JSON.parse(text) as Line) });
}

/** Sends one event to every partition every SEND_EVERY_MS until stopped; resolves the rounds sent. */
function steadySender(hubName: string) {
  const producer = new EventHubProducerClient(testStack().emulator.connectionString, hubName);
  let running = true;
  let rounds = 0;
  const done = (async () => {
    try {
      while (running) {
        await Promise.all(
          PARTITIONS.map((partitionId) =>
            producer.sendBatch([{ body: { n: rounds }, properties: { id: `${partitionId}-${rounds}` } }], {
              partitionId,
            }),
          ),
        );
        rounds += 1;
        // Pacing of the producer, not a wait for a condition.
        await delay(SEND_EVERY_MS);
      }
    } finally {
      await producer.close();
    }
    return rounds;
  })();
  return {
    stop: () => {
      running = false;
      return done;
    },
  };
}

describe("storage outage", () => {
  let azurite: AzuriteProcess | undefined;
  afterEach(async () => {
    await azurite?.stop();
    azurite = undefined;
  });

  it("pauses every partition before its ownership can expire; duplicates stay within the bound", async () => {
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    azurite = await startAzurite({ dataDir: join(dir, "azurite") });
    const storage = azurite;
    const containerName = "outage";
    await BlobServiceClient.fromConnectionString(storage.connectionString)
      .getContainerClient(containerName)
      .create();
    const { hubName } = await freshHub(PARTITIONS.length);
    const lines: Line[] = [];
    const ledgers = ["wa", "wb"].map((id) => join(dir, `${id}.jsonl`));
    const workers = ["wa", "wb"].map((ownerId, i) => {
      const config = compileWorkerConfig(
        flagOptions({
          eventHubConnectionString: testStack().emulator.connectionString,
          eventHubName: hubName,
          storageConnectionString: storage.connectionString,
          containerName,
          ownerId,
          handler: "ledger",
          ledgerFile: ledgers[i],
          strategy: "greedy",
          updateIntervalMs: String(UPDATE_INTERVAL_MS),
          ownershipExpirationMs: String(EXPIRATION_MS),
          retryDelayMs: "200",
          maxRetryDelayMs: "1000",
          maxWaitTimeMs: "200",
          checkpointEvery: String(CHECKPOINT_EVERY),
          concurrency: String(CONCURRENCY),
          maxBatchSize: String(MAX_BATCH_SIZE),
          checkpointIntervalMs: String(CHECKPOINT_INTERVAL_MS),
        }),
        { baseDir: process.cwd() },
      );
      const worker = createWorker(config, { logger: capturingLogger(lines).child({ workerId: ownerId }) });
      cleanups.push(() => worker.stop({ deadlineMs: 2000 }));
      return worker;
    });
    await Promise.all(workers.map((w) => w.start()));
    const sender = steadySender(hubName);
    let senderStopped = false;
    cleanups.push(async () => {
      if (!senderStopped) await sender.stop();
    });
    const entries = async () => (await Promise.all(ledgers.map(readLedger))).flat();
    await waitFor(
      async () =>
        workers.reduce((n, w) => n + w.status().partitions.length, 0) === PARTITIONS.length &&
        new Set((await entries()).map((e) => e.p)).size === PARTITIONS.length,
      { timeoutMs: 30_000, intervalMs: 200, what: "every partition owned and processing" },
    );

    const outageStartedAt = Date.now();
    await storage.stop();
    const pauses = () => lines.filter((l) => l.msg.startsWith("ownership not renewed"));
    await waitFor(() => new Set(pauses().map((l) => l.partitionId)).size === PARTITIONS.length, {
      timeoutMs: EXPIRATION_MS + 10_000,
      intervalMs: 100,
      what: "every partition paused for want of a renewal",
    });
    const pausedAfterMs = Date.now() - outageStartedAt;
    // Paused before the ownership could expire, once expiry − one update interval had passed.
    for (const pause of pauses()) {
      expect(pause.renewalAgeMs).toBeGreaterThanOrEqual(EXPIRATION_MS - UPDATE_INTERVAL_MS);
      expect(pause.renewalAgeMs).toBeLessThan(EXPIRATION_MS);
    }
    // Let in-flight events end, then nothing more may be processed while storage stays down.
    await waitFor(() => workers.every((w) => w.status().partitions.every((p) => p.inFlight === 0)), {
      what: "in-flight events ended",
    });
    const duringPause = (await entries()).length;
    await delay(OUTAGE_MS - (Date.now() - outageStartedAt));
    expect((await entries()).length).toBe(duringPause);

    await storage.restart();
    const restartedAt = Date.now();
    const rounds = await sender.stop();
    senderStopped = true;
    const expected = rounds * PARTITIONS.length;
    await waitFor(async () => new Set((await entries()).map((e) => e.id)).size === expected, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: `all ${expected} events processed after the outage`,
    });
    const all = await entries();
    const duplicates = all.length - new Set(all.map((e) => e.id)).size;
    // Processed while storage was down: never checkpointed then, so delivered again if it moves.
    const exposed = all.filter((e) => e.t >= outageStartedAt && e.t < restartedAt).length;
    const resumed = lines.filter((l) => l.msg === "ownership renewed; taking new events again").length;
    // The documented bound. Taken while storage was down, per partition: the events received from
    // the last checkpoint (a checkpoint interval or CHECKPOINT_EVERY events before the outage) to
    // the pause (expiry − one update interval after the last renewal, which was no later than the
    // outage's start). Each move of a partition once storage answers (greedy workers race for the
    // expired ownerships) adds at most the checkpoint lag and the window, as any steal does.
    const takenDuringOutage = Math.ceil(
      (EXPIRATION_MS - UPDATE_INTERVAL_MS + CHECKPOINT_INTERVAL_MS) / SEND_EVERY_MS + CHECKPOINT_EVERY,
    );
    const perMove = CHECKPOINT_EVERY + CONCURRENCY + 2 * MAX_BATCH_SIZE;
    const moves = PARTITIONS.map(
      (p) => lines.filter((l) => l.msg === "partition claimed" && l.partitionId === p).length - 1,
    );
    const exposedBound = PARTITIONS.length * takenDuringOutage;
    const duplicateBound = moves.reduce((sum, m) => sum + (m > 0 ? takenDuringOutage + m * perMove : 0), 0);
    console.info(
      JSON.stringify({
        outageMs: restartedAt - outageStartedAt,
        events: expected,
        exposed,
        exposedBound,
        duplicates,
        duplicateBound,
        moves,
        pausedAfterMs,
        resumed,
      }),
    );
    expect(exposed).toBeLessThanOrEqual(exposedBound);
    expect(duplicates).toBeLessThanOrEqual(duplicateBound);
  });
});
