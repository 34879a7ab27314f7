/**
 * Small pure helpers for benchmarks that repeat scenarios on a noisy machine: the order of each
 * round, paired ratios and the spread of a set of figures.
 */

/** Median, least and greatest of a set of figures. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** The median of `values` (the mean of the middle two for an even count); throws when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] as number) + upper) / 2;
}

/** Median, min and max of `values`; throws when empty. */
export function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * The order of `items` in round `round` (1-based): round 1 as given, each later round rotated left
 * by one more place, so that over `items.length` rounds every item runs once in every position
 * and no item always runs first, last or right after the same one within a round.
 */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  if (!Number.isInteger(round) || round < 1)
    throw new Error(`round must be a whole number ≥ 1, got ${round}`);
  if (items.length === 0) return [];
  const shift = (round - 1) % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** `a / b`, or 0 when `b` is not positive (a scenario that measured nothing). */
export function ratio(a: number, b: number): number {
  return b > 0 ? a / b : 0;
}
