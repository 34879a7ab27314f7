/**
 * Cost of metrics on throughput: the same backlog drained by an in-process worker with a no-op
 * handler, once with metrics off (no observer) and once with metrics on (observer, server, and a
 * `/metrics` scrape every second). Each run reads the whole hub from the start into its own blob
 * container, so both see the same events. Starts its own Azurite and emulator on free ports and
 * stops them by PID at the end. Runs alternate off/on so drift in the machine hits both alike.
 *
 * Run: npx tsx bench/metrics-overhead.ts [events=20000] [partitions=4] [rounds=3] [processorRounds=7]
 *
 * Reports, per run, events per second and this process's CPU time per event, then the medians of
 * the on/off ratios of both (target: cost ≤ 5%). The end-to-end figure is bounded by the emulator
 * and storage sharing the machine, so the bench also drives one PartitionProcessor alone
 * (bench/lib/processor-bench.ts, scraping the registry every second when on): there the observer's
 * own cost per event is all that differs. On a shared machine wall-clock throughput swings with
 * other load by more than the effect; CPU per event is the steadier figure.
 */
import { fileURLToPath } from "node:url";
import { EventHubProducerClient } from "@azure/event-hubs";
import { BlobServiceClient } from "@azure/storage-blob";
import { createWorker } from "../src/app/worker-app.js";
import { compileWorkerConfig, type RawSetting, type RawWorkerOptions } from "../src/config/worker.js";
import { createEmulatorHub, type LocalStack, startLocalStack } from "../src/local/index.js";
import { silentLogger } from "../src/observability/logger.js";
import { WorkerMetrics } from "../src/ops/metrics.js";
import { startWorkerObservability } from "../src/ops/worker-observability.js";
import { describeMeasured, drainProcessor, type Measured } from "./lib/processor-bench.js";
import { median } from "./lib/stats.js";

const args = process.argv.slice(2);
const EVENTS = Number(args[0] ?? 20_000);
const PARTITIONS = Number(args[1] ?? 4);
const ROUNDS = Number(args[2] ?? 3);
const NOOP_HANDLER = fileURLToPath(new URL("../test/fixtures/handlers/event-only.mjs", import.meta.url));
const PROCESSOR_ROUNDS = Number(args[3] ?? 7);
const PROCESSOR_EVENTS = 200_000;
const HUB = `bench-metrics-${Date.now().toString(36)}`;

function raw(values: Record<string, string>): RawWorkerOptions {
  const out: Record<string, RawSetting> = {};
  for (const [key, value] of Object.entries(values))
    out[key] = { value, source: { kind: "flag", name: key } };
  return out as RawWorkerOptions;
}

async function sendBacklog(connectionString: string): Promise<void> {
  const producer = new EventHubProducerClient(connectionString, HUB);
  try {
    const perPartition = Math.ceil(EVENTS / PARTITIONS);
    for (let p = 0; p < PARTITIONS; p++) {
      let sent = 0;
      while (sent < perPartition) {
        const batch = await producer.createBatch({ partitionId: String(p) });
        while (
          sent < perPartition &&
          batch.tryAdd({ body: { p, n: sent }, properties: { id: `${p}-${sent}` } })
        ) {
          sent++;
        }
        await producer.sendBatch(batch);
      }
    }
  } finally {
    await producer.close();
  }
}

