/**
 * The strategy of every ordering mode. Keyed by the config's mode union, so a mode named in
 * src/config/ordering.ts without a strategy here is a compile error.
 */
import type { OrderingMode } from "../../../config/ordering.js";
import { keyOrdering } from "./key.js";
import { noOrdering } from "./none.js";
import { partitionOrdering } from "./partition.js";
import type { OrderingStrategy } from "./strategy.js";

/** Every mode's strategy. */
export const ORDERING_STRATEGIES: Readonly<Record<OrderingMode, OrderingStrategy>> = {
  partition: partitionOrdering,
  key: keyOrdering,
  none: noOrdering,
};

/** The strategy of `mode`. */
export function orderingStrategy(mode: OrderingMode): OrderingStrategy {
  return ORDERING_STRATEGIES[mode];
}

export type { Lane, OrderingStrategy } from "./strategy.js";
