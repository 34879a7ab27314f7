/**
 * Runs one unit of work with its own retry budget: attempts with backoff between them, an optional
 * time limit per attempt, and an abort signal that ends everything at once (ownership loss or the
 * shutdown deadline). The outcome says whether the unit is done, was abandoned, or exhausted.
 */
import { EhwError, HandlerFailedError, toError } from "../errors.js";
import type { PipelineRunContext } from "../handlers/pipeline.js";
import type { Logger } from "../observability/logger.js";
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
}

/** Runs the unit until an attempt succeeds, the budget is spent, or the signal fires. */
export async function runWithAttempts(
  unit: WorkUnit,
  options: AttemptOptions,
  ctx: AttemptContext,
): Promise<AttemptOutcome> {
  const first = unit.events[0];
  let attempt = 0;
  while (attempt < options.maxAttempts) {
    if (ctx.signal.aborted) return { kind: "aborted", attempts: attempt };
    attempt += 1;
    let error: Error;
    try {
      await runAttempt(unit, attempt, options.handlerTimeoutMs, ctx);
      return { kind: "done", attempts: attempt };
    } catch (err) {
      if (ctx.signal.aborted) return { kind: "aborted", attempts: attempt };
      error = toError(err);
    }
    // A handler may say that trying again cannot help by throwing one of our errors marked so.
    const retriable = !(error instanceof EhwError) || error.retriable;
    if (!retriable || attempt >= options.maxAttempts) return { kind: "exhausted", attempts: attempt, error };
    const delayMs = backoffDelayMs(
      attempt,
      { baseDelayMs: options.retryBaseDelayMs, maxDelayMs: options.retryMaxDelayMs },
      ctx.random,
    );
    ctx.logger.warn(
      {
        pipeline: unit.pipeline.name,
        sequenceNumber: first?.sequenceNumber,
        eventCount: unit.events.length,
        attempt,
        maxAttempts: options.maxAttempts,
        delayMs,
        err: error,
      },
      "handler attempt failed; retrying",
    );
    try {
      await sleep(delayMs, ctx.signal);
    } catch {
      return { kind: "aborted", attempts: attempt };
    }
  }
  // Unreachable with maxAttempts ≥ 1; kept so a zero budget cannot pass as success.
  return { kind: "exhausted", attempts: attempt, error: new HandlerFailedError("no attempts allowed") };
}

/** One attempt, bounded by the time limit; its signal also fires when the limit passes. */
async function runAttempt(
  unit: WorkUnit,
  attempt: number,
  timeoutMs: number,
  ctx: AttemptContext,
): Promise<void> {
  if (timeoutMs <= 0) {
    await unit.pipeline.run(unit.events, { ...ctx.base, attempt, signal: ctx.signal });
    return;
  }
  const timeout = new AbortController();
  const signal = AbortSignal.any([ctx.signal, timeout.signal]);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const first = unit.events[0];
      const error = new HandlerFailedError(
        `pipeline "${unit.pipeline.name}" timed out after ${timeoutMs} ms on partition ${ctx.base.partitionId} at sequence number ${first?.sequenceNumber}, attempt ${attempt}`,
        {
          retriable: true,
          context: {
            pipeline: unit.pipeline.name,
            partitionId: ctx.base.partitionId,
            sequenceNumber: first?.sequenceNumber,
            attempt,
          },
        },
      );
      timeout.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    // The attempt that lost the race keeps running in the background; its signal has fired.
    await Promise.race([unit.pipeline.run(unit.events, { ...ctx.base, attempt, signal }), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
