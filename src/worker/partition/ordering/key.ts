import type { OrderingStrategy } from "./strategy.js";

/** The lane of the events without a partition key. A symbol, so that no key can collide with it. */
const NO_KEY_LANE: unique symbol = Symbol("no key");

/**
 * `key`: one lane per partition key, lanes in parallel up to `concurrency`. Events without a key
 * (null or undefined) share a lane of their own: in order among themselves, one at a time.
 */
export const keyOrdering: OrderingStrategy = {
  mode: "key",
  laneOf: (event) => event.partitionKey ?? NO_KEY_LANE,
  maxRunning: (concurrency) => concurrency,
};
