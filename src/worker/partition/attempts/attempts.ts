/**
 * A unit's attempts, to the unit's end: the first attempt, retries with backoff while its budget
 * lasts, and the failure handler's decision once it is spent. Each unit has its own budget, its own
 * backoff and its own outcome. Aborting the partition's signal (ownership loss, the shutdown
 * deadline) ends every unit at once as `aborted`. Nearly every unit ends after one attempt that
 * succeeds; that path costs one attempt object, and no promise when the handler returns none.
 */
import { EhwError, HandlerFailedError, toError } from "../../../common/errors.js";
import { backoffDelayMs, sleep } from "../../../common/retry.js";
import type { FailureDecision, FailureHandler } from "../../../handlers/failure.js";
import type { UnitOutcome } from "../../../observability/observer.js";
import { LATER, type NowOrLater, promiseOf, type Settle } from "../now-or-later.js";
import type { WorkUnit } from "../ordering/scheduler.js";
import { Attempt, type AttemptContext, type AttemptResult } from "./attempt.js";

export type { AttemptContext } from "./attempt.js";

/** Retry settings of one unit. */
export interface AttemptOptions {
  /** Attempts, first try included; ≥ 1. */
  readonly maxAttempts: number;
  /** Backoff scale, milliseconds. */
  readonly retryBaseDelayMs: number;
  /** Backoff cap, milliseconds. */
  readonly retryMaxDelayMs: number;
  /** Time limit of one attempt, milliseconds; 0 = none. */
  readonly handlerTimeoutMs: number;
}

/** How a unit's attempts ended. */
export type AttemptOutcome =
  | { readonly kind: "done"; readonly attempts: number }
  | { readonly kind: "aborted"; readonly attempts: number }
  | { readonly kind: "exhausted"; readonly attempts: number; readonly error: Error };

/** How a unit ended: its attempts' outcome and what was decided about it. */
export interface UnitEnd {
  readonly outcome: AttemptOutcome;
  /**
   * `resolved` when done; after exhausted attempts, the failure handler's decision; `stop` when
   * aborted or lost. The unit counts as complete unless this is `stop`.
   */
  readonly decision: FailureDecision;
  /** Set when the partition must stop: the failure handler said so, or an invariant broke. */
  readonly stopWith?: Error;
}

/** What {@link UnitAttempts} needs of its partition. */
export interface AttemptsHost {
  readonly options: AttemptOptions;
  readonly context: AttemptContext;
  /** Decides about a unit whose attempts are spent. */
  readonly failureHandler: FailureHandler;
  /** Whether the partition was lost: then no failure is handled. */
  isLost(): boolean;
}

/** Where the end of a unit that ended later is told. */
export type UnitOwner = Settle<UnitEnd, WorkUnit>;

/** The end of nearly every unit, shared rather than built per event. */
const DONE_FIRST_TIME: UnitEnd = Object.freeze({
  outcome: Object.freeze({ kind: "done", attempts: 1 }),
  decision: "resolved",
});

/** Runs units of one partition to their end; see the module comment. */
export class UnitAttempts implements Settle<AttemptResult, Attempt<UnitOwner>> {
  constructor(private readonly host: AttemptsHost) {}

  /** Runs the unit to its end: the end at once when known, else LATER and `owner` is told. */
  run(unit: WorkUnit, owner: UnitOwner): NowOrLater<UnitEnd> {
    const { options, context } = this.host;
    if (context.signal.aborted) return { outcome: { kind: "aborted", attempts: 0 }, decision: "stop" };
    // Not reachable with a compiled config (maxAttempts ≥ 1); a zero budget must not pass as success.
    if (options.maxAttempts < 1) {
      const error = new HandlerFailedError("no attempts allowed");
      void this.finish(unit, Promise.resolve({ kind: "exhausted", attempts: 0, error }), owner);
      return LATER;
    }
    const result = new Attempt(unit, 1, options.handlerTimeoutMs, context, this, owner).start();
    if (result === LATER) return LATER;
    if (!result.failed) return DONE_FIRST_TIME;
    void this.finish(unit, this.retry(unit, result.error), owner);
    return LATER;
  }

  /** {@link Settle}: the first attempt of a unit ended after `run` returned. */
  settled(result: AttemptResult, attempt: Attempt<UnitOwner>): void {
    if (!result.failed) {
      attempt.of.settled(DONE_FIRST_TIME, attempt.unit);
      return;
    }
    void this.finish(attempt.unit, this.retry(attempt.unit, result.error), attempt.of);
  }

