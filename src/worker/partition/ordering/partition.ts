import type { OrderingStrategy } from "./strategy.js";

/** The one lane of a partition under `partition` ordering. */
const PARTITION_LANE: unique symbol = Symbol("partition");

/** `partition`: the whole partition is one lane, run strictly one unit at a time. */
export const partitionOrdering: OrderingStrategy = {
  mode: "partition",
  laneOf: () => PARTITION_LANE,
  maxRunning: () => 1,
};
