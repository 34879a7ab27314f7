/**
 * Pure grouping of one SDK batch into units of work, by the ordering strategy's lanes. Consecutive
 * events of one lane routed to one batch pipeline form one unit (the whole partition is one lane
 * under `partition`, a key is one under `key`); without lanes (`none`) all of the batch's events of
 * a batch pipeline form one. Events of one lane routed to an event pipeline are grouped the same
 * way — they would run one after another anyway — into units marked `each`, which the processor
 * runs event by event in one loop, so that the scheduling round trip is paid per run rather than
 * per event; without lanes each such event is a unit of its own, free to run in parallel.
 */
import type { ReceivedEventData } from "@azure/event-hubs";
import type { Pipeline } from "../../../handlers/pipeline.js";
import type { Lane, OrderingStrategy } from "./strategy.js";

/** A unit of work: the events one pipeline run takes, in sequence order. */
export interface WorkUnit {
  /** The pipeline that runs the unit. */
  readonly pipeline: Pipeline;
  /** Events, in sequence order; for an event pipeline one, or a run when `each` is set. */
  readonly events: ReceivedEventData[];
  /** The ordering lane all its events share; undefined when the strategy gives none. */
  readonly lane: Lane | undefined;
  /**
   * Set on a run of an event pipeline's events: each event is run on its own (own attempts, own
   * time limit, own failure decision, completed as it finishes), in order, one at a time.
   */
  readonly each?: boolean;
}

/** Splits an SDK batch into units, returned in order of their first event; see the module comment. */
export function groupIntoUnits(
  events: readonly ReceivedEventData[],
  route: (event: ReceivedEventData) => Pipeline,
  strategy: OrderingStrategy,
): WorkUnit[] {
  const units: WorkUnit[] = [];
  // The open unit per grouping lane: the event's lane, or, without one, its pipeline.
  const open = new Map<unknown, WorkUnit>();
  for (const event of events) {
    const pipeline = route(event);
    const lane = strategy.laneOf(event);
    if (lane === undefined && pipeline.kind === "event") {
      units.push({ pipeline, events: [event], lane });
      continue;
    }
    const group = lane ?? pipeline;
    // One pipeline per open unit: an event of another pipeline ends the unit in its lane.
    const current = open.get(group);
    if (current !== undefined && current.pipeline === pipeline) {
      current.events.push(event);
      continue;
    }
    const unit: WorkUnit =
      pipeline.kind === "event"
        ? { pipeline, events: [event], lane, each: true }
        : { pipeline, events: [event], lane };
    units.push(unit);
    open.set(group, unit);
  }
  return units;
}
