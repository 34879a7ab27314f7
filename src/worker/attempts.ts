/**
 * Runs one unit of work with its own retry budget: attempts with backoff between them, an optional
 * time limit per attempt, and an abort signal that ends everything at once (ownership loss or the
 * shutdown deadline). The outcome says whether the unit is done, was abandoned, or exhausted.
 */
import { EhwError, HandlerFailedError, toError } from "../errors.js";
import { type PipelineRunContext, startPipeline } from "../handlers/pipeline.js";
import type { Logger } from "../observability/logger.js";
import type { PartitionObserver } from "../observability/observer.js";
import { type Deadline, DeadlineWatch } from "./deadline-watch.js";
import { backoffDelayMs, sleep } from "./retry.js";
import type { WorkUnit } from "./work-units.js";

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

/** Deadlines of all running attempts in this process, on one timer. */
const deadlines = new DeadlineWatch();

/**
 * Attempt controllers by the partition signal they follow. One listener per partition signal
 * aborts them all; `AbortSignal.any` per attempt would do the same, but on Node 20 each call leaves
 * an entry on the long-lived parent signal that is never released (nodejs/node#55351), so a
 * worker's memory grew with every event it handled.
 */
const followers = new WeakMap<AbortSignal, Set<AbortController>>();

function follow(parent: AbortSignal, child: AbortController): () => void {
  let set = followers.get(parent);
  if (set === undefined) {
    const children = new Set<AbortController>();
    set = children;
    followers.set(parent, children);
    parent.addEventListener(
      "abort",
      () => {
        for (const c of children) c.abort(parent.reason);
        children.clear();
      },
      { once: true },
    );
  }
  set.add(child);
  const children = set;
  return () => {
    children.delete(child);
  };
}

/**
 * One attempt: its context (what the pipeline and the handlers see), its deadline entry, and what
 * happens when it ends — one object per attempt, no closures. Its `signal` is the partition's, or,
 * under a time limit, one that also fires when the limit passes: the AbortController behind that
 * is built only when something reads `signal` (most handlers never do, and one controller per
 * event was a measurable share of the per-event cost), and follows the partition's signal only
 * while the attempt runs. Private fields: a handler that spreads its context sees only the
 * context's fields.
 */
abstract class AttemptRun implements PipelineRunContext, Deadline {
  readonly partitionId: string;
  readonly eventHubName: string;
  readonly consumerGroup: string;
  readonly logger: Logger;
  readonly attempt: number;
  #controller: AbortController | undefined;
  #unfollow: (() => void) | undefined;
  #fired = false;
  #firedReason: unknown;
  #settled = false;
  #ended = false;
  #deadlineMs = 0;
  readonly #parent: AbortSignal;
  readonly #unit: WorkUnit;
  readonly #timeoutMs: number;

  constructor(unit: WorkUnit, attempt: number, timeoutMs: number, ctx: AttemptContext) {
    const { base } = ctx;
    this.partitionId = base.partitionId;
    this.eventHubName = base.eventHubName;
    this.consumerGroup = base.consumerGroup;
    this.logger = base.logger;
    this.attempt = attempt;
    this.#parent = ctx.signal;
    this.#unit = unit;
    this.#timeoutMs = timeoutMs;
  }

  /** The attempt ended; called once, never from within {@link start}. */
  abstract ended(failed: boolean, error: unknown): void;

