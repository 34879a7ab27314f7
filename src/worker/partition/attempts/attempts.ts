/**
 * A unit's attempts, to the unit's end: each attempt of its pipeline (attempt.ts), retries with
 * backoff while its budget lasts, and the failure handler's decision once it is spent. Each unit
 * has its own budget, its own backoff and its own outcome. Aborting the partition's signal
 * (ownership loss, the shutdown deadline) ends every unit at once as `aborted`. What follows a
 * failed attempt is told to that attempt, whose span records it (tracing on). Nearly every unit
 * ends after one attempt that succeeds; that path costs one attempt object, and no promise when
 * the handler returns none.
 */
import { EhwError, HandlerFailedError, toError } from "../../../common/errors.js";
import { backoffDelayMs, sleep } from "../../../common/retry.js";
import type { FailureDecision, FailureHandler } from "../../../handlers/failure.js";
import type { UnitOutcome } from "../../../observability/observer.js";
import type { AttemptFollowUp } from "../../../observability/tracing.js";
import { LATER, type NowOrLater, promiseOf, type Settle } from "../now-or-later.js";
import type { WorkUnit } from "../ordering/scheduler.js";
import {
  Attempt,
  type AttemptContext,
  type AttemptOptions,
  type AttemptResult,
  type AttemptScope,
} from "./attempt.js";
import { TracedAttempt } from "./traced-attempt.js";

export type { AttemptContext, AttemptOptions } from "./attempt.js";

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
export interface AttemptsHost extends AttemptScope {
  /** Decides about a unit whose attempts are spent. */
  readonly failureHandler: FailureHandler;
  /** Whether the partition was lost: then no failure is handled. */
  isLost(): boolean;
}

/** Where the end of a unit that ended later is told. */
export type UnitOwner = Settle<UnitEnd, WorkUnit>;

/** Any attempt of a unit, whatever it runs for. */
type AnyAttempt = Attempt<unknown>;

/** How the retries of a unit ended, with its last failed attempt (none when no attempt ran). */
interface Retried {
  readonly outcome: AttemptOutcome;
  readonly last: AnyAttempt | undefined;
}

/** The end of nearly every unit, shared rather than built per event. */
const DONE_FIRST_TIME: UnitEnd = Object.freeze({
  outcome: Object.freeze({ kind: "done", attempts: 1 }),
  decision: "resolved",
});

/** Runs units of one partition to their end; see the module comment. */
export class UnitAttempts implements Settle<AttemptResult, Attempt<UnitOwner>> {
  /** Chosen once per partition, so that with tracing off no attempt carries tracing code. */
  private readonly Kind: typeof Attempt;

  constructor(private readonly host: AttemptsHost) {
    this.Kind = host.context.tracer === undefined ? Attempt : TracedAttempt;
  }

  /** Runs the unit to its end: the end at once when known, else LATER and `owner` is told. */
  run(unit: WorkUnit, owner: UnitOwner): NowOrLater<UnitEnd> {
    const { options, context } = this.host;
    if (context.signal.aborted) return { outcome: { kind: "aborted", attempts: 0 }, decision: "stop" };
    // Not reachable with a compiled config (maxAttempts ≥ 1); a zero budget must not pass as success.
    if (options.maxAttempts < 1) {
      void this.finish(unit, undefined, new HandlerFailedError("no attempts allowed"), owner);
      return LATER;
    }
    const attempt = new this.Kind(unit, 1, this.host, this, owner);
    const result = attempt.start();
    if (result === LATER) return LATER;
    if (!result.failed) return DONE_FIRST_TIME;
    void this.finish(unit, attempt, result.error, owner);
    return LATER;
  }

  /** {@link Settle}: the first attempt of a unit ended after `run` returned. */
  settled(result: AttemptResult, attempt: Attempt<UnitOwner>): void {
    if (result.failed) void this.finish(attempt.unit, attempt, result.error, attempt.of);
    else attempt.of.settled(DONE_FIRST_TIME, attempt.unit);
  }

