/**
 * What a checkpoint write costs the event loop: the storage SDK called in this thread
 * (BlobPartitionRecords), the same records with the update made outside the SDK's pipeline
 * (MetadataWriter, the worker's default with a key or SAS connection string), and the checkpoint
 * thread (ThreadPartitionRecords), against one Azurite process. Several partitions write conditional checkpoints concurrently, each after the
 * last, as the guarded store does. Reported per write: the event loop's busy time (event-loop
 * utilisation, the figure that decides how much CPU is left for receiving and handlers), the
 * process's CPU (all threads), and the RSS after a collection.
 *
 * Run: node --expose-gc --import tsx bench/checkpoint-writes.ts [--writes 4000] [--partitions 4]
 */
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import type { Checkpoint } from "@azure/event-hubs";
import { BlobPartitionRecords, type PartitionRecords } from "../src/checkpoint/blob-records.js";
import { createContainerClient } from "../src/checkpoint/blob-store.js";
import { createMetadataWriter, metadataAuthFor } from "../src/checkpoint/metadata-writer.js";
import { ThreadPartitionRecords } from "../src/checkpoint/records-thread.js";
import type { StorageConfig } from "../src/config/worker.js";
import { startAzurite } from "../src/local/index.js";
import { wholeNumber } from "./lib/args.js";
import { selfCpuSeconds } from "./lib/cpu.js";
import { note, printFigures, printTable, round } from "./lib/report.js";

const { values } = parseArgs({
  options: {
    writes: { type: "string", default: "4000" },
    partitions: { type: "string", default: "4" },
  },
});

function positive(name: keyof typeof values): number {
  return wholeNumber(values[name], name);
}

const writes = positive("writes");
const partitions = positive("partitions");

interface Row {
  mode: string;
  writes: number;
  wallSeconds: number;
  loopMsPerWrite: number;
  cpuMsPerWrite: number;
  rssMb: number;
}

/** `count` conditional writes on each of `partitions` checkpoint blobs, each after the last. */
async function writeChains(records: PartitionRecords, round: string, count: number): Promise<void> {
  const chain = async (partitionId: string): Promise<void> => {
    const at = (sequenceNumber: number): Checkpoint => ({
      fullyQualifiedNamespace: `bench-${round}`,
      eventHubName: "hub",
      consumerGroup: "$default",
      partitionId,
      sequenceNumber,
      offset: String(sequenceNumber * 100),
    });
    let etag = await records.writeCheckpoint(at(0), undefined);
    for (let i = 1; i < count; i += 1) {
      etag = await records.writeCheckpoint(at(i), etag);
      if (etag === undefined) throw new Error(`partition ${partitionId}: a conditional write lost`);
    }
  };
  await Promise.all(Array.from({ length: partitions }, (_, p) => chain(String(p))));
}

async function measure(mode: string, records: PartitionRecords): Promise<Row> {
  // A warm-up round: JIT, connections, and the thread's start are not what is measured.
  await writeChains(records, `${mode}-warm`, 100);
  const perChain = Math.ceil(writes / partitions);
  const loopBefore = performance.eventLoopUtilization();
  const cpuBefore = selfCpuSeconds();
  const startedAt = performance.now();
  await writeChains(records, mode, perChain);
  const wallMs = performance.now() - startedAt;
  const loop = performance.eventLoopUtilization(loopBefore);
  const cpuMs = (selfCpuSeconds() - cpuBefore) * 1000;
  const total = perChain * partitions;
  globalThis.gc?.();
  return {
    mode,
    writes: total,
    wallSeconds: wallMs / 1000,
    loopMsPerWrite: loop.active / total,
    cpuMsPerWrite: cpuMs / total,
    rssMb: process.memoryUsage().rss / 1e6,
  };
}

async function main(): Promise<void> {
  const azurite = await startAzurite({});
  note(`azurite pid ${azurite.pid}`);
  try {
    const storage: StorageConfig = {
      connectionString: azurite.connectionString,
      accountUrl: undefined,
      containerName: "checkpoint-writes",
      createContainer: true,
    };
    const containerClient = createContainerClient(storage);
    await containerClient.createIfNotExists();
    const local = new BlobPartitionRecords(containerClient);
    const rows = [await measure("SDK, this thread", local)];
    const auth = metadataAuthFor(storage.connectionString);
    if (auth === undefined) throw new Error("Azurite's connection string has no account key");
    const writer = createMetadataWriter(auth);
    try {
      rows.push(
        await measure("plain request", new BlobPartitionRecords(containerClient, { metadataWriter: writer })),
      );
    } finally {
      writer.close();
    }
    const threaded = new ThreadPartitionRecords(storage, { fallback: local });
    try {
      rows.push(await measure("checkpoint thread", threaded));
    } finally {
      await threaded.close();
    }
    report(rows);
  } finally {
    await azurite.stop();
  }
}

function report(rows: Row[]): void {
  printTable(
    rows.map((r) => ({
      mode: r.mode,
      writes: r.writes,
      "writes/s": Math.round(r.writes / r.wallSeconds),
      "event loop ms/write": round(r.loopMsPerWrite, 3),
      "process CPU ms/write": round(r.cpuMsPerWrite, 3),
      "RSS MB": round(r.rssMb, 1),
    })),
  );
  const [local, plain, threaded] = rows as [Row, Row, Row];
  console.log(
    `\nevent loop time per write, against the SDK in this thread: plain request ${round(plain.loopMsPerWrite / local.loopMsPerWrite, 3)} ×, checkpoint thread ${round(threaded.loopMsPerWrite / local.loopMsPerWrite, 3)} ×`,
  );
  printFigures("checkpoint-writes", {
    writes,
    partitions,
    localLoopMsPerWrite: round(local.loopMsPerWrite, 3),
    threadLoopMsPerWrite: round(threaded.loopMsPerWrite, 3),
    threadVsLocalLoop: round(threaded.loopMsPerWrite / local.loopMsPerWrite, 3),
    plainLoopMsPerWrite: round(plain.loopMsPerWrite, 3),
    plainVsLocalLoop: round(plain.loopMsPerWrite / local.loopMsPerWrite, 3),
    plainCpuMsPerWrite: round(plain.cpuMsPerWrite, 3),
    localCpuMsPerWrite: round(local.cpuMsPerWrite, 3),
    threadCpuMsPerWrite: round(threaded.cpuMsPerWrite, 3),
    localWritesPerSecond: Math.round(local.writes / local.wallSeconds),
    threadWritesPerSecond: Math.round(threaded.writes / threaded.wallSeconds),
    localRssMb: round(local.rssMb, 1),
    threadRssMb: round(threaded.rssMb, 1),
    loadAverage1m: round(loadavg()[0] ?? 0, 2),
    cpus: availableParallelism(),
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
