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

/** Runs the unit until an attempt succeeds, the budget is spent, or the signal fires. */
export async function runWithAttempts(
  unit: WorkUnit,
  options: AttemptOptions,
  ctx: AttemptContext,
): Promise<AttemptOutcome> {
  return startWithAttempts(unit, options, ctx);
}

/**
 * {@link runWithAttempts}, but the outcome itself rather than a promise of it when the first
 * attempt succeeded synchronously: the processor then finishes the event without a turn of the
 * microtask queue.
 */
export function startWithAttempts(
  unit: WorkUnit,
  options: AttemptOptions,
  ctx: AttemptContext,
): AttemptOutcome | Promise<AttemptOutcome> {
  if (ctx.signal.aborted) return { kind: "aborted", attempts: 0 };
  // Not reachable with a compiled config (maxAttempts ≥ 1); a zero budget must not pass as success.
  if (options.maxAttempts < 1) {
    return { kind: "exhausted", attempts: 0, error: new HandlerFailedError("no attempts allowed") };
  }
  const startedAt = ctx.observer === undefined ? 0 : performance.now();
  let pending: Promise<void> | undefined;
  try {
    pending = startAttempt(unit, 1, options.handlerTimeoutMs, ctx);
  } catch (err) {
    observeAttempt(unit, ctx, startedAt);
    return afterFailure(unit, options, ctx, 1, err);
  }
  if (pending !== undefined) return settleAttempt(pending, unit, options, ctx, 1, startedAt);
  observeAttempt(unit, ctx, startedAt);
  return DONE_FIRST_TIME;
}

/** Awaits an attempt that went asynchronous, then goes on as its outcome says. */
async function settleAttempt(
  pending: Promise<void>,
  unit: WorkUnit,
  options: AttemptOptions,
  ctx: AttemptContext,
  attempt: number,
  startedAt: number,
): Promise<AttemptOutcome> {
  try {
    await pending;
  } catch (err) {
    observeAttempt(unit, ctx, startedAt);
    return afterFailure(unit, options, ctx, attempt, err);
  }
  observeAttempt(unit, ctx, startedAt);
  return attempt === 1 ? DONE_FIRST_TIME : { kind: "done", attempts: attempt };
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
      const pending = startAttempt(unit, failed, options.handlerTimeoutMs, ctx);
      if (pending !== undefined) await pending;
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
 * The context of one attempt under a time limit, which is also its deadline entry and settles the
 * attempt's promise: one object per attempt, no closures. Its `signal` fires on the partition's
 * signal or when the attempt's own limit passes; the AbortController behind it is built only when
 * something reads `signal` (most handlers never do, and one controller per event was a measurable
 * share of the per-event cost), and follows the partition's signal only while the attempt runs.
 * Private fields: a handler that spreads its context sees only the context's fields.
 */
class AttemptRunContext implements PipelineRunContext, Deadline {
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
  #deadlineMs = 0;
  #resolve: (() => void) | undefined;
  #reject: ((reason: unknown) => void) | undefined;
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

  get signal(): AbortSignal {
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
   * Starts the attempt: undefined when the pipeline finished synchronously (no timer could have
   * fired meanwhile, so the limit cannot have passed first); throws when it failed synchronously;
   * else a promise that settles with the pipeline, or rejects when the time limit passes first.
   * The deadline counts from the start, but is registered only once the pipeline went asynchronous.
   */
  start(): Promise<void> | undefined {
    const startedMs = deadlines.now();
    let pending: Promise<void> | undefined;
    try {
      pending = startPipeline(this.#unit.pipeline, this.#unit.events, this);
    } catch (err) {
      this.#settle();
      throw err;
    }
    if (pending === undefined) {
      this.#settle();
      return undefined;
    }
    AttemptRunContext.#capturing = this;
    const done = new Promise<void>(AttemptRunContext.#capture);
    deadlines.watchFrom(this, startedMs, this.#timeoutMs);
    void this.#follow(pending);
    return done;
  }

  /** {@link Deadline}: the limit passed; the signal fires and the attempt fails. */
  expire(): void {
    const error = timeoutError(this.#unit, this.attempt, this.#timeoutMs, this.partitionId);
    this.#fired = true;
    this.#firedReason = error;
    this.#settle();
    this.#controller?.abort(error);
    // The attempt that lost the race keeps running in the background; its signal has fired.
    this.#reject?.(error);
  }

  async #follow(pending: Promise<void>): Promise<void> {
    try {
      await pending;
    } catch (err) {
      deadlines.unwatch(this);
      this.#settle();
      this.#reject?.(err);
      return;
    }
    deadlines.unwatch(this);
    this.#settle();
    this.#resolve?.();
  }

  /** The context whose promise is being made: a shared executor, not a closure per attempt. */
  static #capturing: AttemptRunContext | undefined;

  static #capture(resolve: () => void, reject: (reason: unknown) => void): void {
    const ctx = AttemptRunContext.#capturing!;
    AttemptRunContext.#capturing = undefined;
    ctx.#resolve = resolve;
    ctx.#reject = reject;
  }

  /** The attempt ended: its signal stops following the partition's. */
  #settle(): void {
    this.#settled = true;
    this.#unfollow?.();
    this.#unfollow = undefined;
  }
}

/**
 * Starts one attempt, bounded by the time limit (its signal also fires when the limit passes):
 * undefined when it finished synchronously, a promise when it went asynchronous; throws or rejects
 * when it failed.
 */
function startAttempt(
  unit: WorkUnit,
  attempt: number,
  timeoutMs: number,
  ctx: AttemptContext,
): Promise<void> | undefined {
  if (timeoutMs > 0) return new AttemptRunContext(unit, attempt, timeoutMs, ctx).start();
  const { base } = ctx;
  return startPipeline(unit.pipeline, unit.events, {
    partitionId: base.partitionId,
    eventHubName: base.eventHubName,
    consumerGroup: base.consumerGroup,
    logger: base.logger,
    attempt,
    signal: ctx.signal,
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
