import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createWorker } from "../../../src/app/worker-app.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { freshContainer, freshHub } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";
import { checkpointsOf, readLedger, sendToPartitions, stackWorkerConfig, tempDir } from "./support.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Longer than the whole wait below: a checkpoint the interval wrote would come too late. */
const INTERVAL_MS = 120_000;
const PER_PARTITION = 35;

describe("Worker on a backlog", () => {
  it("checkpoints each partition's last partial batch without waiting for the interval", async () => {
    const partitionIds = ["0", "1"];
    const { hubName } = await freshHub(partitionIds.length);
    const { containerName, containerClient } = await freshContainer();
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    const ledger = join(dir, "ledger.jsonl");
    // The backlog is there before the worker starts: batches of 10, 10, 10, then 5.
    await sendToPartitions(hubName, partitionIds, PER_PARTITION);
    const config = stackWorkerConfig(hubName, containerName, {
      maxBatchSize: "10",
      prefetchCount: "30",
      checkpointEvery: "1000",
      checkpointIntervalMs: String(INTERVAL_MS),
      handler: "ledger",
      ledgerFile: ledger,
    });
    const worker = createWorker(config, { logger: silentLogger() });
    cleanups.push(() => worker.stop({ deadlineMs: 2000 }));
    await worker.start();

    const last = PER_PARTITION - 1;
    await waitFor(
      async () => {
        const checkpoints = await checkpointsOf(containerClient, hubName);
        return partitionIds.every((p) => checkpoints.get(p)?.sequenceNumber === last);
      },
      { timeoutMs: 30_000, what: `every partition checkpointed at sequence number ${last}` },
    );
    // Still running: the checkpoints are not the final ones of a stop.
    expect(worker.state).toBe("running");
    const entries = await readLedger(ledger);
    expect(new Set(entries.map((e) => e.id)).size).toBe(PER_PARTITION * partitionIds.length);
  });
});
