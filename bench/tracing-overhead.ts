/**
 * Cost of the tracing code path on one PartitionProcessor (no network, a checkpoint writer that
 * stores nothing, a no-op handler), in three configurations run alternately:
 * - off: no tracer, as `--tracing off` builds the worker (the attempt path does not touch tracing);
 * - api: a tracer over the OpenTelemetry API with no SDK registered (every span non-recording):
 *   the whole tracing code path per attempt, nothing exported — an upper bound on what off could
 *   cost if the hook were not skipped;
 * - sdk: the real SDK with a span processor that drops spans (what `--tracing otlp` costs before
 *   the exporter's own work).
 *
 * Run: npx tsx bench/tracing-overhead.ts [events=200000] [rounds=7]
 *
 * Reports per round events per second and CPU time per event, then the medians of the api/off and
 * sdk/off ratios. CPU per event is the steadier figure on a shared machine.
 */
import type { ReceivedEventData } from "@azure/event-hubs";
import { trace } from "@opentelemetry/api";
import type { CheckpointWriter } from "../src/checkpoint/guarded-store.js";
import { createPipeline } from "../src/handlers/pipeline.js";
import { silentLogger } from "../src/observability/logger.js";
import { type AttemptTracer, createAttemptTracer } from "../src/observability/tracing.js";
import { startTracingSdk } from "../src/observability/tracing-sdk.js";
import { PartitionProcessor } from "../src/worker/partition/processor.js";

const args = process.argv.slice(2);
const EVENTS = Number(args[0] ?? 200_000);
const ROUNDS = Number(args[1] ?? 7);
const BATCH = 100;

const NO_STORE: CheckpointWriter = { updateCheckpoint: async () => {}, markLost: () => {} };

function event(sequenceNumber: number): ReceivedEventData {
  return {
    body: { n: sequenceNumber },
    properties: { id: String(sequenceNumber) },
    enqueuedTimeUtc: new Date(),
    partitionKey: null,
    offset: String(sequenceNumber),
    sequenceNumber,
    getRawAmqpMessage: () => {
      throw new Error("not available");
    },
  };
}

interface Measured {
  readonly rate: number;
  readonly cpuUsPerEvent: number;
}

async function processorOnly(total: number, tracer: AttemptTracer | undefined): Promise<Measured> {
  const pipeline = createPipeline("default", [{ name: "noop", handler: { handle: async () => {} } }]);
  const processor = new PartitionProcessor({
    identity: {
      fullyQualifiedNamespace: "ns",
      eventHubName: "hub",
      consumerGroup: "$Default",
      partitionId: "0",
    },
    processing: {
      ordering: "none",
      concurrency: 64,
      maxBatchSize: BATCH,
      maxAttempts: 3,
      retryBaseDelayMs: 1,
      retryMaxDelayMs: 2,
      handlerTimeoutMs: 0,
      checkpointEvery: 100,
      checkpointIntervalMs: 5000,
    },
    registry: { route: () => pipeline },
    store: NO_STORE,
    failureHandler: { onExhausted: async () => "stop" },
    logger: silentLogger(),
    drainTimeoutMs: 5000,
    ...(tracer === undefined ? {} : { tracer }),
  });
  const startedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  for (let seq = 0; seq < total; seq += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, total - seq) }, (_, i) => event(seq + i));
    await processor.enqueue(batch, total - 1);
  }
  await processor.close("Shutdown");
  const seconds = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  if (processor.status().processed !== total)
    throw new Error(`processed ${processor.status().processed} of ${total}`);
  return { rate: total / seconds, cpuUsPerEvent: (cpu.user + cpu.system) / total };
}

function describe(m: Measured): string {
  return `${m.rate.toFixed(0)} events/s, ${m.cpuUsPerEvent.toFixed(2)} µs CPU/event`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function ratios(what: string, pairs: ReadonlyArray<readonly [Measured, Measured]>): void {
  const rate = median(pairs.map(([off, on]) => on.rate / off.rate));
  const cpu = median(pairs.map(([off, on]) => on.cpuUsPerEvent / off.cpuUsPerEvent));
  console.log(`${what}: throughput ${rate.toFixed(3)}, CPU per event ${cpu.toFixed(3)}`);
}

async function main(): Promise<void> {
  // Before any SDK is registered the API's tracer is the no-op one: spans are non-recording.
  const apiOnly = createAttemptTracer({ tracer: trace.getTracer("bench") });
  const drop = {
    export: (_spans: unknown, done: (r: { code: number }) => void) => done({ code: 0 }),
    shutdown: async () => {},
  };
  console.log(`${EVENTS} events per run, batches of ${BATCH}, no-op handler, ${ROUNDS} rounds`);
  await processorOnly(EVENTS, undefined);
  await processorOnly(EVENTS, apiOnly);
  const apiPairs: Array<[Measured, Measured]> = [];
  const offs: Measured[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const off = await processorOnly(EVENTS, undefined);
    const api = await processorOnly(EVENTS, apiOnly);
    console.log(`r${round} off ${describe(off)}; api ${describe(api)}`);
    offs.push(off);
    apiPairs.push([off, api]);
  }
  ratios("api/off (tracing code path, nothing recorded)", apiPairs);
  const sdk = await startTracingSdk({
    serviceName: "bench",
    tracesUrl: "http://127.0.0.1:1/v1/traces",
    headers: {},
    sampler: "always_on",
    samplerRatio: 1,
    azureSdk: false,
    exporter: drop,
  });
  const withSdk = createAttemptTracer({ tracer: sdk.tracer });
  const sdkPairs: Array<[Measured, Measured]> = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const off = await processorOnly(EVENTS, undefined);
    const on = await processorOnly(EVENTS, withSdk);
    console.log(`r${round} off ${describe(off)}; sdk ${describe(on)}`);
    sdkPairs.push([off, on]);
  }
  ratios("sdk/off (every attempt recorded, export dropped)", sdkPairs);
  await sdk.shutdown();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