  /** After `last` failed with `failure`: aborted, exhausted, or retried after backoff. */
  private async retry(unit: WorkUnit, last: AnyAttempt | undefined, failure: unknown): Promise<Retried> {
    const { options, context } = this.host;
    for (;;) {
      const failed = last?.attempt ?? 0;
      if (context.signal.aborted) return { outcome: { kind: "aborted", attempts: failed }, last };
      const error = toError(failure);
      // A handler may say that trying again cannot help by throwing one of our errors marked so.
      const retriable = !(error instanceof EhwError) || error.retriable;
      if (!retriable || failed >= options.maxAttempts)
        return { outcome: { kind: "exhausted", attempts: failed, error }, last };
      const backoff = { baseDelayMs: options.retryBaseDelayMs, maxDelayMs: options.retryMaxDelayMs };
      const delayMs = backoffDelayMs(failed, backoff, context.random);
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
      last?.followedBy({ kind: "retry", delayMs, nextAttempt: failed + 1 });
      try {
        await sleep(delayMs, context.signal);
      } catch {
        return { outcome: { kind: "aborted", attempts: failed }, last };
      }
      if (context.signal.aborted) return { outcome: { kind: "aborted", attempts: failed }, last };
      const [result, next] = await this.attemptOnce(unit, failed + 1);
      if (!result.failed) return { outcome: { kind: "done", attempts: failed + 1 }, last: undefined };
      last = next;
      failure = result.error;
    }
  }

  /** Runs attempt `n` of `unit` to its result. */
  private attemptOnce(unit: WorkUnit, n: number): Promise<[AttemptResult, AnyAttempt]> {
    return new Promise((resolve) => {
      // A Settle receiver is never called from within start(), so `attempt` is set by then.
      const settle = { settled: (result: AttemptResult) => resolve([result, attempt]) };
      const attempt: AnyAttempt = new this.Kind<unknown>(unit, n, this.host, settle, undefined);
      const now = attempt.start();
      if (now !== LATER) resolve([now, attempt]);
    });
  }

  /** Ends a unit whose first attempt failed or could not run: retries, decision, then `owner`. */
  private async finish(
    unit: WorkUnit,
    first: AnyAttempt | undefined,
    failure: unknown,
    owner: UnitOwner,
  ): Promise<void> {
    let end: UnitEnd;
    let last = first;
    let followUp: AttemptFollowUp;
    try {
      const retried = await this.retry(unit, first, failure);
      last = retried.last;
      [end, followUp] = await this.decide(unit, retried.outcome, last);
    } catch (err) {
      // Only a broken invariant gets here; stop rather than risk a checkpoint past unfinished work.
      this.host.context.logger.error({ err }, "unexpected processor error");
      const error = toError(err);
      end = { outcome: { kind: "exhausted", attempts: 0, error }, decision: "stop", stopWith: error };
      followUp = { kind: "partition stopped", reason: "unexpected processor error" };
    }
    last?.followedBy(followUp);
    owner.settled(end, unit);
  }

  /** The unit's end and what its last failed attempt's span records about it. */
  private async decide(
    unit: WorkUnit,
    outcome: AttemptOutcome,
    last: AnyAttempt | undefined,
  ): Promise<[UnitEnd, AttemptFollowUp]> {
    const { host } = this;
    if (outcome.kind === "done") return [{ outcome, decision: "resolved" }, { kind: "resolved" }];
    if (outcome.kind !== "exhausted" || host.isLost())
      return [{ outcome, decision: "stop" }, { kind: "aborted" }];
    const [event] = unit.events;
    if (event === undefined) return [{ outcome, decision: "resolved" }, { kind: "resolved" }];
    let decision: FailureDecision;
    let references: readonly string[] = [];
    let reason = "the failure handler said stop";
    const exhausted = {
      event,
      events: unit.events,
      error: outcome.error,
      attempts: outcome.attempts,
      partitionId: host.context.base.partitionId,
      pipeline: unit.pipeline.name,
      signal: host.context.signal,
      onStored: (stored: readonly string[]) => {
        references = stored;
      },
    };
    try {
      // In the last attempt's context, so that a traced dead-letter write nests under its span.
      const handler = host.failureHandler;
      decision = await (last === undefined
        ? handler.onExhausted(exhausted)
        : last.within(() => handler.onExhausted(exhausted)));
    } catch (err) {
      host.context.logger.error(
        { err, sequenceNumber: event.sequenceNumber },
        "failure handler threw; stopping",
      );
      decision = "stop";
      reason = "the failure handler threw";
    }
    if (decision === "stop")
      return [
        { outcome, decision, stopWith: outcome.error },
        { kind: "partition stopped", reason },
      ];
    return [{ outcome, decision }, followUpOf(decision, references)];
  }
}

function followUpOf(decision: "resolved" | "skipped", references: readonly string[]): AttemptFollowUp {
  if (decision === "skipped") return { kind: "skipped" };
  return references.length > 0 ? { kind: "dead-lettered", references } : { kind: "resolved" };
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
