/**
 * The public types of a partition processor: its states, status snapshot, close result and options.
 */
import type { CheckpointWriter } from "../../checkpoint/guarded-store.js";
import type { ProcessingConfig } from "../../config/worker.js";
import type { FailureHandler } from "../../handlers/failure.js";
import type { HandlerRegistry } from "../../handlers/registry.js";
import type { Logger } from "../../observability/logger.js";
import type { PartitionObserver } from "../../observability/observer.js";
import type { AttemptTracer } from "../../observability/tracing.js";

/** A position a checkpoint can be written for: the event's sequence number and offset. */
export interface CheckpointPosition {
  /** Sequence number of the event within its partition. */
  readonly sequenceNumber: number;
  /** The service's offset string of the event; never parsed. */
  readonly offset: string;
}

/** Which partition's checkpoint blob is written. */
export interface PartitionIdentity {
  /** Namespace host as the SDK names it in blob names. */
  readonly fullyQualifiedNamespace: string;
  /** Event hub name. */
  readonly eventHubName: string;
  /** Consumer group. */
  readonly consumerGroup: string;
  /** Partition id. */
  readonly partitionId: string;
}

/** Options of the partition's progress (progress/progress.ts); the policy's are progress/policy.ts's. */
export interface PartitionProgressOptions {
  readonly identity: PartitionIdentity;
  readonly store: CheckpointWriter;
  /** Completions between checkpoints; ≥ 1. */
  readonly checkpointEvery: number;
  /** Milliseconds after which new progress is checkpointed anyway. */
  readonly checkpointIntervalMs: number;
  /** Most events per SDK batch: a shorter one after a full one checkpoints at once (progress/policy.ts). */
  readonly maxBatchSize: number;
  /** Whether that rule applies; default true. */
  readonly checkpointOnCatchUp?: boolean;
  readonly logger: Logger;
  /** Epoch milliseconds; default Date.now. */
  readonly clock?: () => number;
  /** Receives every write's outcome and duration (metrics); default none. */
  readonly observer?: Pick<PartitionObserver, "checkpointWritten">;
  /** Called when the store refused a write because this worker does not own the partition. */
  readonly onNotOwner?: () => void;
}

/**
 * `running`: accepting and processing; `stopped`: an event exhausted its attempts and the failure
 * handler said stop — nothing new starts, ownership is kept; `draining`: closing for shutdown;
 * `closed`: closed after shutdown; `lost`: closed because the partition was lost.
 */
export type PartitionState = "running" | "stopped" | "draining" | "closed" | "lost";

/** A snapshot of a partition processor, for `worker.status()`. */
export interface PartitionStatus {
  readonly partitionId: string;
  readonly state: PartitionState;
  /** Events whose unit is running (attempting or backing off). */
  readonly inFlight: number;
  /** Events waiting for their turn. */
  readonly queued: number;
  /** Events handled successfully since the partition was claimed. */
  readonly processed: number;
  /** Events whose last attempt failed. */
  readonly failed: number;
  /** The last checkpoint this processor wrote, if any. */
  readonly lastCheckpoint: CheckpointPosition | undefined;
  /**
   * Enqueued time (ms since the epoch) of the oldest event received and not completed; null when
   * every received event completed; absent when not reported.
   */
  readonly oldestIncompleteEnqueuedTimeMs?: number | null;
}

/** Result of {@link PartitionProcessor.close}. */
export interface PartitionCloseResult {
  /** True when every accepted event finished before the drain deadline (always false when lost). */
  readonly drained: boolean;
  /** The last checkpoint written, if any. */
  readonly lastCheckpoint: CheckpointPosition | undefined;
}

/** The processing settings a processor uses. */
export type PartitionProcessingOptions = Pick<
  ProcessingConfig,
  | "ordering"
  | "concurrency"
  | "maxBatchSize"
  | "maxAttempts"
  | "retryBaseDelayMs"
  | "retryMaxDelayMs"
  | "handlerTimeoutMs"
  | "checkpointEvery"
  | "checkpointIntervalMs"
> &
  // Optional: a drained backlog is checkpointed at once unless this says false.
  Partial<Pick<ProcessingConfig, "checkpointOnCatchUp">>;

/** Options of {@link PartitionProcessor}. */
export interface PartitionProcessorOptions {
  /** Which partition (and whose blob) this is. */
  readonly identity: PartitionIdentity;
  /** Ordering, concurrency, retries, time limit and checkpoint policy. */
  readonly processing: PartitionProcessingOptions;
  /** Routes events to pipelines. */
  readonly registry: Pick<HandlerRegistry, "route">;
  /** The guarded checkpoint store. */
  readonly store: CheckpointWriter;
  /** Decides what happens after an event's last failed attempt. */
  readonly failureHandler: FailureHandler;
  /** Parent logger; the processor logs under `component: "processor", partitionId`. */
  readonly logger: Logger;
  /** Drain time when `close("Shutdown")` comes without a deadline set, milliseconds. */
  readonly drainTimeoutMs: number;
  /**
   * Events queued plus in flight before `enqueue` awaits, a batch pipeline's units counted by
   * their events; default concurrency + 2 × maxBatchSize, so that two whole batches fit behind the
   * running work. The SDK adds credit only when its queue holds less than a batch, and then waits
   * for the first new event and 20 ms more before it hands a batch over; the queued batches keep
   * the handlers busy through that pause. With one batch, partitions of a fast handler at
   * concurrency 64 sat with an empty queue a third of the time. A longer queue also takes longer
   * to drain at shutdown (bounded by the drain deadline).
   */
  readonly windowSize?: number;
  /** Epoch milliseconds; default Date.now. */
  readonly clock?: () => number;
  /** Uniform random source for backoff jitter; default Math.random. */
  readonly random?: () => number;
  /** Called after every state change with a fresh status. */
  readonly onStateChange?: (status: PartitionStatus) => void;
  /** Receives counts and durations (metrics); default none, so nothing is measured. */
  readonly observer?: PartitionObserver;
  /** Opens a span per handler attempt; default none (tracing off). */
  readonly tracer?: AttemptTracer;
  /**
   * Asked before units are admitted: false holds them (and so the SDK's next batch) until
   * `admissionChanged()`; default always true. The worker passes an OwnershipGate.
   */
  readonly admission?: { mayTakeEvents(): boolean };
}
