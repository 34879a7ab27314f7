/**
 * One attempt of a unit's pipeline: the context the pipeline and its handlers see, the attempt's
 * time limit, and its end, reported once — the first of the pipeline settling and the limit
 * passing. Nearly every attempt succeeds at once; that path costs one object and no promise when
 * the handler returns none. The attempt knows nothing of retries or of tracing: UnitAttempts
 * (attempts.ts) decides what follows a failure, and TracedAttempt (traced-attempt.ts) adds the span.
 */
import { HandlerFailedError } from "../../../common/errors.js";
import type { PipelineRunContext } from "../../../handlers/pipeline.js";
import { startPipeline } from "../../../handlers/pipeline.js";
import type { Logger } from "../../../observability/logger.js";
import type { PartitionObserver } from "../../../observability/observer.js";
import type { AttemptFollowUp, AttemptTracer } from "../../../observability/tracing.js";
import { LATER, type NowOrLater, type Settle } from "../now-or-later.js";
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
  /** Opens a span per attempt (tracing on); default none, and then attempts carry no tracing code. */
  readonly tracer?: AttemptTracer;
}

/** What an attempt is run under: its partition's settings and shared context. */
export interface AttemptScope {
  readonly options: AttemptOptions;
  readonly context: AttemptContext;
}

/** How one attempt ended: it succeeded, or failed with `error` (the handler's, or a timeout). */
export type AttemptResult = { readonly failed: false } | { readonly failed: true; readonly error: unknown };

/** The result of nearly every attempt, shared rather than built per event. */
const SUCCEEDED: AttemptResult = Object.freeze({ failed: false });

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
export class Attempt<Of> implements PipelineRunContext, Deadline {
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

  constructor(
    unit: WorkUnit,
    attempt: number,
    scope: AttemptScope,
    settle: Settle<AttemptResult, Attempt<Of>>,
    of: Of,
  ) {
    const { base } = scope.context;
    this.partitionId = base.partitionId;
    this.eventHubName = base.eventHubName;
    this.consumerGroup = base.consumerGroup;
    this.logger = base.logger;
    this.attempt = attempt;
    this.#ctx = scope.context;
    this.#unit = unit;
    this.#timeoutMs = scope.options.handlerTimeoutMs;
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
      pending = this.begin(pipeline, events);
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

  /** Starts the pipeline; TracedAttempt starts it inside the attempt's span. */
  protected begin(pipeline: WorkUnit["pipeline"], events: WorkUnit["events"]): Promise<void> | undefined {
    return startPipeline(pipeline, events, this);
  }

  /** Told once, when the attempt is over; TracedAttempt ends or marks its span here. */
  protected closed(_result: AttemptResult): void {}

  /** Runs `fn` in the attempt's trace context (tracing on), e.g. the failure handler. */
  within<T>(fn: () => T): T {
    return fn();
  }

  /** What followed this attempt's failure, for its span (tracing on). */
  followedBy(_next: AttemptFollowUp): void {}

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
    this.closed(result);
    if (this.#controller !== undefined) this.#following?.delete(this.#controller);
    this.#following = undefined;
    const { observer } = this.#ctx;
    if (observer !== undefined) {
      observer.handlerAttempt(this.#unit.pipeline.name, (deadlines.now() - this.#startedMs) / 1000);
    }
  }
}