  /** After the first attempt failed with `err`: aborted, exhausted, or, after backoff, retried. */
  private async retry(unit: WorkUnit, err: unknown): Promise<AttemptOutcome> {
    const { options, context } = this.host;
    let failed = 1;
    let failure = err;
    for (;;) {
      if (context.signal.aborted) return { kind: "aborted", attempts: failed };
      const error = toError(failure);
      // A handler may say that trying again cannot help by throwing one of our errors marked so.
      const retriable = !(error instanceof EhwError) || error.retriable;
      if (!retriable || failed >= options.maxAttempts) return { kind: "exhausted", attempts: failed, error };
      const delayMs = backoffDelayMs(
        failed,
        { baseDelayMs: options.retryBaseDelayMs, maxDelayMs: options.retryMaxDelayMs },
        context.random,
      );
      context.logger.warn(
        {
          pipeline: unit.pipeline.name,
          sequenceNumber: unit.events[0]?.sequenceNumber,
          eventCount: unit.events.length,
          attempt: failed,
          maxAttempts: options.maxAttempts,
          delayMs,
          err: error,
        },
        "handler attempt failed; retrying",
      );
      try {
        await sleep(delayMs, context.signal);
      } catch {
        return { kind: "aborted", attempts: failed };
      }
      if (context.signal.aborted) return { kind: "aborted", attempts: failed };
      failed += 1;
      const attempt = failed;
      const result = await promiseOf<AttemptResult>((settle) =>
        new Attempt(unit, attempt, options.handlerTimeoutMs, context, settle, undefined).start(),
      );
      if (!result.failed) return { kind: "done", attempts: failed };
      failure = result.error;
    }
  }

  /** Ends a unit whose first attempt did not settle it: the decision, then its owner is told. */
  private async finish(unit: WorkUnit, attempts: Promise<AttemptOutcome>, owner: UnitOwner): Promise<void> {
    let end: UnitEnd;
    try {
      end = await this.decide(unit, await attempts);
    } catch (err) {
      // Only a broken invariant gets here; stop rather than risk a checkpoint past unfinished work.
      this.host.context.logger.error({ err }, "unexpected processor error");
      const error = toError(err);
      end = { outcome: { kind: "exhausted", attempts: 0, error }, decision: "stop", stopWith: error };
    }
    owner.settled(end, unit);
  }

  private async decide(unit: WorkUnit, outcome: AttemptOutcome): Promise<UnitEnd> {
    const { host } = this;
    if (outcome.kind === "done") return { outcome, decision: "resolved" };
    if (outcome.kind !== "exhausted" || host.isLost()) return { outcome, decision: "stop" };
    const [event] = unit.events;
    if (event === undefined) return { outcome, decision: "resolved" };
    let decision: FailureDecision;
    try {
      decision = await host.failureHandler.onExhausted({
        event,
        events: unit.events,
        error: outcome.error,
        attempts: outcome.attempts,
        partitionId: host.context.base.partitionId,
        pipeline: unit.pipeline.name,
        signal: host.context.signal,
      });
    } catch (err) {
      host.context.logger.error(
        { err, sequenceNumber: event.sequenceNumber },
        "failure handler threw; stopping",
      );
      decision = "stop";
    }
    return decision === "stop" ? { outcome, decision, stopWith: outcome.error } : { outcome, decision };
  }
}

/** A failure handler for {@link runWithAttempts}: the outcome is all it asks for. */
const STOP: FailureHandler = { onExhausted: async () => "stop" };

/**
 * Runs the unit until an attempt succeeds, the budget is spent, or the signal fires, and resolves
 * the outcome (no failure handler is asked). For callers off the per-event path.
 */
export async function runWithAttempts(
  unit: WorkUnit,
  options: AttemptOptions,
  context: AttemptContext,
): Promise<AttemptOutcome> {
  const attempts = new UnitAttempts({ options, context, failureHandler: STOP, isLost: () => false });
  const end = await promiseOf<UnitEnd>((settle) => attempts.run(unit, settle));
  return end.outcome;
}

/**
 * The metrics outcome of a unit: an exhausted unit the failure handler resolved was dead-lettered,
 * one it skipped was dropped.
 */
export function unitOutcome(end: UnitEnd): UnitOutcome {
  const { outcome, decision } = end;
  if (outcome.kind === "done") return "processed";
  if (outcome.kind === "aborted") return "aborted";
  if (decision === "resolved") return "deadLettered";
  return decision === "skipped" ? "skipped" : "failed";
}
