/**
 * The periodic status line of `ehw run` (setting statusIntervalMs): one info line every N ms,
 * `{"msg":"worker status","state":…,"partitions":[{partitionId,state,inFlight,queued,processed,
 * failed,lastCheckpoint,
 * oldestIncompleteEnqueuedTimeMs}]}`, from `worker.status()`. A development dashboard parses these lines,
 * so the field names are a contract.
 */

import type { Logger } from "../observability/logger.js";
import type { WorkerStatus } from "../worker/lifecycle.js";
import type { CheckpointPosition } from "../worker/partition/types.js";

/** One partition in a status line. */
export interface StatusLinePartition {
  readonly partitionId: string;
  readonly state: string;
  readonly inFlight: number;
  readonly queued: number;
  readonly processed: number;
  readonly failed: number;
  /** The last checkpoint written, or null when none yet. */
  readonly lastCheckpoint: CheckpointPosition | null;
  /**
   * Enqueued time (ms since the epoch) of the oldest event received and not completed; null when
   * there is none (or it is not known).
   */
  readonly oldestIncompleteEnqueuedTimeMs: number | null;
}

/** The fields of a status line besides `msg`. */
export interface StatusLineFields {
  readonly state: string;
  readonly partitions: readonly StatusLinePartition[];
}

/** The status line's fields from a worker status snapshot. */
export function statusLineFields(status: Pick<WorkerStatus, "state" | "partitions">): StatusLineFields {
  return {
    state: status.state,
    partitions: status.partitions.map((p) => ({
      partitionId: p.partitionId,
      state: p.state,
      inFlight: p.inFlight,
      queued: p.queued,
      processed: p.processed,
      failed: p.failed,
      lastCheckpoint:
        p.lastCheckpoint === undefined
          ? null
          : { sequenceNumber: p.lastCheckpoint.sequenceNumber, offset: p.lastCheckpoint.offset },
      oldestIncompleteEnqueuedTimeMs: p.oldestIncompleteEnqueuedTimeMs ?? null,
    })),
  };
}

/** Options of {@link startStatusLog}. */
export interface StatusLogOptions {
  /** Usually the Worker. */
  readonly source: { status(): Pick<WorkerStatus, "state" | "partitions"> };
  /** Where the lines go (at info). */
  readonly logger: Logger;
  /** Milliseconds between lines; > 0. */
  readonly intervalMs: number;
}

/** Logs a status line every `intervalMs` until the returned stop function is called. */
export function startStatusLog(options: StatusLogOptions): () => void {
  const timer = setInterval(() => {
    options.logger.info(statusLineFields(options.source.status()), "worker status");
  }, options.intervalMs);
  // The line is informative only; it must never keep a stopping process alive.
  timer.unref();
  return () => clearInterval(timer);
}
