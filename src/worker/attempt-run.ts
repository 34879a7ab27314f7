/**
 * One attempt of a unit: its context (what the pipeline and the handlers see), its time limit on
 * the process-wide deadline watch, its abort signal, and the report of its end. The retry loop
 * around attempts is in attempts.ts.
 */

import { type Deadline, DeadlineWatch } from "../common/deadline-watch.js";
import { HandlerFailedError } from "../common/errors.js";
import { type PipelineRunContext, startPipeline } from "../handlers/pipeline.js";
import type { Logger } from "../observability/logger.js";
import type { AttemptContext } from "./attempts.js";
import type { WorkUnit } from "./partition/ordering/units.js";

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
export abstract class AttemptRun implements PipelineRunContext, Deadline {
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
    // Read after the attempt ended: it no longer follows the partition, as an ended attempt's would not.
    else if (!this.#over) this.#unfollow = follow(this.#parent, controller);
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
    if (this.#over) return;
    const error = timeoutError(this.#unit, this.attempt, this.#timeoutMs, this.partitionId);
    this.#fired = true;
    this.#firedReason = error;
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
    if (this.#over) return;
    if (this.#timeoutMs > 0) deadlines.unwatch(this);
    this.#settle();
    this.ended(failed, error);
  }

  /** The attempt is over: its signal stops following the partition's. */
  #settle(): void {
    this.#over = true;
    this.#unfollow?.();
    this.#unfollow = undefined;
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
export function runAttempt(
  unit: WorkUnit,
  attempt: number,
  timeoutMs: number,
  ctx: AttemptContext,
): Promise<void> {
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
