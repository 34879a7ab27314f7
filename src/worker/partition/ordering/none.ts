import type { OrderingStrategy } from "./strategy.js";

/** `none`: no lanes; any event may run beside any other, up to `concurrency` units at once. */
export const noOrdering: OrderingStrategy = {
  mode: "none",
  laneOf: () => undefined,
  maxRunning: (concurrency) => concurrency,
};
