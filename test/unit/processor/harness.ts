import type { ReceivedEventData } from "@azure/event-hubs";
import { GuardedCheckpointStore } from "../../../src/checkpoint/guarded-store.js";
import type { EventHandler, HandlerContext } from "../../../src/handlers/contract.js";
import type { FailureHandler } from "../../../src/handlers/failure.js";
import { createPipeline, type Pipeline } from "../../../src/handlers/pipeline.js";
import { silentLogger } from "../../../src/observability/logger.js";
import type { PartitionObserver } from "../../../src/observability/observer.js";
import {
  type PartitionProcessingOptions,
  PartitionProcessor,
  type PartitionProcessorOptions,
} from "../../../src/worker/partition/processor.js";
import { fakeEvent } from "../handlers/events.js";
import { MemoryCheckpointStore, ownershipRequest } from "./memory-store.js";

/** A promise with its resolve and reject. */
export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** One handler call as recorded by {@link GatedHandler}. */
export interface Call {
  seq: number;
  key: string | null | undefined;
  attempt: number;
  signal: AbortSignal;
}

/**
 * A handler whose calls wait until the test releases them (per sequence number), or run through
 * at once when `autoRelease` is set. Records starts, ends and how many calls overlapped.
 */
export class GatedHandler implements EventHandler {
  readonly starts: Call[] = [];
  readonly ends: number[] = [];
  running = 0;
  maxRunning = 0;
  readonly runningKeys = new Map<string, number>();
  keyOverlap = false;
  autoRelease = false;
  /** Called at the start of each call; may throw to fail the attempt. */
  onCall: (call: Call) => void = () => {};
  private readonly gates = new Map<number, Deferred>();

  gate(seq: number): Deferred {
    let gate = this.gates.get(seq);
    if (gate === undefined) {
      gate = deferred();
      this.gates.set(seq, gate);
    }
    return gate;
  }

  release(...seqs: number[]): void {
    for (const seq of seqs) this.gate(seq).resolve();
  }

  async handle(event: ReceivedEventData, ctx: HandlerContext): Promise<void> {
    const call = {
      seq: event.sequenceNumber,
      key: event.partitionKey,
      attempt: ctx.attempt,
      signal: ctx.signal,
    };
    this.starts.push(call);
    this.onCall(call);
    const key = event.partitionKey ?? "";
    this.runningKeys.set(key, (this.runningKeys.get(key) ?? 0) + 1);
    if ((this.runningKeys.get(key) ?? 0) > 1) this.keyOverlap = true;
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      if (!this.autoRelease) await this.gate(event.sequenceNumber).promise;
      this.ends.push(event.sequenceNumber);
    } finally {
      this.running -= 1;
      this.runningKeys.set(key, (this.runningKeys.get(key) ?? 1) - 1);
    }
  }
}

export const FAST_PROCESSING: PartitionProcessingOptions = {
  ordering: "none",
  concurrency: 4,
  maxBatchSize: 10,
  maxAttempts: 3,
  retryBaseDelayMs: 1,
  retryMaxDelayMs: 2,
  handlerTimeoutMs: 0,
  checkpointEvery: 1,
  checkpointIntervalMs: 60_000,
};

export interface HarnessOptions {
  processing?: Partial<PartitionProcessingOptions>;
  pipeline?: Pipeline;
  handler?: EventHandler;
  failureHandler?: FailureHandler;
  drainTimeoutMs?: number;
  windowSize?: number;
  observer?: PartitionObserver;
  admission?: PartitionProcessorOptions["admission"];
}

/** A processor for partition "0" over a guarded in-memory store that owns the partition. */
export async function harness(options: HarnessOptions = {}) {
  const inner = new MemoryCheckpointStore();
  let lostTo: PartitionProcessor | undefined;
  // Wired as the worker wires it: the store's loss stops the processor.
  const store = new GuardedCheckpointStore(inner, {
    ownerId: "me",
    records: inner,
    onLost: (_partitionId, reason) => lostTo?.markLost(reason),
  });
  await store.claimOwnership([ownershipRequest("0", "me")]);
  const handler = options.handler ?? new GatedHandler();
  const pipeline = options.pipeline ?? createPipeline("default", [{ name: "main", handler }]);
  const exhausted: Array<{ seq: number; attempts: number; error: Error }> = [];
  const failureHandler: FailureHandler = options.failureHandler ?? {
    async onExhausted(failure) {
      exhausted.push({ seq: failure.event.sequenceNumber, attempts: failure.attempts, error: failure.error });
      return "stop";
    },
  };
  const processorOptions: PartitionProcessorOptions = {
    identity: {
      fullyQualifiedNamespace: "ns",
      eventHubName: "hub",
      consumerGroup: "$default",
      partitionId: "0",
    },
    processing: { ...FAST_PROCESSING, ...options.processing },
    registry: { route: () => pipeline },
    store,
    failureHandler,
    logger: silentLogger(),
    drainTimeoutMs: options.drainTimeoutMs ?? 5000,
    windowSize: options.windowSize,
    observer: options.observer,
    admission: options.admission,
  };
  const processor = new PartitionProcessor(processorOptions);
  lostTo = processor;
  return { inner, store, handler, processor, exhausted, pipeline };
}

/** Events with sequence numbers `from` … `from + count - 1`, keyed by `keyOf` when given. */
export function events(from: number, count: number, keyOf?: (seq: number) => string): ReceivedEventData[] {
  return Array.from({ length: count }, (_, i) =>
    fakeEvent(from + i, keyOf ? { partitionKey: keyOf(from + i) } : {}),
  );
}

/** Sequence numbers of the checkpoints written so far. */
export function written(inner: MemoryCheckpointStore): number[] {
  return inner.writes.map((w) => w.sequenceNumber);
}

/** Whether a promise has settled, checked after pending callbacks ran. */
export async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}
