/**
 * Ownership races against the real SDK, the emulator and Azurite: two greedy workers starting at
 * the same instant on a never-owned hub, a stale owner's checkpoint after a steal, checkpoints
 * sampled through a steal, and recovery after the hub restarts without waiting for expiry.
 */
import { join } from "node:path";
import { type Checkpoint, EventHubProducerClient } from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import type { ContainerClient } from "@azure/storage-blob";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createWorker } from "../../../src/app/worker-app.js";
import { BlobPartitionRecords } from "../../../src/checkpoint/blob-records.js";
import { CheckpointRefusedError, GuardedCheckpointStore } from "../../../src/checkpoint/guarded-store.js";
import { compileWorkerConfig } from "../../../src/config/worker.js";
import type { LedgerEntry } from "../../../src/handlers/builtins/ledger.js";
import { type EmulatorProcess, startEmulatorProcess } from "../../../src/local/emulator-process.js";
import { type Logger, silentLogger } from "../../../src/observability/logger.js";
import type { Worker } from "../../../src/worker/worker.js";
import { freshContainer, freshHub, testStack, uniqueName } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";
import { checkpointsOf, flagOptions, ownersOf, readLedger, tempDir } from "./support.js";

const PARTITIONS = ["0", "1", "2", "3", "4", "5", "6", "7"];
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function workerConfig(
  hub: { hubName: string; connectionString?: string },
  containerName: string,
  ownerId: string,
  ledgerFile: string,
  extra: Record<string, string> = {},
) {
  const { emulator, azurite } = testStack();
  return compileWorkerConfig(
    flagOptions({
      eventHubConnectionString: hub.connectionString ?? emulator.connectionString,
      eventHubName: hub.hubName,
      storageConnectionString: azurite.connectionString,
      containerName,
      ownerId,
      handler: "ledger",
      ledgerFile,
      updateIntervalMs: "1000",
      ownershipExpirationMs: "4000",
      strategy: "greedy",
      retryDelayMs: "200",
      maxRetryDelayMs: "1000",
      maxWaitTimeMs: "200",
      checkpointEvery: "10",
      checkpointIntervalMs: "300",
      ...extra,
    }),
    { baseDir: process.cwd() },
  );
}

/** Log lines of the loggers {@link capturingLogger} made. */
type Line = { msg: string; time: number; partitionId?: string };

/** A pino logger that keeps its lines in `lines`. */
function capturingLogger(lines: Line[]): Logger {
  return pino({ level: "debug" }, { write: (text: string) => lines.push(JSON.parse(text) as Line) });
}

async function startWorker(
  config: ReturnType<typeof workerConfig>,
  logger = silentLogger(),
): Promise<Worker> {
  const worker = createWorker(config, { logger });
  cleanups.push(() => worker.stop({ deadlineMs: 2000 }));
  return worker;
}

