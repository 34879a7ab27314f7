/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many milliseconds; default 10000. */
  timeoutMs?: number;
  /** Poll every this many milliseconds; default 50. */
  intervalMs?: number;
  /** Text for the timeout error, saying what was awaited. */
  what?: string;
}

/**
 * Polls `condition` until it returns a truthy value (which is returned) or the timeout passes
 * (which throws, naming what was awaited and the last error the condition threw).
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const suffix = lastError ? ` (last error: ${String(lastError)})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? "condition"}${suffix}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
