/**
 * Emulator throughput through the real SDK: ingest (several producers sending full batches) and
 * egress (one consumer reading the backlog of every partition), for 100-byte and 1 KiB bodies.
 * The emulator runs as its own process (`ehw hub`), so client and server do not share a core.
 *
 *   npx tsx bench/emulator-throughput.ts [--events N] [--producers N] [--partitions N]
 *
 * Target: >= 70k events/s ingest in batches (the emulator must not be the bottleneck).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { EventHubConsumerClient, EventHubProducerClient, earliestEventPosition } from "@azure/event-hubs";
import { startEmulatorProcess } from "../src/local/emulator-process.js";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "200000" },
    producers: { type: "string", default: "4" },
    partitions: { type: "string", default: "4" },
  },
});
const totalEvents = Number(values.events);
const producerCount = Number(values.producers);
const partitionCount = Number(values.partitions);
const retryOptions = { retryDelayInMs: 500, maxRetries: 3 };

interface Row {
  body: string;
  phase: string;
  events: number;
  seconds: number;
  eventsPerSec: number;
  mbPerSec: number;
  /** CPU seconds the emulator process spent in the phase. */
  emulatorCpuSec: number;
  /** Events per emulator CPU second: what the emulator could take if clients were not the limit. */
  emulatorCapacityPerSec: number;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function ingest(
  connectionString: string,
  hub: string,
  bodyBytes: number,
  events: number,
): Promise<number> {
  const body = Buffer.alloc(bodyBytes, 0x61);
  const perProducer = Math.ceil(events / producerCount);
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: producerCount }, async (_, p) => {
      const producer = new EventHubProducerClient(connectionString, hub, { retryOptions });
      try {
        let sent = 0;
        let partition = p % partitionCount;
        while (sent < perProducer) {
          const batch = await producer.createBatch({ partitionId: String(partition) });
          while (sent < perProducer && batch.tryAdd({ body })) sent++;
          await producer.sendBatch(batch);
          partition = (partition + 1) % partitionCount;
        }
      } finally {
        await producer.close();
      }
    }),
  );
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function egress(connectionString: string, hub: string, events: number): Promise<number> {
  const consumer = new EventHubConsumerClient("$Default", connectionString, hub, { retryOptions });
  let received = 0;
  const started = process.hrtime.bigint();
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const subscription = consumer.subscribe(
    {
      processEvents: async (batch) => {
        received += batch.length;
        if (received >= events) finish();
      },
      processError: async (err) => {
        process.stderr.write(
          `consumer error: ${err.name} ${(err as { code?: string }).code ?? ""} ${err.message}\n`,
        );
      },
    },
    {
      startPosition: earliestEventPosition,
      maxBatchSize: 1000,
      maxWaitTimeInSeconds: 1,
      prefetchCount: 3000,
    },
  );
  await done;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await subscription.close();
  await consumer.close();
  return seconds;
}

async function main(): Promise<void> {
  const emulator = await startEmulatorProcess({ logLevel: "warn" });
  const rows: Row[] = [];
  try {
    for (const bodyBytes of [100, 1024]) {
      const hub = `bench-${bodyBytes}-${Date.now().toString(36)}`;
      await emulator.createHub({ name: hub, partitionCount });
      const events = bodyBytes >= 1024 ? Math.floor(totalEvents / 2) : totalEvents;
      const sent = Math.ceil(events / producerCount) * producerCount;
      let cpu = cpuSeconds(emulator.pid);
      const ingestSeconds = await ingest(emulator.connectionString, hub, bodyBytes, events);
      const ingestCpu = cpuSeconds(emulator.pid) - cpu;
      rows.push(
        row(bodyBytes, `ingest (${producerCount} producers, full batches)`, sent, ingestSeconds, ingestCpu),
      );
      cpu = cpuSeconds(emulator.pid);
      const egressSeconds = await egress(emulator.connectionString, hub, sent);
      rows.push(
        row(bodyBytes, "egress (1 consumer, backlog)", sent, egressSeconds, cpuSeconds(emulator.pid) - cpu),
      );
    }
  } finally {
    await emulator.stop();
  }
  console.log(`emulator throughput — ${partitionCount} partitions, Node ${process.version}`);
  console.table(rows);
}

function row(bodyBytes: number, phase: string, events: number, seconds: number, emulatorCpuSec: number): Row {
  return {
    body: bodyBytes >= 1024 ? "1 KiB" : `${bodyBytes} B`,
    phase,
    events,
    seconds: Number(seconds.toFixed(2)),
    eventsPerSec: Math.round(events / seconds),
    mbPerSec: Number(((events * bodyBytes) / seconds / 1e6).toFixed(1)),
    emulatorCpuSec: Number(emulatorCpuSec.toFixed(2)),
    emulatorCapacityPerSec: emulatorCpuSec > 0 ? Math.round(events / emulatorCpuSec) : Number.NaN,
  };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
