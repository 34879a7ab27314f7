/**
 * What an ordering mode decides, as one object per mode (like the Azure SDK's load-balancing
 * strategies, or Parallel Consumer's `ShardKey.of`): the lane of an event, and how many units of
 * one partition may run at once. The scheduler and the grouping of a batch into units ask only
 * this; a new mode is a new strategy file and a line in registry.ts.
 */
import type { ReceivedEventData } from "@azure/event-hubs";
import type { OrderingMode } from "../../../config/ordering.js";

/** An ordering lane: the events of one lane run one at a time, in sequence order. */
export type Lane = string | symbol;

/** One ordering mode; see the module comment. */
export interface OrderingStrategy {
  /** The mode's name in the config. */
  readonly mode: OrderingMode;
  /** The event's lane; undefined when it may run alongside any other event, in any order. */
  laneOf(event: ReceivedEventData): Lane | undefined;
  /** Units of one partition that may run at once, for the `concurrency` setting (≥ 1). */
  maxRunning(concurrency: number): number;
}