/** Sends one small batch to every partition every `everyMs` until stopped; resolves the count sent. */
function steadySender(
  connectionString: string,
  hubName: string,
  partitionIds: readonly string[],
  everyMs = 100,
) {
  const producer = new EventHubProducerClient(connectionString, hubName);
  let running = true;
  let sent = 0;
  const done = (async () => {
    try {
      while (running) {
        for (const partitionId of partitionIds) {
          await producer.sendBatch([{ body: { n: sent }, properties: { id: `${partitionId}-${sent}` } }], {
            partitionId,
          });
        }
        sent += 1;
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
    } finally {
      await producer.close();
    }
    return sent;
  })();
  return {
    stop: async () => {
      running = false;
      return done;
    },
  };
}

/** Milliseconds during which both workers processed events of one partition, by ledger times. */
function overlapMs(a: readonly LedgerEntry[], b: readonly LedgerEntry[], partitionId: string): number {
  const times = (entries: readonly LedgerEntry[]) =>
    entries.filter((e) => e.p === partitionId).map((e) => e.t);
  const ta = times(a);
  const tb = times(b);
  if (ta.length === 0 || tb.length === 0) return 0;
  return Math.max(0, Math.min(Math.max(...ta), Math.max(...tb)) - Math.max(Math.min(...ta), Math.min(...tb)));
}

/** Samples every partition's checkpoint blob until stopped; returns the series per partition. */
function checkpointSampler(containerClient: ContainerClient, hubName: string) {
  const series = new Map<string, number[]>();
  let running = true;
  const done = (async () => {
    while (running) {
      const checkpoints = await checkpointsOf(containerClient, hubName);
      for (const [p, c] of checkpoints) series.set(p, [...(series.get(p) ?? []), c.sequenceNumber]);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return series;
    },
  };
}

describe("ownership races (real SDK, emulator, Azurite)", () => {
  it("two greedy workers starting together on a never-owned hub do not both process a partition", async () => {
    const hub = await freshHub(8);
    const { containerName, containerClient } = await freshContainer();
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    const ledgers = [join(dir, "a.jsonl"), join(dir, "b.jsonl")];
    const [linesA, linesB]: [Line[], Line[]] = [[], []];
    const a = await startWorker(
      workerConfig(hub, containerName, "wa", ledgers[0] as string),
      capturingLogger(linesA),
    );
    const b = await startWorker(
      workerConfig(hub, containerName, "wb", ledgers[1] as string),
      capturingLogger(linesB),
    );
    const sender = steadySender(hub.connectionString, hub.hubName, PARTITIONS);
    cleanups.push(() => sender.stop());
    // Both first load-balancing loops see no ownership blob and claim every partition without an ETag.
    await Promise.all([a.start(), b.start()]);
    await waitFor(
      // Four each: until then partitions move by hand-over, and one in transit is in no status.
      () => {
        const ids = [a, b].flatMap((w) => w.status().partitions.map((p) => p.partitionId));
        const split = [a, b].every((w) => w.status().partitions.length === 4);
        return split && new Set(ids).size === 8;
      },
      { timeoutMs: 30_000, what: "every partition processed by exactly one worker, four each" },
    );
    // Let the split settle under traffic, then check it held.
    const settledAt = Date.now();
    await waitFor(async () => (await readLedger(ledgers[0] as string)).some((e) => e.t > settledAt + 3000), {
      timeoutMs: 20_000,
      what: "three more seconds of processing",
    });
    await sender.stop();
    const owners = await ownersOf(containerClient, hub.hubName);
    expect([...owners.keys()].sort()).toEqual(PARTITIONS);
    const statusIds = [a, b].flatMap((w) => w.status().partitions.map((p) => p.partitionId));
    expect(statusIds.sort()).toEqual(PARTITIONS);
    for (const w of [a, b]) {
      for (const p of w.status().partitions) expect(owners.get(p.partitionId)).toBe(w.ownerId);
    }
    const [la, lb] = [await readLedger(ledgers[0] as string), await readLedger(ledgers[1] as string)];
    for (const p of PARTITIONS) {
      expect(overlapMs(la, lb, p), `both processed partition ${p}`).toBeLessThanOrEqual(1500);
    }
    // No partition was won by both first loops: its ownership record was created exactly once,
    // by one of the two (a later claim by the other is a steal under the record's ETag).
    for (const p of PARTITIONS) {
      const creators = [linesA, linesB].filter((lines) =>
        lines.some((l) => l.msg === "ownership record created" && l.partitionId === p),
      );
      expect(creators.length, `ownership record of partition ${p} created by both workers`).toBe(1);
    }
  });

  it("refuses a stale owner's checkpoint after a steal and never moves the blob back", async () => {
    const { containerClient } = await freshContainer();
    const key = {
      fullyQualifiedNamespace: "127.0.0.1",
      eventHubName: uniqueName("hub"),
      consumerGroup: "$Default",
    };
    const lost: string[] = [];
    const guarded = (ownerId: string) =>
      new GuardedCheckpointStore(new BlobCheckpointStore(containerClient), {
        ownerId,
        records: new BlobPartitionRecords(containerClient),
        onLost: (partitionId) => lost.push(`${ownerId}:${partitionId}`),
      });
    const old = guarded("old");
    const thief = guarded("thief");
    const at = (sequenceNumber: number): Checkpoint => ({
      ...key,
      partitionId: "0",
      sequenceNumber,
      offset: `${sequenceNumber}`,
    });
    // Both claim the never-owned partition without an ETag, as the load balancer does: one wins.
    const claims = await Promise.all([
      old.claimOwnership([{ ...key, partitionId: "0", ownerId: "old" }]),
      thief.claimOwnership([{ ...key, partitionId: "0", ownerId: "thief" }]),
    ]);
    expect(claims.map((c) => c.length).sort()).toEqual([0, 1]);
    const [winner, loser] = claims[0]?.length === 1 ? [old, thief] : [thief, old];
    const loserId = winner === old ? "thief" : "old";
    await winner.updateCheckpoint(at(10));
    // The loser steals it the way the load balancer does: a claim under the listed ETag.
    const listed = await loser.listOwnership(
      key.fullyQualifiedNamespace,
      key.eventHubName,
      key.consumerGroup,
    );
    const stolen = await loser.claimOwnership([{ ...(listed[0] as (typeof listed)[0]), ownerId: loserId }]);
    expect(stolen).toHaveLength(1);
    await loser.updateCheckpoint(at(20));
    // The stale owner has not noticed yet: its write is refused, and it learns of the loss.
    const error = await winner.updateCheckpoint(at(30)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointRefusedError);
    expect(lost).toEqual([`${winner === old ? "old" : "thief"}:0`]);
    // The new owner cannot move it back either; what BlobCheckpointStore reads is unchanged.
    await loser.updateCheckpoint(at(15)).catch(() => undefined);
    const reader = new BlobCheckpointStore(containerClient);
    const [checkpoint] = await reader.listCheckpoints(
      key.fullyQualifiedNamespace,
      key.eventHubName,
      key.consumerGroup,
    );
    expect(checkpoint).toMatchObject({ partitionId: "0", sequenceNumber: 20, offset: "20" });
    const [ownership] = await reader.listOwnership(
      key.fullyQualifiedNamespace,
      key.eventHubName,
      key.consumerGroup,
    );
    expect(ownership?.ownerId).toBe(loserId);
  });

  it("keeps every checkpoint blob monotonic while a second worker steals half the partitions", async () => {
    const hub = await freshHub(8);
    const { containerName, containerClient } = await freshContainer();
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    const ledgers = [join(dir, "a.jsonl"), join(dir, "b.jsonl")];
    const sampler = checkpointSampler(containerClient, hub.hubName);
    cleanups.push(() => sampler.stop());
    const sender = steadySender(hub.connectionString, hub.hubName, PARTITIONS, 20);
    cleanups.push(() => sender.stop());
    const a = await startWorker(
      workerConfig(hub, containerName, "wa", ledgers[0] as string, { checkpointEvery: "3" }),
    );
    await a.start();
    await waitFor(() => a.status().partitions.length === 8, { timeoutMs: 30_000, what: "A on all eight" });
    await waitFor(async () => (await checkpointsOf(containerClient, hub.hubName)).size === 8, {
      timeoutMs: 20_000,
      what: "A's first checkpoints",
    });
    const b = await startWorker(
      workerConfig(hub, containerName, "wb", ledgers[1] as string, { checkpointEvery: "3" }),
    );
    await b.start();
    await waitFor(() => a.status().partitions.length === 4 && b.status().partitions.length === 4, {
      timeoutMs: 60_000,
      what: "four partitions each",
    });
    const rounds = await sender.stop();
    const all = async () => [
      ...(await readLedger(ledgers[0] as string)),
      ...(await readLedger(ledgers[1] as string)),
    ];
    await waitFor(async () => new Set((await all()).map((e) => e.id)).size === rounds * 8, {
      timeoutMs: 30_000,
      what: "every event processed",
    });
    await waitFor(
      async () => {
        const checkpoints = await checkpointsOf(containerClient, hub.hubName);
        return PARTITIONS.every((p) => checkpoints.get(p)?.sequenceNumber === rounds - 1);
      },
      { timeoutMs: 20_000, intervalMs: 200, what: "every checkpoint at the last event" },
    );
    const series = await sampler.stop();
    for (const p of PARTITIONS) {
      const values = series.get(p) ?? [];
      expect(values.length).toBeGreaterThan(10);
      const backwards = values.filter((v, i) => i > 0 && v < (values[i - 1] as number));
      expect(backwards, `partition ${p} moved backwards`).toEqual([]);
    }
  });
});

describe("hub restart", () => {
  let emulator: EmulatorProcess | undefined;
  afterEach(async () => {
    await emulator?.stop();
    emulator = undefined;
  });

  it("resumes processing within seconds, long before the ownership would expire", async () => {
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    const hubName = uniqueName("hub");
    emulator = await startEmulatorProcess({
      dataDir: join(dir, "hub-data"),
      hubs: [{ name: hubName, partitionCount: 4 }],
    });
    const hub = { hubName, connectionString: emulator.connectionString };
    const { containerName } = await freshContainer();
    const ledger = join(dir, "a.jsonl");
    // An expiry far beyond the test's bound: waiting for it would fail the test.
    const worker = await startWorker(
      workerConfig(hub, containerName, "wa", ledger, { ownershipExpirationMs: "60000", maxRetries: "2" }),
    );
    await worker.start();
    const send = async (tag: string) => {
      const producer = new EventHubProducerClient(hub.connectionString, hubName);
      try {
        for (const partitionId of ["0", "1", "2", "3"])
          await producer.sendBatch([{ body: tag, properties: { id: `${tag}-${partitionId}` } }], {
            partitionId,
          });
      } finally {
        await producer.close();
      }
    };
    await send("before");
    await waitFor(async () => (await readLedger(ledger)).length >= 4, {
      timeoutMs: 30_000,
      what: "events before",
    });
    // Down long enough for the SDK's retries to run out: each pump then closes with Shutdown.
    await emulator.stop();
    await waitFor(() => worker.status().partitions.length === 0, {
      timeoutMs: 30_000,
      what: "every pump closed while the hub is down",
    });
    await emulator.restart();
    const restartedAt = Date.now();
    await send("after");
    await waitFor(
      async () => (await readLedger(ledger)).filter((e) => String(e.id).startsWith("after-")).length === 4,
      { timeoutMs: 20_000, intervalMs: 200, what: "every partition processing again after the restart" },
    );
    expect(Date.now() - restartedAt).toBeLessThan(15_000);
    expect(
      worker
        .status()
        .partitions.map((p) => p.partitionId)
        .sort(),
    ).toEqual(["0", "1", "2", "3"]);
  });
});
