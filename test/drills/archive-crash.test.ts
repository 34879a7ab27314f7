/**
 * Crash drill of the archive: events flow into a 4-partition hub while the archiving worker is
 * killed with SIGKILL mid-window three times (each time shortly after it committed more), and a
 * new worker takes over. Afterwards the archive holds every event the hub acknowledged exactly
 * once, in sequence order, and each partition still has one file: the restarted writers went on
 * with the file of the window they found instead of starting a second copy.
 */
import { EventHubProducerClient } from "@azure/event-hubs";
import { BlobServiceClient } from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import { readArchiveFiles } from "../helpers/archive.js";
import { testStack, uniqueName } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait-for.js";
import { archivedEventCount, archiveWorkerEnv, writeArchiveConfig } from "../integration/archive/support.js";
import { startWorker, useWorkerTests } from "../integration/worker/support.js";

const PARTITIONS = ["0", "1", "2", "3"];
const KILLS = 3;

/** Sends batches round the partitions until stopped; collects the ids the hub acknowledged. */
function startProducer(hubName: string): { acked: Set<string>; stop: () => Promise<void> } {
  const producer = new EventHubProducerClient(testStack().emulator.connectionString, hubName);
  const acked = new Set<string>();
  let running = true;
  const loop = (async () => {
    for (let round = 0; running; round += 1) {
      for (const partitionId of PARTITIONS) {
        const ids = Array.from({ length: 10 }, (_, i) => `${partitionId}-${round}-${i}`);
        await producer.sendBatch(
          ids.map((id) => ({ body: { id, pad: "x".repeat(200) }, properties: { id } })),
          { partitionId },
        );
        for (const id of ids) acked.add(id);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    acked,
    stop: async () => {
      running = false;
      await loop;
      await producer.close();
    },
  };
}

describe("archive crash drill", () => {
  const tests = useWorkerTests();

  it("holds every acknowledged event exactly once after three kill -9 mid-window", async () => {
    const { hubName, containerName, dir } = await tests.fresh(PARTITIONS.length);
    const archiveName = uniqueName("arch");
    const archive = BlobServiceClient.fromConnectionString(
      testStack().azurite.connectionString,
    ).getContainerClient(archiveName);
    const config = await writeArchiveConfig(dir, { container: archiveName, windowSeconds: 300 });
    const env = archiveWorkerEnv(hubName, containerName, {
      EHW_MAX_BATCH_SIZE: "25",
      EHW_STRATEGY: "greedy",
    });
    const producer = startProducer(hubName);
    try {
      for (let kill = 0; kill <= KILLS; kill += 1) {
        const worker = await startWorker(`archiver-${kill}`, env, ["--config", config]);
        tests.workers.push(worker);
        if (kill === KILLS) break;
        // Kill while it is committing: once it archived more, after a random few milliseconds more.
        const before = await archivedEventCount(archive).catch(() => 0);
        await waitFor(async () => (await archivedEventCount(archive).catch(() => 0)) > before + 200, {
          timeoutMs: 60_000,
          intervalMs: 100,
          what: `worker ${kill} archiving`,
        });
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 150)));
        await worker.child.kill();
      }
    } finally {
      await producer.stop();
    }
    const acked = producer.acked;
    let files = await readArchiveFiles(archive);
    await waitFor(
      async () => {
        files = await readArchiveFiles(archive);
        const ids = new Set([...files.values()].flat().map((r) => idOf(r)));
        return [...acked].every((id) => ids.has(id));
      },
      { timeoutMs: 90_000, intervalMs: 500, what: `all ${acked.size} acknowledged events in the archive` },
    );
    const all = [...files.values()].flat().map(idOf);
    expect(all.length).toBe(new Set(all).size);
    expect(new Set(all)).toEqual(acked);
    const byPartition = new Map<string, string[]>();
    for (const [name, records] of files) {
      const partitionId = name.split("/")[2] as string;
      byPartition.set(partitionId, [...(byPartition.get(partitionId) ?? []), name]);
      const seqs = records.map((r) => r.SequenceNumber);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    expect([...byPartition.keys()].sort()).toEqual(PARTITIONS);
    for (const names of byPartition.values()) expect(names).toHaveLength(1);
    // The restarted workers found committed files and events the hub delivered again.
    const logged = (msg: string) => tests.workers.slice(1).some((w) => w.logs.some((l) => l.msg === msg));
    expect(logged("archive state read back")).toBe(true);
    expect(logged("archived events skipped")).toBe(true);
  });
});

function idOf(record: Record<string, unknown>): string {
  const properties = record.Properties as Record<string, { string?: string }>;
  return String(properties.id?.string);
}
