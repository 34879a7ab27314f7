/**
 * One attempt of a unit of work: its context (what the pipeline and the handlers see), its time
 * limit on the process-wide deadline watch, its abort signal, and the report of its end. The
 * retries around attempts are in attempts.ts.
 */
import { HandlerFailedError } from "../../../common/errors.js";
import { type PipelineRunContext, startPipeline } from "../../../handlers/pipeline.js";
import type { Logger } from "../../../observability/logger.js";
import type { PartitionObserver } from "../../../observability/observer.js";
import { LATER, type NowOrLater, type Settle } from "../now-or-later.js";
import type { WorkUnit } from "../ordering/scheduler.js";
import { type Deadline, DeadlineWatch } from "./deadlines.js";

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
}

/** How an attempt ended: it succeeded, or failed with `error` (the handler's, or a timeout). */
export type AttemptResult = { readonly failed: false } | { readonly failed: true; readonly error: unknown };

/** The result of nearly every attempt, shared rather than built per event. */
export const SUCCEEDED: AttemptResult = Object.freeze({ failed: false });

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
 * One attempt: its context, its deadline entry, and what happens when it ends — one object per
 * attempt, no closures. Its `signal` is the partition's, or, under a time limit, one that also
 * fires when the limit passes: the AbortController behind that is built only when something reads
 * `signal` (most handlers never do, and one controller per event was a measurable share of the
 * per-event cost), and follows the partition's signal only while the attempt runs. Private fields:
 * a handler that spreads its context sees only the context's fields.
 *
 * `Of` is what the attempt runs for (its caller's bookkeeping), handed back with its result.
 */
export class Attempt<Of> implements PipelineRunContext, Deadline {
  readonly partitionId: string;
  readonly eventHubName: string;
  readonly consumerGroup: string;
  readonly logger: Logger;
  readonly attempt: number;
  #controller: AbortController | undefined;
  #unfollow: (() => void) | undefined;
  #fired = false;
  #firedReason: unknown;
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
    timeoutMs: number,
    ctx: AttemptContext,
    settle: Settle<AttemptResult, Attempt<Of>>,
    of: Of,
  ) {
    const { base } = ctx;
    this.partitionId = base.partitionId;
    this.eventHubName = base.eventHubName;
    this.consumerGroup = base.consumerGroup;
    this.logger = base.logger;
    this.attempt = attempt;
    this.#ctx = ctx;
    this.#unit = unit;
    this.#timeoutMs = timeoutMs;
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
    if (this.#fired) controller.abort(this.#firedReason);
    else if (parent.aborted) controller.abort(parent.reason);
    // Read after the attempt ended: it no longer follows the partition, as an ended attempt's would not.
    else if (!this.#over) this.#unfollow = follow(parent, controller);
    return controller.signal;
  }

  /** Throws what `signal` would have fired with, without building it. */
  throwIfAborted(): void {
    if (this.#fired) throw this.#firedReason;
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
    const timed = this.#timeoutMs > 0 || this.#ctx.observer !== undefined;
    if (timed) this.#startedMs = deadlines.now();
    let pending: Promise<void> | undefined;
    try {
      pending = startPipeline(this.#unit.pipeline, this.#unit.events, this);
    } catch (error) {
      this.#close();
      return { failed: true, error };
    }
    if (pending === undefined) {
      this.#close();
      return SUCCEEDED;
    }
    if (this.#timeoutMs > 0) deadlines.watchFrom(this, this.#startedMs, this.#timeoutMs);
    void this.#follow(pending);
    return LATER;
  }

  /** {@link Deadline}: the limit passed; the signal fires and the attempt fails. */
  expire(): void {
    if (this.#over) return;
    const error = timeoutError(this.#unit, this.attempt, this.#timeoutMs, this.partitionId);
    this.#fired = true;
    this.#firedReason = error;
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
    this.#close();
    this.#settle.settled(result, this);
  }

  /** The attempt is over: its signal stops following the partition's, and its duration is reported. */
  #close(): void {
    this.#over = true;
    this.#unfollow?.();
    this.#unfollow = undefined;
    const { observer } = this.#ctx;
    if (observer !== undefined) {
      observer.handlerAttempt(this.#unit.pipeline.name, (deadlines.now() - this.#startedMs) / 1000);
    }
  }
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
