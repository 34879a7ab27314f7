/**
 * What checkpoint storage calls cost the event loop, through the storage SDK against one Azurite
 * process: the conditional checkpoint update (Set Blob Metadata under the blob's ETag, as
 * BlobPartitionRecords writes every checkpoint but a partition's first) and the ownership read
 * (Get Blob Properties, what the guarded store reads at most once per ownershipCheckIntervalMs).
 * Several partitions call concurrently, each after its last call, as the guarded store does.
 * Reported per call: the event loop's busy time (event-loop utilisation, the figure that decides
 * how much CPU is left for receiving and handlers), the process's CPU, and the RSS after a
 * collection; and what the update costs per event at checkpointEvery 100 and 1000.
 *
 * Run: node --expose-gc --import tsx bench/checkpoint-writes.ts [--writes 4000] [--partitions 4]
 */
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import type { Checkpoint } from "@azure/event-hubs";
import { BlobPartitionRecords } from "../src/checkpoint/blob-records.js";
import { createContainerClient } from "../src/checkpoint/blob-store.js";
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

/** One partition's chain of calls: `count` of them, each after the last. */
type Chain = (partitionId: string, round: string, count: number) => Promise<void>;

const checkpointAt = (round: string, partitionId: string, sequenceNumber: number): Checkpoint => ({
  fullyQualifiedNamespace: `bench-${round}`,
  eventHubName: "hub",
  consumerGroup: "$default",
  partitionId,
  sequenceNumber,
  offset: String(sequenceNumber * 100),
});

/** Conditional checkpoint updates, each under the ETag of the one before. */
function updates(records: BlobPartitionRecords): Chain {
  return async (partitionId, round, count) => {
    let etag = await records.writeCheckpoint(checkpointAt(round, partitionId, 0), undefined);
    for (let i = 1; i < count; i += 1) {
      etag = await records.writeCheckpoint(checkpointAt(round, partitionId, i), etag);
      if (etag === undefined) throw new Error(`partition ${partitionId}: a conditional write lost`);
    }
  };
}

/** Reads of one checkpoint blob's properties, as the ownership read does. */
function reads(records: BlobPartitionRecords): Chain {
  return async (partitionId, round, count) => {
    const key = checkpointAt(round, partitionId, 0);
    await records.writeCheckpoint(key, undefined);
    for (let i = 0; i < count; i += 1) {
      if ((await records.readCheckpoint(key)) === undefined) throw new Error("the blob is gone");
    }
  };
}

async function runChains(chain: Chain, round: string, count: number): Promise<void> {
  await Promise.all(Array.from({ length: partitions }, (_, p) => chain(String(p), round, count)));
}

async function measure(mode: string, chain: Chain): Promise<Row> {
  // A warm-up round: JIT and connections are not what is measured.
  await runChains(chain, `${mode}-warm`, 100);
  const perChain = Math.ceil(writes / partitions);
  const loopBefore = performance.eventLoopUtilization();
  const cpuBefore = selfCpuSeconds();
  const startedAt = performance.now();
  await runChains(chain, mode, perChain);
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
    const records = new BlobPartitionRecords(containerClient);
    const rows = [
      await measure("checkpoint update", updates(records)),
      await measure("ownership read", reads(records)),
    ];
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
  const [update, read] = rows as [Row, Row];
  const perEventUs = (every: number) => round((update.loopMsPerWrite * 1000) / every, 2);
  console.log(
    `\nevent loop time of the checkpoint update per event: ${perEventUs(100)} µs at checkpointEvery 100, ${perEventUs(1000)} µs at 1000`,
  );
  printFigures("checkpoint-writes", {
    writes,
    partitions,
    updateLoopMsPerWrite: round(update.loopMsPerWrite, 3),
    updateCpuMsPerWrite: round(update.cpuMsPerWrite, 3),
    updateWritesPerSecond: Math.round(update.writes / update.wallSeconds),
    updateLoopUsPerEventAt100: perEventUs(100),
    updateLoopUsPerEventAt1000: perEventUs(1000),
    readLoopMsPerCall: round(read.loopMsPerWrite, 3),
    readCpuMsPerCall: round(read.cpuMsPerWrite, 3),
    rssMb: round(update.rssMb, 1),
    loadAverage1m: round(loadavg()[0] ?? 0, 2),
    cpus: availableParallelism(),
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
