/**
 * The reference consumers the worker is measured against, all on the plain SDK:
 * - the ceiling: `subscribe` to every partition without a checkpoint store, a no-op handler;
 * - the common hand-written pattern: `subscribe` with a BlobCheckpointStore and
 *   `context.updateCheckpoint(event)` after every event;
 * - a hand-written loop with bounded concurrency and no checkpoints, for slow handlers;
 * - the same bound as the SDK's samples write it: a batch at a time, a checkpoint after each.
 */
import {
  type CheckpointStore,
  EventHubConsumerClient,
  earliestEventPosition,
  type SubscriptionEventHandlers,
} from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import { ContainerClient } from "@azure/storage-blob";
import { type CpuUsage, type CpuWindow, startCpuWindow } from "./cpu.js";
import { Meter, waitForCount } from "./meter.js";
import { note } from "./report.js";
import type { BenchStack } from "./stack.js";

/** Receive settings every scenario of one benchmark shares, so that they compare like with like. */
export interface ReceiveSettings {
  /** Events per `processEvents` call. */
  maxBatchSize: number;
  /** Events prefetched per partition receiver. */
  prefetchCount: number;
  /** Load-balancing loop interval with a checkpoint store, ms. */
  updateIntervalMs: number;
}

/** What one scenario measured. */
export interface ScenarioResult {
  scenario: string;
  events: number;
  /** Seconds from the first event to the last. */
  seconds: number;
  eventsPerSecond: number;
  /** Milliseconds from start to the first event. */
  startupMs: number | undefined;
  /** Whether the time cap ended the run before the backlog was drained. */
  capped: boolean;
  /** CPU of the consumer (this process), the emulator and Azurite over the run. */
  cpu: CpuUsage;
  /** Events per CPU-second of the consumer process: steady under a neighbour's load. */
  eventsPerConsumerCpuSecond: number;
}

/** Options of one consumption run. */
export interface ConsumeOptions {
  /** Events to wait for (the backlog). */
  target: number;
  /** Longest run, ms; a capped run reports the rate it reached. */
  capMs: number;
}

/** Starts a CPU window over this process and the stack's emulator and Azurite. */
export function stackCpuWindow(stack: BenchStack): CpuWindow {
  return startCpuWindow({ emulator: stack.local.emulator.pid, azurite: stack.local.azurite.pid });
}

/** Turns a finished meter (and the CPU window of the run) into a result. */
export function resultOf(scenario: string, meter: Meter, target: number, cpu: CpuUsage): ScenarioResult {
  const consumerCpu = cpu.seconds.self ?? 0;
  return {
    cpu,
    eventsPerConsumerCpuSecond: consumerCpu > 0 ? meter.count / consumerCpu : 0,
    scenario,
    events: meter.count,
    seconds: meter.activeSeconds(),
    eventsPerSecond: meter.eventsPerSecond(),
    startupMs: meter.startupMs(),
    capped: meter.count < target,
  };
}

async function consume(
  stack: BenchStack,
  scenario: string,
  client: EventHubConsumerClient,
  handlers: (meter: Meter) => SubscriptionEventHandlers,
  settings: ReceiveSettings,
  options: ConsumeOptions,
  skipParsingBodyAsJson = false,
): Promise<ScenarioResult> {
  const meter = new Meter();
  const cpu = stackCpuWindow(stack);
  const subscription = client.subscribe(handlers(meter), {
    startPosition: earliestEventPosition,
    maxBatchSize: settings.maxBatchSize,
    prefetchCount: settings.prefetchCount,
    maxWaitTimeInSeconds: 1,
    skipParsingBodyAsJson,
  });
  let result: ScenarioResult;
  try {
    await waitForCount(meter, options.target, {
      capMs: options.capMs,
      onTick: (count) => note(`${scenario}: ${count}/${options.target}`),
    });
    result = resultOf(scenario, meter, options.target, cpu.stop());
  } finally {
    await subscription.close();
    await client.close();
  }
  return result;
}

const ignoreErrors = async (): Promise<void> => {};

/**
 * (1) The ceiling: no checkpoint store (so no load balancing), no-op handler. With `bodies:
 * "bytes"` the SDK does not try JSON.parse on each body (`skipParsingBodyAsJson`), which the
 * worker does not pay either for bodies that are not JSON (src/worker/subscription.ts, decodeBodies).
 */
export function rawSubscribe(
  stack: BenchStack,
  consumerGroup: string,
  settings: ReceiveSettings,
  options: ConsumeOptions,
  bodies: "parsed" | "bytes" = "parsed",
): Promise<ScenarioResult> {
  const client = new EventHubConsumerClient(consumerGroup, stack.eventHubsConnectionString, stack.hub);
  return consume(
    stack,
    bodies === "parsed" ? "sdk subscribe, no checkpoints" : "sdk subscribe, no checkpoints, bodies unparsed",
    client,
    (meter) => ({
      processEvents: async (events) => meter.add(events.length),
      processError: ignoreErrors,
    }),
    settings,
    options,
    bodies === "bytes",
  );
}

/** A BlobCheckpointStore over a fresh container, as the worker builds it. */
export async function blobStore(stack: BenchStack, containerName: string): Promise<CheckpointStore> {
  await stack.container(containerName);
  const container = new ContainerClient(stack.storageConnectionString, containerName);
  return new BlobCheckpointStore(container);
}