/** Drains the hub once; returns events per second from start() to the last processed event. */
async function run(stack: LocalStack, label: string, metricsOn: boolean): Promise<Measured> {
  const containerName = `${label}-${Date.now().toString(36)}`;
  await BlobServiceClient.fromConnectionString(stack.azurite.connectionString)
    .getContainerClient(containerName)
    .create();
  const config = compileWorkerConfig(
    raw({
      eventHubConnectionString: stack.emulator.connectionString,
      eventHubName: HUB,
      storageConnectionString: stack.azurite.connectionString,
      containerName,
      handler: NOOP_HANDLER,
      strategy: "greedy",
      ordering: "none",
      concurrency: "64",
      maxWaitTimeMs: "200",
      metricsPort: metricsOn ? "0" : "off",
    }),
    { baseDir: process.cwd() },
  );
  const observability = await startWorkerObservability({
    config: config.observability,
    logger: silentLogger(),
  });
  const worker = createWorker(config, { logger: silentLogger(), observer: observability.metrics });
  observability.attach(worker);
  let scrapes = 0;
  const scraper =
    observability.server === undefined
      ? undefined
      : setInterval(() => {
          void fetch(`${observability.server?.url}/metrics`)
            .then((res) => res.text())
            .then(() => {
              scrapes++;
            });
        }, 1000);
  const startedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  await worker.start();
  const processed = (): number => worker.status().partitions.reduce((n, p) => n + p.processed, 0);
  const total = Math.ceil(EVENTS / PARTITIONS) * PARTITIONS;
  while (processed() < total) await new Promise((resolve) => setTimeout(resolve, 20));
  const seconds = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  if (scraper !== undefined) clearInterval(scraper);
  await worker.stop({ deadlineMs: 5000 });
  await observability.close();
  const measured = { rate: total / seconds, cpuUsPerEvent: (cpu.user + cpu.system) / total };
  console.log(
    `${label.padEnd(12)} ${total} events in ${seconds.toFixed(2)} s: ${describeMeasured(measured)}${metricsOn ? ` (${scrapes} scrapes)` : ""}`,
  );
  return measured;
}

/** The processor alone; with `metrics`, observed and its registry scraped every second. */
function processorOnly(total: number, metrics: WorkerMetrics | undefined): Promise<Measured> {
  if (metrics === undefined) return drainProcessor(total);
  return drainProcessor(total, {
    options: { observer: metrics.partitionClaimed("0") },
    alongside: () => {
      const scraper = setInterval(() => void metrics.text(), 1000);
      return () => clearInterval(scraper);
    },
  });
}

/**
 * Prints the medians of the on/off ratios (runs alternate, so the median resists machine noise):
 * throughput on/off, and CPU per event on/off. On a shared machine wall-clock throughput swings
 * with other load; CPU per event of this process is the steadier measure of what metrics cost.
 */
function report(what: string, pairs: ReadonlyArray<readonly [Measured, Measured]>): void {
  const rate = median(pairs.map(([off, on]) => on.rate / off.rate));
  const cpu = median(pairs.map(([off, on]) => on.cpuUsPerEvent / off.cpuUsPerEvent));
  console.log(
    `${what}: throughput on/off ${rate.toFixed(3)} (cost ${((1 - rate) * 100).toFixed(1)}%), CPU per event on/off ${cpu.toFixed(3)} (cost ${((cpu - 1) * 100).toFixed(1)}%); target ≤ 5%`,
  );
}

async function main(): Promise<void> {
  const stack = await startLocalStack();
  try {
    await createEmulatorHub(stack.emulator.adminUrl, { name: HUB, partitionCount: PARTITIONS });
    await sendBacklog(stack.emulator.connectionString);
    console.log(`backlog: ${EVENTS} events on ${PARTITIONS} partitions; no-op handler; ${ROUNDS} round(s)`);
    // One unreported run first: the first drain also pays for JIT warm-up and first connections.
    await run(stack, "warm-up", false);
    const pairs: Array<[Measured, Measured]> = [];
    for (let round = 1; round <= ROUNDS; round++) {
      pairs.push([await run(stack, `off-r${round}`, false), await run(stack, `on-r${round}`, true)]);
    }
    report("worker end to end", pairs);
    await processorOnly(PROCESSOR_EVENTS, undefined);
    await processorOnly(PROCESSOR_EVENTS, new WorkerMetrics());
    const processorPairs: Array<[Measured, Measured]> = [];
    for (let round = 1; round <= PROCESSOR_ROUNDS; round++) {
      const off = await processorOnly(PROCESSOR_EVENTS, undefined);
      const on = await processorOnly(PROCESSOR_EVENTS, new WorkerMetrics());
      console.log(`processor-r${round} off ${describeMeasured(off)}; on ${describeMeasured(on)}`);
      processorPairs.push([off, on]);
    }
    report("processor alone", processorPairs);
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
