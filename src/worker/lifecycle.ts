/** Worker lifecycle states, the status snapshot `worker.status()` returns, and start-up seams. */
import { abortError } from "../common/retry.js";
import type { FailureHandler } from "../handlers/failure.js";
import type { HandlerRegistry } from "../handlers/registry.js";
import type { EntityNotFoundStatus } from "./not-found-watch.js";
import type { PartitionStatus } from "./partition/processor.js";

export type { EntityNotFoundStatus } from "./not-found-watch.js";

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
  /**
   * Partitions whose receivers the service refused or detached with not-found within the last
   * three load-balancing intervals (the consumer group or hub was deleted); undefined when none.
   */
  readonly entityNotFound?: EntityNotFoundStatus;
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

/**
 * Start-up steps the composition root (src/app) adds, run by `start()` after the handlers loaded
 * and the checkpoint container answered, under the start's abort signal.
 */
export interface WorkerSetup {
  /** Wraps the loaded registry, e.g. with the pipelines' input checks; default: as loaded. */
  guardRegistry?(registry: HandlerRegistry): HandlerRegistry;
  /**
   * Builds what happens after an event's last failed attempt, checking any storage it writes to;
   * default: `WorkerOptions.failureHandler`, else a handler that logs and stops the partition.
   */
  failureHandler?(signal: AbortSignal): Promise<FailureHandler>;
}

/**
 * `promise`, or an AbortError as soon as `signal` aborts, whichever comes first: a start-up step
 * whose I/O ignores the signal (an SDK call without one) cannot hold up a stop. What the step
 * leaves open is closed by the caller's clean-up.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      promise.catch(() => undefined);
      reject(abortError(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