/** A client with a BlobCheckpointStore over a fresh container, load balancing as the worker's. */
async function balancedClient(
  stack: BenchStack,
  consumerGroup: string,
  containerName: string,
  settings: ReceiveSettings,
): Promise<EventHubConsumerClient> {
  const store = await blobStore(stack, containerName);
  return new EventHubConsumerClient(consumerGroup, stack.eventHubsConnectionString, stack.hub, store, {
    // Greedy with a short loop, as for the worker, so claiming all partitions is not what is measured.
    loadBalancingOptions: {
      strategy: "greedy",
      updateIntervalInMs: settings.updateIntervalMs,
      partitionOwnershipExpirationIntervalInMs: settings.updateIntervalMs * 6,
    },
  });
}

/** (2) The common pattern: BlobCheckpointStore and `updateCheckpoint` after every event. */
export async function checkpointEveryEvent(
  stack: BenchStack,
  consumerGroup: string,
  containerName: string,
  settings: ReceiveSettings,
  options: ConsumeOptions,
): Promise<ScenarioResult> {
  const client = await balancedClient(stack, consumerGroup, containerName, settings);
  return consume(
    stack,
    "sdk subscribe + updateCheckpoint per event",
    client,
    (meter) => ({
      processEvents: async (events, context) => {
        for (const event of events) {
          meter.add(1);
          await context.updateCheckpoint(event);
        }
      },
      processError: ignoreErrors,
    }),
    settings,
    options,
  );
}

/**
 * Per partition of {@link boundedLoop}: at most `limit` events in the handler, a queue behind
 * them, and `add` (what `processEvents` awaits) returns once the queue and the running events
 * are below `window`.
 */
class BoundedPartition {
  private readonly queue: unknown[] = [];
  private head = 0;
  private running = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly limit: number,
    private readonly window: number,
    private readonly handle: () => Promise<unknown>,
    private readonly meter: Meter,
  ) {}

  async add(events: readonly unknown[]): Promise<void> {
    for (const event of events) this.queue.push(event);
    this.pump();
    if (this.pending() >= this.window) await new Promise<void>((resolve) => (this.wake = resolve));
  }

  private pending(): number {
    return this.queue.length - this.head + this.running;
  }

  private pump(): void {
    while (this.running < this.limit && this.head < this.queue.length) {
      this.head += 1;
      this.running += 1;
      void this.run();
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
  }

  private async run(): Promise<void> {
    await this.handle();
    this.meter.add(1);
    this.running -= 1;
    this.pump();
    if (this.wake !== undefined && this.pending() < this.window) {
      const wake = this.wake;
      this.wake = undefined;
      wake();
    }
  }
}

/**
 * (4) A hand-written consumer for a slow handler: `subscribe` without a checkpoint store, bodies
 * unparsed, and per partition at most `concurrency` events in `handle` with `concurrency + 2 ×
 * maxBatchSize` queued and running (the worker's default window). The worker's shape without its
 * routing, retries, completion tracking and checkpoints: what the SDK and this machine allow at
 * that concurrency.
 */
export function boundedLoop(
  stack: BenchStack,
  consumerGroup: string,
  settings: ReceiveSettings,
  options: ConsumeOptions,
  concurrency: number,
  handle: () => Promise<unknown>,
): Promise<ScenarioResult> {
  const client = new EventHubConsumerClient(consumerGroup, stack.eventHubsConnectionString, stack.hub);
  const window = concurrency + 2 * settings.maxBatchSize;
  return consume(
    stack,
    `hand-written loop, concurrency ${concurrency}, no checkpoints`,
    client,
    (meter) => {
      const partitions = new Map<string, BoundedPartition>();
      return {
        processEvents: async (events, context) => {
          let partition = partitions.get(context.partitionId);
          if (partition === undefined) {
            partition = new BoundedPartition(concurrency, window, handle, meter);
            partitions.set(context.partitionId, partition);
          }
          await partition.add(events);
        },
        processError: ignoreErrors,
      };
    },
    settings,
    options,
    true,
  );
}

/** Calls `handle` `count` times, at most `concurrency` at once; resolves when every call is done. */
async function runBounded(count: number, concurrency: number, handle: () => Promise<unknown>): Promise<void> {
  let started = 0;
  const runner = async () => {
    while (started < count) {
      started += 1;
      await handle();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, runner));
}

/**
 * (5) The hand-written loop as the SDK's samples shape it for a slow handler: `subscribe` with a
 * BlobCheckpointStore, bodies unparsed, each batch's events at most `concurrency` at once, and once
 * all of them are done `updateCheckpoint` with the batch's last event: one write per batch, so a
 * restart loses nothing. Unlike the worker, each batch waits for its slowest event.
 */
export async function checkpointingLoop(
  stack: BenchStack,
  consumerGroup: string,
  containerName: string,
  settings: ReceiveSettings,
  options: ConsumeOptions,
  concurrency: number,
  handle: () => Promise<unknown>,
): Promise<ScenarioResult> {
  const client = await balancedClient(stack, consumerGroup, containerName, settings);
  return consume(
    stack,
    `hand-written loop, concurrency ${concurrency}, checkpoint per batch`,
    client,
    (meter) => ({
      processEvents: async (events, context) => {
        const last = events.at(-1);
        if (last === undefined) return;
        await runBounded(events.length, concurrency, handle);
        meter.add(events.length);
        await context.updateCheckpoint(last);
      },
      processError: ignoreErrors,
    }),
    settings,
    options,
    true,
  );
}
