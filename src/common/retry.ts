import { EhwError } from "./errors.js";

/** Backoff settings of per-event handler retries. */
export interface BackoffOptions {
  /** Delay scale of the first retry, milliseconds; ≥ 0. */
  readonly baseDelayMs: number;
  /** Upper bound of any delay, milliseconds; ≥ 0. */
  readonly maxDelayMs: number;
}

/**
 * Delay before the retry that follows failed attempt number `attempt` (1 = the first attempt
 * failed). Exponential with "equal jitter": the cap is `min(maxDelayMs, baseDelayMs × 2^(attempt-1))`
 * and the delay is uniform in `[cap/2, cap)`. Half of the cap is kept fixed so a retry never fires
 * at once (full jitter may return 0, which hammers a dependency that just failed); the random half
 * spreads out retries of events that failed together.
 *
 * @param random a source of uniform numbers in [0, 1); injectable for tests.
 * @returns whole milliseconds.
 */
export function backoffDelayMs(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  if (!Number.isSafeInteger(attempt) || attempt < 1) {
    throw new EhwError("INVARIANT_VIOLATED", `attempt must be a positive integer, got ${attempt}`);
  }
  const base = Math.max(0, options.baseDelayMs);
  const max = Math.max(0, options.maxDelayMs);
  // Cap the exponent so 2^n stays finite for absurd attempt numbers.
  const cap = Math.min(max, base * 2 ** Math.min(attempt - 1, 52));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(cap / 2 + (cap / 2) * r);
}

/** The error {@link sleep} rejects with when its signal aborts: a DOMException named "AbortError". */
export function abortError(signal?: AbortSignal): DOMException {
  const error = new DOMException("the operation was aborted", "AbortError");
  if (signal?.reason !== undefined) Object.defineProperty(error, "cause", { value: signal.reason });
  return error;
}

/** Whether `error` is an abort (a DOMException or Error named "AbortError"), classified by type name. */
export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === "AbortError";
}

/**
 * Waits `ms` milliseconds. Rejects with an AbortError (see {@link abortError}) at once when the
 * signal is already aborted or as soon as it aborts, clearing the timer so nothing keeps running.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
