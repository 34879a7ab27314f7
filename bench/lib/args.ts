/** Command-line values of the benchmarks. */

/** `text` as a whole number ≥ `min` (default 1); throws naming the flag `--<flag>` otherwise. */
export function wholeNumber(text: string | undefined, flag: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be a whole number ≥ ${min}`);
  return n;
}
