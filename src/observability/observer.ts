/**
 * The narrow interfaces through which the runtime reports what metrics cannot read from
 * `worker.status()`. The runtime holds them as optional fields and calls them with `?.`, so with
 * metrics off there is no observer and nothing is measured; with metrics on, each call only adds to
 * plain numbers that are read when `/metrics` is scraped. Type-only: importing this module loads
 * nothing (no prom-client).
 */

/** Checkpoint write outcomes: written, failed (retried later), refused by the guard (not owner / backwards). */
export type CheckpointWriteOutcome = "ok" | "failed" | "refused";

/**
 * How a unit of work ended: `processed` (an attempt succeeded), `failed` (the last attempt failed
 * and the failure handler stopped the partition), `deadLettered` (the last attempt failed and the
 * failure handler resolved it, e.g. sent it to a dead-letter destination), `skipped` (the last
 * attempt failed and the failure handler dropped it by policy), `aborted` (ownership loss or the
 * drain deadline ended it). `failed`, `deadLettered` and `skipped` all count as failed events.
 */
export type UnitOutcome = "processed" | "failed" | "deadLettered" | "skipped" | "aborted";

/** What one partition's processor and checkpointer report. Every method must be cheap and never throw. */
export interface PartitionObserver {
  /**
   * A batch from the SDK was accepted: `count` new events, the sequence number of the last one
   * received so far, and the partition's last enqueued sequence number when the SDK reports it.
   */
  received(
    count: number,
    lastReceivedSequenceNumber: number | undefined,
    lastEnqueuedSequenceNumber: number | undefined,
  ): void;
  /**
   * The partition's properties as the worker last read them (every few seconds): last enqueued
   * sequence number and time (ms since the epoch), first retained sequence number. Not called
   * while the partition is empty.
   */
  partitionProperties?(properties: {
    readonly lastEnqueuedSequenceNumber: number;
    readonly lastEnqueuedTimeMs: number;
    readonly beginningSequenceNumber: number;
  }): void;
  /** One handler attempt of `pipeline` ended after `seconds`, successfully or not. */
  handlerAttempt(pipeline: string, seconds: number): void;
  /** A unit of `eventCount` events of `pipeline` ended after `attempts` attempts (first try included). */
  unitEnded(pipeline: string, eventCount: number, outcome: UnitOutcome, attempts: number): void;
  /** A checkpoint write ended after `seconds`. */
  checkpointWritten(outcome: CheckpointWriteOutcome, seconds: number): void;
}

/**
 * One step of a cooperative hand-over: `requested` (this worker asked a live owner for the
 * partition), `completed` (it claimed a partition its owner gave up in answer; `pauseSeconds` from
 * the owner's stop of new events to the claim), `fellBack` (a request was not answered in time and
 * the partition was stolen), `handedOver` (this worker gave a partition up in answer to a request;
 * `pauseSeconds` is its drain).
 */
export interface HandoverObservation {
  readonly kind: "requested" | "completed" | "fellBack" | "handedOver";
  readonly partitionId: string;
  readonly pauseSeconds?: number;
}

/** What the worker reports about ownership. */
export interface WorkerObserver {
  /**
   * The worker claimed `partitionId` (its checkpoint, if any, at `checkpointSequenceNumber`);
   * returns the observer the partition's processor reports to. The same partition claimed again
   * continues the same counters.
   */
  partitionClaimed(partitionId: string, checkpointSequenceNumber?: number): PartitionObserver;
  /** The worker closed `partitionId` with the SDK's close reason (`OwnershipLost`, `Shutdown`). */
  partitionClosed(partitionId: string, reason: string): void;
  /** A step of a cooperative hand-over; optional. */
  handover?(observation: HandoverObservation): void;
}
