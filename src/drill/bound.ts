/**
 * The duplicate bound: how many events a partition may process again after one hand-over.
 *
 * When processing of a partition resumes from its checkpoint (after a crash, a steal, or a
 * reconnect that reopens the partition), the events processed again are the ones whose ledger line
 * was written past the checkpoint the successor read. At that moment they are at most:
 *
 * 1. fewer than `checkpointEvery` events in the completed prefix since the last checkpoint write
 *    began (the policy starts a write as soon as `checkpointEvery` have completed);
 * 2. `checkpointEvery` more that completed while that write was in flight: the partition's progress keeps
 *    one write in flight and coalesces later requests, so the write that finishes covers only the
 *    position it started with (this assumes one checkpoint write takes less time than processing
 *    `checkpointEvery` events, which holds for blob writes of a few milliseconds);
 * 3. the in-flight window: events whose handler ran (the ledger line is written before the handler
 *    resolves) but that had not completed — at most `concurrency` units (1 under `partition`
 *    ordering), each of at most `maxBatchSize` events for a batch pipeline or 1 for an event one.
 *
 * So the bound per hand-over is `2 × checkpointEvery + window`. The time rule of the policy only
 * makes checkpoints more frequent, so it does not enter. After a graceful stop (SIGTERM) the
 * stopping worker drains and writes a final checkpoint before it releases the partition: the
 * bound is 0.
 *
 * The same bound applies to a steal (a running worker takes a partition over): the new owner
 * reads the checkpoint when it claims, and the loser may go on until it learns of the loss. A
 * runtime whose guarded store refuses the loser's next checkpoint write (the ownership record
 * names another owner) and stops the partition on that refusal processes at most the terms above
 * past that checkpoint; one that keeps processing after the loss exceeds it, and the drill says so.
 *
 * Not covered, and reported as excess when it happens: a crash while checkpoint writes were
 * failing (storage unreachable), during which progress piles up past the last written checkpoint.
 */
import { orderingStrategy } from "../worker/partition/ordering/registry.js";
import type { VerdictSettings } from "./types.js";

/** The terms of the bound, for reports. */
export interface DuplicateBound {
  /** `checkpointEvery`: completed events not yet covered by a checkpoint write. */
  readonly uncheckpointed: number;
  /** `checkpointEvery`: events that may complete while one checkpoint write is in flight. */
  readonly writeInFlight: number;
  /** Events whose handler ran but had not completed. */
  readonly inFlightWindow: number;
  /** Sum of the terms: the most duplicates allowed per hand-over after a crash or a steal. */
  readonly perHandover: number;
}

/** Units that may run at once on one partition, as the ordering strategy allows. */
export function effectiveConcurrency(settings: VerdictSettings): number {
  return orderingStrategy(settings.ordering).maxRunning(settings.concurrency);
}

/** The in-flight window in events; see the module comment, term 3. */
export function inFlightWindowEvents(settings: VerdictSettings): number {
  const unitEvents = (settings.batchPipeline ?? true) ? settings.maxBatchSize : 1;
  return effectiveConcurrency(settings) * unitEvents;
}

/** The duplicate bound per hand-over after a crash or a steal; see the module comment. */
export function duplicateBound(settings: VerdictSettings): DuplicateBound {
  const inFlightWindow = inFlightWindowEvents(settings);
  return {
    uncheckpointed: settings.checkpointEvery,
    writeInFlight: settings.checkpointEvery,
    inFlightWindow,
    perHandover: 2 * settings.checkpointEvery + inFlightWindow,
  };
}
