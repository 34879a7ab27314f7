/**
 * One PartitionProcessor driven alone, for the overhead benchmarks (metrics, tracing): synthetic
 * events in batches of 100, a no-op handler, a checkpoint writer that stores nothing, no network.
 * What differs between two runs is only what the caller adds to the processor's options, so the
 * ratio of two runs is that addition's own cost per event.
 */
import type { ReceivedEventData } from "@azure/event-hubs";
import type { CheckpointWriter } from "../../src/checkpoint/guarded-store.js";
import { createPipeline } from "../../src/handlers/pipeline.js";
import { silentLogger } from "../../src/observability/logger.js";
import { PartitionProcessor } from "../../src/worker/partition/processor.js";
import type { PartitionProcessorOptions } from "../../src/worker/partition/types.js";
import { type Spread, spread } from "./stats.js";

/** Events per `enqueue`, as one receive batch. */
export const PROCESSOR_BATCH = 100;

/** Checkpoints go nowhere: the processor alone is measured, not storage. */
const NO_STORE: CheckpointWriter = { updateCheckpoint: async () => {}, markLost: () => {} };

/** Throughput (wall clock) and this process's CPU time per event (user + system). */
export interface Measured {
  readonly rate: number;
  readonly cpuUsPerEvent: number;
}

/** What a run adds to the processor: options (observer, tracer), and work alongside it. */
export interface ProcessorAddition {
  /** Spread into the processor's options; keys left out are absent, as before they existed. */
  readonly options?: Partial<PartitionProcessorOptions>;
  /** Started with the run (e.g. a scrape every second); returns its stop. */
  readonly alongside?: () => () => void;
}

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

/** Drains `total` events through one processor with `addition`; throws unless all were processed. */
export async function drainProcessor(total: number, addition: ProcessorAddition = {}): Promise<Measured> {
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
      maxBatchSize: PROCESSOR_BATCH,
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
    ...addition.options,
  });
  // The previous run's garbage (a traced run leaves many spans) is collected first, so that it
  // does not count against whichever configuration runs next (bench/run.ts passes --expose-gc).
  (globalThis as { gc?: () => void }).gc?.();
  const stopAlongside = addition.alongside?.();
  const startedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  for (let seq = 0; seq < total; seq += PROCESSOR_BATCH) {
    const batch = Array.from({ length: Math.min(PROCESSOR_BATCH, total - seq) }, (_, i) => event(seq + i));
    await processor.enqueue(batch, total - 1);
  }
  await processor.close("Shutdown");
  const seconds = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  stopAlongside?.();
  const { processed } = processor.status();
  if (processed !== total) throw new Error(`processed ${processed} of ${total}`);
  return { rate: total / seconds, cpuUsPerEvent: (cpu.user + cpu.system) / total };
}

/** `12345 events/s, 1.23 µs CPU/event`. */
export function describeMeasured(m: Measured): string {
  return `${m.rate.toFixed(0)} events/s, ${m.cpuUsPerEvent.toFixed(2)} µs CPU/event`;
}

/** The spread over rounds of the paired ratios `variant / baseline` of throughput and CPU per event. */
export interface PairedRatios {
  readonly rate: Spread;
  readonly cpu: Spread;
}

/** Ratios of runs paired by round (the same round ran both, so drift of the machine hits both alike). */
export function pairedRatios(
  pairs: ReadonlyArray<readonly [baseline: Measured, variant: Measured]>,
): PairedRatios {
  return {
    rate: spread(pairs.map(([base, other]) => other.rate / base.rate)),
    cpu: spread(pairs.map(([base, other]) => other.cpuUsPerEvent / base.cpuUsPerEvent)),
  };
}

/** `1.003 (0.981–1.022)`: a ratio's median and its range over rounds. */
export function describeSpread(s: Spread): string {
  return `${s.median.toFixed(3)} (${s.min.toFixed(3)}–${s.max.toFixed(3)})`;
}
