/**
 * A unit's attempts, to the unit's end: each attempt of its pipeline under its time limit, retries
 * with backoff while its budget lasts, and the failure handler's decision once it is spent. Each
 * unit has its own budget, its own backoff and its own outcome. Aborting the partition's signal
 * (ownership loss, the shutdown deadline) ends every unit at once as `aborted`. Nearly every unit
 * ends after one attempt that succeeds; that path costs one attempt object, and no promise when
 * the handler returns none.
 */
import { EhwError, HandlerFailedError, toError } from "../../../common/errors.js";
import { backoffDelayMs, sleep } from "../../../common/retry.js";
import type { FailureDecision, FailureHandler } from "../../../handlers/failure.js";
import { type PipelineRunContext, startPipeline } from "../../../handlers/pipeline.js";
import type { Logger } from "../../../observability/logger.js";
import type { PartitionObserver, UnitOutcome } from "../../../observability/observer.js";
import type { AttemptSpan, AttemptTracer } from "../../../observability/tracing.js";
import { LATER, type NowOrLater, promiseOf, type Settle } from "../now-or-later.js";
import type { WorkUnit } from "../ordering/scheduler.js";
import { type Deadline, DeadlineWatch } from "./deadlines.js";

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

/** What every attempt of one partition shares; built once per partition, not per event. */
export interface AttemptContext {
  /** Context fields of every attempt except `attempt` and `signal`. */
  readonly base: Omit<PipelineRunContext, "attempt" | "signal">;
  /** Fired on ownership loss or at the shutdown deadline. */
  readonly signal: AbortSignal;
  /** Logger for retry lines. */
  readonly logger: Logger;
  /** Uniform random source for backoff jitter; default Math.random. */
  readonly random?: () => number;
  /** Receives the duration of every attempt (metrics); default none, and then nothing is timed. */
  readonly observer?: Pick<PartitionObserver, "handlerAttempt">;
  /** Opens a span per attempt (tracing on); default none, and then nothing is traced. */
  readonly tracer?: AttemptTracer;
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

/** How one attempt ended: it succeeded, or failed with `error` (the handler's, or a timeout). */
type AttemptResult = { readonly failed: false } | { readonly failed: true; readonly error: unknown };

/** The results of nearly every attempt and unit, shared rather than built per event. */
const SUCCEEDED: AttemptResult = Object.freeze({ failed: false });
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
      void this.finish(unit, 0, new HandlerFailedError("no attempts allowed"), owner);
      return LATER;
    }
    const result = new Attempt(unit, 1, this.host, this, owner).start();
    if (result === LATER) return LATER;
    if (!result.failed) return DONE_FIRST_TIME;
    void this.finish(unit, 1, result.error, owner);
    return LATER;
  }

  /** {@link Settle}: the first attempt of a unit ended after `run` returned. */
  settled(result: AttemptResult, attempt: Attempt<UnitOwner>): void {
    if (result.failed) void this.finish(attempt.unit, 1, result.error, attempt.of);
    else attempt.of.settled(DONE_FIRST_TIME, attempt.unit);
  }

  /** After `failed` attempts, the last with `failure`: aborted, exhausted, or retried after backoff. */
  private async retry(unit: WorkUnit, failed: number, failure: unknown): Promise<AttemptOutcome> {
    const { options, context } = this.host;
    for (;;) {
      if (context.signal.aborted) return { kind: "aborted", attempts: failed };
      const error = toError(failure);
      // A handler may say that trying again cannot help by throwing one of our errors marked so.
      const retriable = !(error instanceof EhwError) || error.retriable;
      if (!retriable || failed >= options.maxAttempts) return { kind: "exhausted", attempts: failed, error };
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
      try {
        await sleep(delayMs, context.signal);
      } catch {
        return { kind: "aborted", attempts: failed };
      }
      if (context.signal.aborted) return { kind: "aborted", attempts: failed };
      failed += 1;
      const attempt = failed;
      const result = await promiseOf<AttemptResult>((settle) =>
        new Attempt(unit, attempt, this.host, settle, undefined).start(),
      );
      if (!result.failed) return { kind: "done", attempts: failed };
      failure = result.error;
    }
  }

  /** Ends a unit whose first attempt failed or could not run: retries, decision, then `owner`. */
  private async finish(unit: WorkUnit, failed: number, failure: unknown, owner: UnitOwner): Promise<void> {
    let end: UnitEnd;
    try {
      end = await this.decide(unit, await this.retry(unit, failed, failure));
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

/** Deadlines of all running attempts in this process, on one timer. */
const deadlines = new DeadlineWatch();

/**
 * Attempt controllers by the partition signal they follow, all aborted by one listener. Not
 * `AbortSignal.any` per attempt: on Node 20 each call leaves an entry on the long-lived parent
 * signal that is never released (nodejs/node#55351), so memory grew with every event.
 */
const followers = new WeakMap<AbortSignal, Set<AbortController>>();

function followersOf(parent: AbortSignal): Set<AbortController> {
  const known = followers.get(parent);
  if (known !== undefined) return known;
  const children = new Set<AbortController>();
  followers.set(parent, children);
  const abortAll = (): void => {
    for (const c of children) c.abort(parent.reason);
    children.clear();
  };
  parent.addEventListener("abort", abortAll, { once: true });
  return children;
}

/**
 * One attempt: its context (what the pipeline and the handlers see), its deadline entry, and its
 * end, in one object with no closures. Under a time limit its `signal` also fires when the limit
 * passes; the AbortController behind it is built only when something reads `signal` (most handlers
 * never do, and one per event was a measurable share of the per-event cost) and follows the
 * partition's signal only while the attempt runs. Private fields, so that a handler spreading its
 * context sees only the context's fields. `Of` is what the attempt runs for, handed back at its end.
 */
class Attempt<Of> implements PipelineRunContext, Deadline {
  readonly partitionId: string;
  readonly eventHubName: string;
  readonly consumerGroup: string;
  readonly logger: Logger;
  readonly attempt: number;
  #controller: AbortController | undefined;
  /** The partition's followers, holding the controller while the attempt runs. */
  #following: Set<AbortController> | undefined;
  /** The time-out error, once the limit passed. */
  #timedOut: Error | undefined;
  /** The attempt is over (finished, failed or timed out): its end was reported, or needs none. */
  #over = false;
  #deadlineMs = 0;
  #startedMs = 0;
  readonly #ctx: AttemptContext;
  readonly #unit: WorkUnit;
  readonly #timeoutMs: number;
  readonly #settle: Settle<AttemptResult, Attempt<Of>>;
  readonly #of: Of;
  #span: AttemptSpan | undefined;

  constructor(
    unit: WorkUnit,
    attempt: number,
    host: AttemptsHost,
    settle: Settle<AttemptResult, Attempt<Of>>,
    of: Of,
  ) {
    const { base } = host.context;
    this.partitionId = base.partitionId;
    this.eventHubName = base.eventHubName;
    this.consumerGroup = base.consumerGroup;
    this.logger = base.logger;
    this.attempt = attempt;
    this.#ctx = host.context;
    this.#unit = unit;
    this.#timeoutMs = host.options.handlerTimeoutMs;
    this.#settle = settle;
    this.#of = of;
  }

  /** The unit this attempt runs. */
  get unit(): WorkUnit {
    return this.#unit;
  }

  /** What the attempt runs for, as its caller passed it. */
  get of(): Of {
    return this.#of;
  }

  get signal(): AbortSignal {
    const parent = this.#ctx.signal;
    if (this.#timeoutMs <= 0) return parent;
    if (this.#controller !== undefined) return this.#controller.signal;
    const controller = new AbortController();
    this.#controller = controller;
    if (this.#timedOut !== undefined) controller.abort(this.#timedOut);
    else if (parent.aborted) controller.abort(parent.reason);
    // Read after the attempt ended: it no longer follows the partition, as an ended attempt's would not.
    else if (!this.#over) this.#following = followersOf(parent).add(controller);
    return controller.signal;
  }

  /** The attempt span's context (tracing on), for the handler's own spans. */
  get traceContext(): AttemptSpan["context"] | undefined {
    return this.#span?.context;
  }

  /** Throws what `signal` would have fired with, without building it. */
  throwIfAborted(): void {
    if (this.#timedOut !== undefined) throw this.#timedOut;
    this.#ctx.signal.throwIfAborted();
  }

  /** {@link Deadline}: set by the watch. */
  get deadlineMs(): number {
    return this.#deadlineMs;
  }

  set deadlineMs(value: number) {
    this.#deadlineMs = value;
  }

  /**
   * Starts the attempt. Its result at once when the pipeline finished or failed synchronously (no
   * timer could have fired meanwhile, so the limit cannot have passed first); otherwise LATER, and
   * the receiver is told once the pipeline settles or the time limit passes, whichever is first.
   * The deadline counts from the start, but is registered only once the pipeline went asynchronous.
   */
  start(): NowOrLater<AttemptResult> {
    if (this.#timeoutMs > 0 || this.#ctx.observer !== undefined) this.#startedMs = deadlines.now();
    let pending: Promise<void> | undefined;
    const { pipeline, events } = this.#unit;
    try {
      this.#span = this.#ctx.tracer?.start(pipeline.name, this, events);
      pending =
        this.#span === undefined
          ? startPipeline(pipeline, events, this)
          : this.#span.run(() => startPipeline(pipeline, events, this));
    } catch (error) {
      this.#close({ failed: true, error });
      return { failed: true, error };
    }
    if (pending === undefined) {
      this.#close(SUCCEEDED);
      return SUCCEEDED;
    }
    if (this.#timeoutMs > 0) deadlines.watchFrom(this, this.#startedMs, this.#timeoutMs);
    void this.#follow(pending);
    return LATER;
  }

  /** {@link Deadline}: the limit passed; the signal fires and the attempt fails. */
  expire(): void {
    if (this.#over) return;
    const { pipeline, events } = this.#unit;
    const sequenceNumber = events[0]?.sequenceNumber;
    const { partitionId, attempt } = this;
    const error = new HandlerFailedError(
      `pipeline "${pipeline.name}" timed out after ${this.#timeoutMs} ms on partition ${partitionId} at sequence number ${sequenceNumber}, attempt ${attempt}`,
      { retriable: true, context: { pipeline: pipeline.name, partitionId, sequenceNumber, attempt } },
    );
    this.#timedOut = error;
    this.#controller?.abort(error);
    // The pipeline that lost the race keeps running in the background; its signal has fired.
    this.#end({ failed: true, error });
  }

  async #follow(pending: Promise<void>): Promise<void> {
    try {
      await pending;
    } catch (error) {
      this.#end({ failed: true, error });
      return;
    }
    this.#end(SUCCEEDED);
  }

  /** Reports the end once: the first of the pipeline settling and the limit passing. */
  #end(result: AttemptResult): void {
    if (this.#over) return;
    if (this.#timeoutMs > 0) deadlines.unwatch(this);
    this.#close(result);
    this.#settle.settled(result, this);
  }

  /** The attempt is over: its signal stops following the partition's, and its duration is reported. */
  #close(result: AttemptResult): void {
    this.#over = true;
    this.#span?.end(result.failed, result.failed ? result.error : undefined);
    if (this.#controller !== undefined) this.#following?.delete(this.#controller);
    this.#following = undefined;
    const { observer } = this.#ctx;
    if (observer !== undefined) {
      observer.handlerAttempt(this.#unit.pipeline.name, (deadlines.now() - this.#startedMs) / 1000);
    }
  }
}
