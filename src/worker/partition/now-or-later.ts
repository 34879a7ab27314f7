/**
 * "Finished synchronously, or later": how the per-event steps of a partition (one attempt, a
 * unit's attempts, a unit's end) hand over their result without a promise per step. A promise and
 * a turn of the microtask queue per step and event cost measurable CPU at tens of thousands of
 * events a second, and most handlers finish synchronously or with one promise of their own.
 *
 * A step returns its result when it is known before the step returns. Otherwise it returns
 * {@link LATER} and gives the result to its {@link Settle} receiver exactly once, later, never from
 * within the call. The receiver is also told what the result is of (`of`), so that one receiver
 * object serves every run of a step without a closure per run.
 */

/** What a step returns when its result comes later, through its receiver. */
export const LATER: unique symbol = Symbol("later");

/** A step's result when it was known before the step returned, else {@link LATER}. */
export type NowOrLater<T> = T | typeof LATER;

/** Receives the result of a step that returned {@link LATER}. */
export interface Settle<T, Of> {
  /** Called once with the result and what it is the result of. */
  settled(result: T, of: Of): void;
}

/**
 * The result of a step as a promise, for callers off the per-event path (retries, tests):
 * `start` runs the step with a receiver that resolves the promise.
 */
export function promiseOf<T>(start: (settle: Settle<T, unknown>) => NowOrLater<T>): Promise<T> {
  return new Promise<T>((resolve) => {
    const now = start({ settled: (result) => resolve(result) });
    if (now !== LATER) resolve(now);
  });
}
