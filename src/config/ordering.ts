/**
 * The names of the ordering modes, for the `ordering` setting. What each mode does is the worker's
 * business (src/worker/partition/ordering/); its registry is keyed by this union, so a name listed
 * here without a strategy there fails to compile.
 */

/** Ordering modes accepted by `ordering`. */
export const ORDERING_MODES = ["partition", "key", "none"] as const;

/**
 * How events of one partition may overlap:
 * - `partition`: strictly one at a time, in sequence order;
 * - `key`: in order per partition key, different keys in parallel;
 * - `none`: any order, in parallel.
 */
export type OrderingMode = (typeof ORDERING_MODES)[number];
