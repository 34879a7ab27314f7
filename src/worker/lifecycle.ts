/** Worker lifecycle states and the status snapshot `worker.status()` returns. */
import type { PartitionStatus } from "./partition/processor.js";

/**
 * `starting`: created, or `start()` is loading handlers and connecting; `running`: subscribed;
 * `draining`: `stop()` is draining partitions and writing final checkpoints; `stopped`: closed;
 * `failed`: `start()` failed (nothing is left running).
 */
export type WorkerState = "starting" | "running" | "draining" | "stopped" | "failed";

/** What `worker.status()` returns. */
export interface WorkerStatus {
  /** Lifecycle state. */
  readonly state: WorkerState;
  /** Owner id of this worker in ownership records. */
  readonly workerId: string;
  /** Event hub name. */
  readonly eventHubName: string;
  /** Consumer group. */
  readonly consumerGroup: string;
  /** Partitions this worker processes now, by partition id order. */
  readonly partitions: readonly PartitionStatus[];
  /** Partitions stopped by a failed event (a subset of `partitions`). */
  readonly stoppedPartitions: readonly string[];
}

/** Options of `worker.stop()`. */
export interface StopOptions {
  /** Milliseconds to drain in-flight events from now; default the config's drainTimeoutMs. */
  readonly deadlineMs?: number;
}

/** Result of `worker.stop()`. */
export interface StopResult {
  /** True when every partition finished its accepted events before the deadline. */
  readonly drained: boolean;
}
