/**
 * Runs one unit of work of a partition to its end: its attempts, the failure handler's decision
 * when they are exhausted, and the record of the end (metrics, completion in the tracker). A unit
 * that succeeds synchronously ends synchronously, without a promise or a turn of the microtask
 * queue; one that goes asynchronous reports its end to its {@link UnitOwner}. The processor is
 * seen only through {@link UnitRunnerHost}.
 */
import type { CompletedPrefixTracker } from "../checkpoint/tracker.js";
import { toError } from "../common/errors.js";
import type { Logger } from "../observability/logger.js";
import type { PartitionObserver, UnitOutcome } from "../observability/observer.js";
import {
  type AttemptContext,
  type AttemptOptions,
  type AttemptOutcome,
  type AttemptsListener,
  startAttempts,
} from "./attempts.js";
import type { FailureDecision, FailureHandler } from "./failure.js";
import type { WorkUnit } from "./partition/ordering/units.js";

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

/** Told once when a unit ended. */
export interface UnitOwner {
  /** The unit ended; `complete` says whether it counts as complete (see {@link UnitRunner.run}). */
  unitEnded(unit: WorkUnit, complete: boolean): void;
}

/** Runs units of one partition; see the module comment. */
export class UnitRunner implements AttemptsListener<UnitOwner> {
  constructor(private readonly host: UnitRunnerHost) {}

  /**
   * Runs one unit to its end; the answer is whether it counts as complete (done, or failed and then
   * resolved or skipped). That answer itself when the unit ended synchronously; otherwise undefined,
   * and `owner.unitEnded` is called with it exactly once, later, never from within this call.
   */
  run(unit: WorkUnit, owner: UnitOwner): boolean | undefined {
    const { host } = this;
    let outcome: AttemptOutcome | undefined;
    try {
      outcome = startAttempts(unit, host.attemptOptions, host.attemptContext, this, owner);
      if (outcome === undefined) return undefined;
      if (outcome.kind === "done") return this.finish(unit, outcome, "resolved");
    } catch (err) {
      return this.unexpected(err);
    }
    void this.settle(unit, outcome, owner);
    return undefined;
  }

  /** {@link AttemptsListener}: the attempts of a unit that went asynchronous ended. */
  attemptsEnded(unit: WorkUnit, outcome: AttemptOutcome, owner: UnitOwner): void {
    if (outcome.kind !== "done") {
      void this.settle(unit, outcome, owner);
      return;
    }
    let complete: boolean;
    try {
      complete = this.finish(unit, outcome, "resolved");
    } catch (err) {
      complete = this.unexpected(err);
    }
    owner.unitEnded(unit, complete);
  }

  /** {@link AttemptsListener}: the retry machinery broke. */
  attemptsBroke(unit: WorkUnit, error: unknown, owner: UnitOwner): void {
    owner.unitEnded(unit, this.unexpected(error));
  }

  /** Ends a unit whose attempts did not succeed: the failure handler decides, then its end is recorded. */
  private async settle(unit: WorkUnit, outcome: AttemptOutcome, owner: UnitOwner): Promise<void> {
    let complete: boolean;
    try {
      const decision = await this.afterExhausted(unit, outcome);
      complete = this.finish(unit, outcome, decision);
    } catch (err) {
      complete = this.unexpected(err);
    }
    owner.unitEnded(unit, complete);
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
