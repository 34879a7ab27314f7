/**
 * Runs one unit of work with its own retry budget: attempts with backoff between them, an optional
 * time limit per attempt, and an abort signal that ends everything at once (ownership loss or the
 * shutdown deadline). The outcome says whether the unit is done, was abandoned, or exhausted.
 */
import { EhwError, HandlerFailedError, toError } from "../common/errors.js";
import { backoffDelayMs, sleep } from "../common/retry.js";
import type { PipelineRunContext } from "../handlers/pipeline.js";
import type { Logger } from "../observability/logger.js";
import type { PartitionObserver } from "../observability/observer.js";
import { AttemptRun, runAttempt } from "./attempt-run.js";
import type { WorkUnit } from "./partition/ordering/units.js";

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

/** How a unit ended. */
export type AttemptOutcome =
  | { readonly kind: "done"; readonly attempts: number }
  | { readonly kind: "aborted"; readonly attempts: number }
  | { readonly kind: "exhausted"; readonly attempts: number; readonly error: Error };

/** What {@link runWithAttempts} needs besides the unit. */
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
}

/**
 * Told once when a unit's attempts have ended, with the `tag` its caller passed to
 * {@link startAttempts} (so one listener serves many callers without a closure per unit).
 */
export interface AttemptsListener<T> {
  /** The attempts ended as `outcome`. */
  attemptsEnded(unit: WorkUnit, outcome: AttemptOutcome, tag: T): void;
  /** The retry machinery itself failed (a broken invariant, not a handler's failure). */
  attemptsBroke(unit: WorkUnit, error: unknown, tag: T): void;
}

/** Runs the unit until an attempt succeeds, the budget is spent, or the signal fires. */
export function runWithAttempts(
  unit: WorkUnit,
  options: AttemptOptions,
  ctx: AttemptContext,
): Promise<AttemptOutcome> {
  return new Promise((resolve, reject) => {
    const outcome = startAttempts(unit, options, ctx, SETTLE_PROMISE, { resolve, reject });
    if (outcome !== undefined) resolve(outcome);
  });
}

/** The listener of {@link runWithAttempts}: the tag is its promise's resolving functions. */
const SETTLE_PROMISE: AttemptsListener<{
  resolve: (outcome: AttemptOutcome) => void;
  reject: (error: unknown) => void;
}> = {
  attemptsEnded: (_unit, outcome, settle) => settle.resolve(outcome),
  attemptsBroke: (_unit, error, settle) => settle.reject(error),
};

/**
 * Starts the unit's attempts. Returns the outcome when it is known at once (the first attempt
 * succeeded synchronously, or none could start); otherwise undefined, and `listener` is told the
 * outcome exactly once, later, never from within this call. The processor runs every event through
 * here: the usual path, one attempt that goes asynchronous and succeeds, costs one object and one
 * awaited promise, where a promise per layer (attempt, unit, processor) cost measurable CPU and
 * garbage at tens of thousands of events a second.
 */
export function startAttempts<T>(
  unit: WorkUnit,
  options: AttemptOptions,
  ctx: AttemptContext,
  listener: AttemptsListener<T>,
  tag: T,
): AttemptOutcome | undefined {
  if (ctx.signal.aborted) return { kind: "aborted", attempts: 0 };
  // Not reachable with a compiled config (maxAttempts ≥ 1); a zero budget must not pass as success.
  if (options.maxAttempts < 1) {
    return { kind: "exhausted", attempts: 0, error: new HandlerFailedError("no attempts allowed") };
  }
  const startedAt = ctx.observer === undefined ? 0 : performance.now();
  const run = new FirstAttempt(unit, options, ctx, listener, tag, startedAt);
  let pending: boolean;
  try {
    pending = run.start();
  } catch (err) {
    run.ended(true, err);
    return undefined;
  }
  if (pending) return undefined;
  observeAttempt(unit, ctx, startedAt);
  return DONE_FIRST_TIME;
}

/**
 * After attempt number `attempt` failed with `err`: aborted, exhausted, or — after the backoff —
 * the next attempts.
 */
async function afterFailure(
  unit: WorkUnit,
  options: AttemptOptions,
  ctx: AttemptContext,
  attempt: number,
  err: unknown,
): Promise<AttemptOutcome> {
  let failed = attempt;
  let failure = err;
  for (;;) {
    if (ctx.signal.aborted) return { kind: "aborted", attempts: failed };
    const error = toError(failure);
    // A handler may say that trying again cannot help by throwing one of our errors marked so.
    const retriable = !(error instanceof EhwError) || error.retriable;
    if (!retriable || failed >= options.maxAttempts) return { kind: "exhausted", attempts: failed, error };
    const delayMs = backoffDelayMs(
      failed,
      { baseDelayMs: options.retryBaseDelayMs, maxDelayMs: options.retryMaxDelayMs },
      ctx.random,
    );
    ctx.logger.warn(
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
      await sleep(delayMs, ctx.signal);
    } catch {
      return { kind: "aborted", attempts: failed };
    }
    if (ctx.signal.aborted) return { kind: "aborted", attempts: failed };
    failed += 1;
    const startedAt = ctx.observer === undefined ? 0 : performance.now();
    try {
      await runAttempt(unit, failed, options.handlerTimeoutMs, ctx);
      return { kind: "done", attempts: failed };
    } catch (next) {
      failure = next;
    } finally {
      observeAttempt(unit, ctx, startedAt);
    }
  }
}

/** Reports an attempt's duration, when something observes them. */
function observeAttempt(unit: WorkUnit, ctx: AttemptContext, startedAt: number): void {
  ctx.observer?.handlerAttempt(unit.pipeline.name, (performance.now() - startedAt) / 1000);
}

/** The outcome of nearly every unit, shared rather than built per event. */
const DONE_FIRST_TIME: AttemptOutcome = Object.freeze({ kind: "done", attempts: 1 });

/** A unit's first attempt, which also carries what to do when the unit's attempts end. */
class FirstAttempt<T> extends AttemptRun {
  readonly #unit: WorkUnit;
  readonly #options: AttemptOptions;
  readonly #ctx: AttemptContext;
  readonly #listener: AttemptsListener<T>;
  readonly #tag: T;
  readonly #startedAt: number;

  constructor(
    unit: WorkUnit,
    options: AttemptOptions,
    ctx: AttemptContext,
    listener: AttemptsListener<T>,
    tag: T,
    startedAt: number,
  ) {
    super(unit, 1, options.handlerTimeoutMs, ctx);
    this.#unit = unit;
    this.#options = options;
    this.#ctx = ctx;
    this.#listener = listener;
    this.#tag = tag;
    this.#startedAt = startedAt;
  }

  ended(failed: boolean, error: unknown): void {
    const unit = this.#unit;
    const listener = this.#listener;
    const tag = this.#tag;
    observeAttempt(unit, this.#ctx, this.#startedAt);
    if (!failed) {
      listener.attemptsEnded(unit, DONE_FIRST_TIME, tag);
      return;
    }
    afterFailure(unit, this.#options, this.#ctx, 1, error).then(
      (outcome) => listener.attemptsEnded(unit, outcome, tag),
      (broken: unknown) => listener.attemptsBroke(unit, broken, tag),
    );
  }
}
