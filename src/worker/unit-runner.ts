/**
 * Runs one unit of work of a partition to its end: its attempts, the failure handler's decision
 * when they are exhausted, and the record of the end (metrics, completion in the tracker). A unit
 * that succeeds synchronously ends synchronously, without a promise or a turn of the microtask
 * queue. The processor is seen only through {@link UnitRunnerHost}.
 */
import type { CompletedPrefixTracker } from "../checkpoint/tracker.js";
import { toError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { PartitionObserver, UnitOutcome } from "../observability/observer.js";
import {
  type AttemptContext,
  type AttemptOptions,
  type AttemptOutcome,
  startWithAttempts,
} from "./attempts.js";
import type { FailureDecision, FailureHandler } from "./failure.js";
import type { WorkUnit } from "./work-units.js";

/** What a {@link UnitRunner} needs of its partition's processor. */
export interface UnitRunnerHost {
  readonly partitionId: string;
  readonly logger: Logger;
  readonly tracker: CompletedPrefixTracker;
  readonly failureHandler: FailureHandler;
  readonly observer: PartitionObserver | undefined;
  readonly attemptOptions: AttemptOptions;
  readonly attemptContext: AttemptContext;
  /** Whether the partition was lost: then nothing completes and no failure is handled. */
  isLost(): boolean;
  /** Counts events that ended one way or the other (status counters). */
  countProcessed(events: number): void;
  countFailed(events: number): void;
  /** The partition stops: a unit failed for good, or an invariant broke. */
  stop(error: Error): void;
}

/** Runs units of one partition; see the module comment. */
export class UnitRunner {
  constructor(private readonly host: UnitRunnerHost) {}

  /**
   * Runs one unit to its end; true when it counts as complete (done, or failed and then resolved or
   * skipped). The answer itself, not a promise, when the unit succeeded synchronously.
   */
  run(unit: WorkUnit): boolean | Promise<boolean> {
    const { host } = this;
    let started: AttemptOutcome | Promise<AttemptOutcome>;
    try {
      started = startWithAttempts(unit, host.attemptOptions, host.attemptContext);
      if (!(started instanceof Promise) && started.kind === "done")
        return this.finish(unit, started, "resolved");
    } catch (err) {
      return this.unexpected(err);
    }
    return this.settle(unit, started);
  }

  private async settle(unit: WorkUnit, started: AttemptOutcome | Promise<AttemptOutcome>): Promise<boolean> {
    try {
      const outcome = await started;
      const decision = outcome.kind === "done" ? "resolved" : await this.afterExhausted(unit, outcome);
      return this.finish(unit, outcome, decision);
    } catch (err) {
      return this.unexpected(err);
    }
  }

  /** Records a unit's end; true when it counts as complete. */
  private finish(unit: WorkUnit, outcome: AttemptOutcome, decision: FailureDecision): boolean {
    const { host } = this;
    const complete = decision !== "stop";
    host.observer?.unitEnded(
      unit.pipeline.name,
      unit.events.length,
      unitOutcome(outcome, decision),
      outcome.attempts,
    );
    if (complete && !host.isLost()) {
      for (const event of unit.events) host.tracker.complete(event.sequenceNumber);
      if (outcome.kind === "done") host.countProcessed(unit.events.length);
    }
    return complete;
  }

  /** Only a broken invariant gets here; stop rather than risk a checkpoint past unfinished work. */
  private unexpected(err: unknown): false {
    this.host.logger.error({ err }, "unexpected processor error");
    this.host.stop(toError(err));
    return false;
  }

  private async afterExhausted(unit: WorkUnit, outcome: AttemptOutcome): Promise<FailureDecision> {
    const { host } = this;
    if (outcome.kind !== "exhausted" || host.isLost()) return "stop";
    const [event] = unit.events;
    if (event === undefined) return "resolved";
    host.countFailed(unit.events.length);
    let decision: FailureDecision;
    try {
      decision = await host.failureHandler.onExhausted({
        event,
        events: unit.events,
        error: outcome.error,
        attempts: outcome.attempts,
        partitionId: host.partitionId,
        pipeline: unit.pipeline.name,
        signal: host.attemptContext.signal,
      });
    } catch (err) {
      host.logger.error({ err, sequenceNumber: event.sequenceNumber }, "failure handler threw; stopping");
      decision = "stop";
    }
    if (decision === "stop") host.stop(outcome.error);
    return decision;
  }
}

/**
 * The metrics outcome of a unit: an exhausted unit the failure handler resolved was dead-lettered,
 * one it skipped was dropped.
 */
export function unitOutcome(outcome: AttemptOutcome, decision: FailureDecision): UnitOutcome {
  if (outcome.kind === "done") return "processed";
  if (outcome.kind === "aborted") return "aborted";
  if (decision === "resolved") return "deadLettered";
  return decision === "skipped" ? "skipped" : "failed";
}
