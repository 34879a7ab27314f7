import { join } from "node:path";
import { EventHubConsumerClient, EventHubProducerClient } from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import type { ContainerClient } from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import { testStack } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";
import { sampleValue } from "../../unit/ops/exposition.js";
import {
  ledgerWorkerEnv,
  ownersOf,
  readLedger,
  sendToPartitions,
  startWorker,
  useWorkerTests,
  type WorkerProcess,
  waitForIds,
} from "./support.js";

const tests = useWorkerTests();
const { workers, cleanups } = tests;

/** A short drain, so that the fallback bound (2 × 1 s loop + drain) is 5 s. */
const HANDOVER_TIMING = { EHW_HANDOVER_DRAIN_TIMEOUT_MS: "3000", EHW_METRICS_PORT: "0" };

/** Sends one small batch to every partition every 100 ms until stopped; ids `<p>-s<n>`. */
function steadySender(hubName: string, partitionIds: readonly string[]) {
  const producer = new EventHubProducerClient(testStack().emulator.connectionString, hubName);
  let sent = 0;
  let stopped = false;
  const loop = (async () => {
    for (let n = 0; !stopped; n += 1) {
      for (const partitionId of partitionIds) {
        await producer.sendBatch([{ body: { n }, properties: { id: `${partitionId}-s${n}` } }], {
          partitionId,
        });
        sent += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      await producer.close();
      return sent;
    },
  };
}

async function metricsText(worker: WorkerProcess): Promise<string> {
  const listening = worker.logs.find((l) => l.msg === "metrics and health endpoints listening");
  const response = await fetch(`${String(listening?.url)}/metrics`);
  return response.text();
}

async function handoverBlobs(containerClient: ContainerClient, hubName: string): Promise<string[]> {
  const names: string[] = [];
  const prefix = `127.0.0.1/${hubName}/$default/handover/`;
  for await (const blob of containerClient.listBlobsFlat({ prefix })) names.push(blob.name);
  return names;
}

function count(owners: Map<string, string>, ownerId: string): number {
  return [...owners.values()].filter((o) => o === ownerId).length;
}

/** Every ledger id once: no event lost, none processed twice. */
async function expectEachIdOnce(files: readonly string[], expected: number): Promise<void> {
  const entries = (await Promise.all(files.map((f) => readLedger(f)))).flat();
  const ids = entries.map((e) => String(e.id));
  expect(new Set(ids).size).toBe(expected);
  expect(ids.length).toBe(expected);
}

describe("cooperative hand-over", () => {
  it("moves partitions to a third worker by hand-over, under load, with no duplicate", async () => {
    const { hubName, containerName, containerClient, dir } = await tests.fresh(6);
    const partitions = ["0", "1", "2", "3", "4", "5"];
    const files = ["a", "b", "c"].map((n) => join(dir, `${n}.jsonl`));
    const env = (file: string) => ledgerWorkerEnv(hubName, containerName, file, HANDOVER_TIMING);
    const [a, b] = await Promise.all([
      startWorker("worker-a", env(files[0]!)),
      startWorker("worker-b", env(files[1]!)),
    ]);
    workers.push(a, b);
    await waitFor(
      async () => {
        const owners = await ownersOf(containerClient, hubName);
        return count(owners, a.ownerId) === 3 && count(owners, b.ownerId) === 3;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: "three partitions each" },
    );
    await sendToPartitions(hubName, partitions, 20);
    await waitForIds(files, 120);

    const sender = steadySender(hubName, partitions);
    const c = await startWorker("worker-c", env(files[2]!));
    workers.push(c);
    await waitFor(
      async () => {
        const owners = await ownersOf(containerClient, hubName);
        return [a, b, c].every((w) => count(owners, w.ownerId) === 2);
      },
      { timeoutMs: 60_000, intervalMs: 250, what: "two partitions each" },
    );
    await waitFor(() => c.held().size === 2, { timeoutMs: 20_000, what: "C receiving its two" });
    const sent = await sender.stop();
    await waitForIds(files, 120 + sent);
    await expectEachIdOnce(files, 120 + sent);

    // C got both by hand-over: asked, received; A and B handed them over; no steal.
    const received = c.logs.filter((l) => l.msg === "partition received by hand-over");
    expect(received).toHaveLength(2);
    expect(c.logs.filter((l) => l.msg === "partition claimed").map((l) => l.via)).toEqual([
      "handover",
      "handover",
    ]);
    // (A and B may also have settled their own split by hand-over when they started together.)
    const handedOver = [...a.logs, ...b.logs].filter(
      (l) => l.msg === "partition handed over" && l.to === c.ownerId,
    );
    // A loaded machine may delay C's claim past the giver's cooldown; the giver then takes the
    // partition back and C asks again: more hand-overs to C than it holds, still none stolen.
    const givenToC = new Set(handedOver.map((l) => l.partitionId));
    for (const p of c.held()) expect(givenToC.has(p)).toBe(true);
    for (const w of [a, b, c]) {
      expect(w.logs.some((l) => l.msg === "hand-over not answered; stealing the partition")).toBe(false);
      expect(w.logs.some((l) => l.msg === "partition lost to another worker")).toBe(false);
    }
    const cMetrics = await metricsText(c);
    expect(sampleValue(cMetrics, "ehw_handovers_total", { outcome: "completed" })).toBe(2);
    expect(sampleValue(cMetrics, "ehw_handovers_total", { outcome: "fell_back" })).toBe(0);
    expect(sampleValue(cMetrics, "ehw_handovers_total", { outcome: "requested" })).toBeGreaterThanOrEqual(2);
    const pauses = [...c.held()].map((p) =>
      sampleValue(cMetrics, "ehw_handover_pause_seconds_count", { partition: p }),
    );
    expect(pauses).toEqual([1, 1]);
    const givers = await Promise.all([a, b].map(metricsText));
    const given = givers.map((t) => sampleValue(t, "ehw_handovers_total", { outcome: "handed_over" }) ?? 0);
    const handedOverInAll = [...a.logs, ...b.logs].filter((l) => l.msg === "partition handed over").length;
    expect(given.reduce((x, y) => x + y, 0)).toBe(handedOverInAll);
    await waitFor(async () => (await handoverBlobs(containerClient, hubName)).length === 0, {
      timeoutMs: 20_000,
      what: "every request blob deleted",
    });
  });

  it("falls back to a steal when the owner is a plain SDK processor that never answers", async () => {
    const { hubName, containerName, containerClient, dir } = await tests.fresh(4);
    const partitions = ["0", "1", "2", "3"];
    const plainSeen: string[] = [];
    const plain = new EventHubConsumerClient(
      "$Default",
      testStack().emulator.connectionString,
      hubName,
      new BlobCheckpointStore(containerClient),
      {
        identifier: "plain-sdk",
        loadBalancingOptions: {
          strategy: "greedy",
          updateIntervalInMs: 1000,
          partitionOwnershipExpirationIntervalInMs: 4000,
        },
        retryOptions: { retryDelayInMs: 200, maxRetryDelayInMs: 1000 },
      },
    );
    const subscription = plain.subscribe(
      {
        processEvents: async (events, context) => {
          for (const e of events) plainSeen.push(String(e.properties?.id));
          const last = events.at(-1);
          if (last !== undefined) await context.updateCheckpoint(last);
        },
        processError: async () => {},
      },
      { startPosition: { offset: "@latest" }, maxWaitTimeInSeconds: 0.2 },
    );
    cleanups.unshift(async () => {
      await subscription.close();
      await plain.close();
    });
    await waitFor(async () => count(await ownersOf(containerClient, hubName), "plain-sdk") === 4, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: "the plain processor owning all four",
    });

    const file = join(dir, "w.jsonl");
    const w = await startWorker("worker-w", ledgerWorkerEnv(hubName, containerName, file, HANDOVER_TIMING));
    workers.push(w);
    const askedAt = Date.now();
    await waitFor(async () => count(await ownersOf(containerClient, hubName), w.ownerId) === 2, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: "the worker owning two",
    });
    // Asked first, then stole after the bound (2 × 1 s + 3 s drain).
    expect(Date.now() - askedAt).toBeGreaterThanOrEqual(5000);
    expect(
      w.logs.some(
        (l) => l.msg === "hand-over requested: the load balancer wants a partition a live worker owns",
      ),
    ).toBe(true);
    const stolen = w.logs.filter((l) => l.msg === "hand-over not answered; stealing the partition");
    expect(stolen.length).toBeGreaterThanOrEqual(1);
    expect(stolen.every((l) => l.owner === "plain-sdk")).toBe(true);
    expect(w.logs.filter((l) => l.msg === "partition claimed").every((l) => l.via === "steal")).toBe(true);
    expect(sampleValue(await metricsText(w), "ehw_handovers_total", { outcome: "fell_back" })).toBe(2);

    // Both go on processing their partitions; no request blob is left behind.
    await waitFor(() => w.held().size === 2, { timeoutMs: 20_000, what: "the worker receiving" });
    await sendToPartitions(hubName, partitions, 10);
    await waitFor(
      async () => {
        const ids = new Set([...plainSeen, ...(await readLedger(file)).map((e) => String(e.id))]);
        return ids.size === 40;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: "every event processed by one or the other" },
    );
    await waitFor(async () => (await handoverBlobs(containerClient, hubName)).length === 0, {
      timeoutMs: 20_000,
      what: "every request blob deleted",
    });
  });

  it("scale-in by SIGTERM: the peer takes the partitions on its next loop, long before expiry, with no duplicate", async () => {
    const { hubName, containerName, containerClient, dir } = await tests.fresh(4);
    const partitions = ["0", "1", "2", "3"];
    const files = ["a", "b"].map((n) => join(dir, `${n}.jsonl`));
    // Expiry 30 s: a take-over by expiry would take far longer than the wait below allows.
    const env = (file: string) =>
      ledgerWorkerEnv(hubName, containerName, file, {
        ...HANDOVER_TIMING,
        EHW_STRATEGY: "greedy",
        EHW_OWNERSHIP_EXPIRATION_MS: "30000",
      });
    const a = await startWorker("worker-a", env(files[0]!));
    workers.push(a);
    await waitFor(() => a.held().size === 4, { timeoutMs: 30_000, what: "A owning all four" });
    const b = await startWorker("worker-b", env(files[1]!));
    workers.push(b);
    await waitFor(
      async () => {
        const owners = await ownersOf(containerClient, hubName);
        return count(owners, a.ownerId) === 2 && count(owners, b.ownerId) === 2;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: "two partitions each" },
    );
    await waitFor(() => b.held().size === 2, { timeoutMs: 20_000, what: "B receiving two" });

    const sender = steadySender(hubName, partitions);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const exit = await a.child.stop({ timeoutMs: 30_000 });
    const exitedAt = Date.now();
    expect(exit.code).toBe(0);
    await waitFor(() => b.held().size === 4, { timeoutMs: 10_000, what: "B owning all four" });
    expect(Date.now() - exitedAt).toBeLessThan(10_000);
    const sent = await sender.stop();
    await waitForIds(files, sent);
    await expectEachIdOnce(files, sent);
    const claims = b.logs.filter((l) => l.msg === "partition claimed").map((l) => l.via);
    expect(claims.slice(2)).toEqual(["released", "released"]);
  });
});