  get signal(): AbortSignal {
    if (this.#timeoutMs <= 0) return this.#parent;
    if (this.#controller !== undefined) return this.#controller.signal;
    const controller = new AbortController();
    this.#controller = controller;
    if (this.#fired) controller.abort(this.#firedReason);
    else if (this.#parent.aborted) controller.abort(this.#parent.reason);
    // Read after the attempt ended: it no longer follows the partition, as a settled attempt's would not.
    else if (!this.#settled) this.#unfollow = follow(this.#parent, controller);
    return controller.signal;
  }

  /** Throws what `signal` would have fired with, without building it. */
  throwIfAborted(): void {
    if (this.#fired) throw this.#firedReason;
    this.#parent.throwIfAborted();
  }

  /** {@link Deadline}: set by the watch. */
  get deadlineMs(): number {
    return this.#deadlineMs;
  }

  set deadlineMs(value: number) {
    this.#deadlineMs = value;
  }

  /**
   * Starts the attempt: false when the pipeline finished synchronously (no timer could have fired
   * meanwhile, so the limit cannot have passed first); throws when it failed synchronously; true
   * when it went asynchronous, and then {@link ended} follows once the pipeline settles or the time
   * limit passes, whichever is first. The deadline counts from the start, but is registered only
   * once the pipeline went asynchronous.
   */
  start(): boolean {
    const startedMs = this.#timeoutMs > 0 ? deadlines.now() : 0;
    let pending: Promise<void> | undefined;
    try {
      pending = startPipeline(this.#unit.pipeline, this.#unit.events, this);
    } catch (err) {
      this.#settle();
      throw err;
    }
    if (pending === undefined) {
      this.#settle();
      return false;
    }
    if (this.#timeoutMs > 0) deadlines.watchFrom(this, startedMs, this.#timeoutMs);
    void this.#follow(pending);
    return true;
  }

  /** {@link Deadline}: the limit passed; the signal fires and the attempt fails. */
  expire(): void {
    if (this.#ended) return;
    const error = timeoutError(this.#unit, this.attempt, this.#timeoutMs, this.partitionId);
    this.#fired = true;
    this.#firedReason = error;
    this.#settle();
    this.#controller?.abort(error);
    // The pipeline that lost the race keeps running in the background; its signal has fired.
    this.#end(true, error);
  }

  async #follow(pending: Promise<void>): Promise<void> {
    try {
      await pending;
    } catch (err) {
      this.#end(true, err);
      return;
    }
    this.#end(false, undefined);
  }

  /** Reports the end once: the first of the pipeline settling and the limit passing. */
  #end(failed: boolean, error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#timeoutMs > 0) deadlines.unwatch(this);
    this.#settle();
    this.ended(failed, error);
  }

  /** The attempt ended: its signal stops following the partition's. */
  #settle(): void {
    this.#settled = true;
    this.#unfollow?.();
    this.#unfollow = undefined;
  }
}

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

/** A retry, awaited by the retry loop: a promise per attempt is no cost on that path. */
class LaterAttempt extends AttemptRun {
  readonly #resolve: () => void;
  readonly #reject: (reason: unknown) => void;

  constructor(
    unit: WorkUnit,
    attempt: number,
    timeoutMs: number,
    ctx: AttemptContext,
    resolve: () => void,
    reject: (reason: unknown) => void,
  ) {
    super(unit, attempt, timeoutMs, ctx);
    this.#resolve = resolve;
    this.#reject = reject;
  }

  ended(failed: boolean, error: unknown): void {
    if (failed) this.#reject(error);
    else this.#resolve();
  }
}

/**
 * Runs one attempt, bounded by the time limit (its signal also fires when the limit passes):
 * resolves when it succeeded, rejects when it failed or the limit passed first.
 */
function runAttempt(unit: WorkUnit, attempt: number, timeoutMs: number, ctx: AttemptContext): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // A synchronous failure throws here and so rejects the promise.
    if (!new LaterAttempt(unit, attempt, timeoutMs, ctx, resolve, reject).start()) resolve();
  });
}

function timeoutError(unit: WorkUnit, attempt: number, timeoutMs: number, partitionId: string): Error {
  const first = unit.events[0];
  return new HandlerFailedError(
    `pipeline "${unit.pipeline.name}" timed out after ${timeoutMs} ms on partition ${partitionId} at sequence number ${first?.sequenceNumber}, attempt ${attempt}`,
    {
      retriable: true,
      context: {
        pipeline: unit.pipeline.name,
        partitionId,
        sequenceNumber: first?.sequenceNumber,
        attempt,
      },
    },
  );
}
