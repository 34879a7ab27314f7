/**
 * Pure grouping of one SDK batch into units of work. Events routed to a batch pipeline are grouped
 * into runs that keep the ordering mode's promise (consecutive in the partition under `partition`,
 * consecutive per key under `key`, all of the batch's events of that pipeline under `none`). Events
 * routed to an event pipeline are grouped the same way under `partition` and `key` — they would run
 * one after another anyway — into units marked `each`, which the processor runs event by event in
 * one loop, so that the scheduling round trip is paid per run rather than per event; under `none`
 * each such event is a unit of its own, free to run in parallel.
 */
import type { ReceivedEventData } from "@azure/event-hubs";
import type { Pipeline } from "../handlers/pipeline.js";
import type { OrderingMode } from "./scheduler.js";

/** A unit of work: the events one pipeline run takes, in sequence order. */
export interface WorkUnit {
  /** The pipeline that runs the unit. */
  readonly pipeline: Pipeline;
  /** Events, in sequence order; for an event pipeline one, or a run when `each` is set. */
  readonly events: ReceivedEventData[];
  /** Ordering key (the partition key shared by every event), undefined when none. */
  readonly key: string | undefined;
  /**
   * Set on a run of an event pipeline's events: each event is run on its own (own attempts, own
   * time limit, own failure decision, completed as it finishes), in order, one at a time.
   */
  readonly each?: boolean;
}

/** The ordering key of an event: its partition key; null and undefined mean none. */
export function keyOfEvent(event: ReceivedEventData): string | undefined {
  return event.partitionKey ?? undefined;
}

/**
 * Splits an SDK batch into units, returned in order of their first event. Under `key` ordering a
 * batch unit holds events of one key only, so the scheduler can order it with that key's other units.
 */
export function groupIntoUnits(
  events: readonly ReceivedEventData[],
  route: (event: ReceivedEventData) => Pipeline,
  ordering: OrderingMode,
): WorkUnit[] {
  const units: WorkUnit[] = [];
  // The open batch unit per grouping lane: the whole partition, a key, or a pipeline. One ordering
  // per call, so lanes of different kinds never meet in the map.
  const open = new Map<unknown, WorkUnit>();
  for (const event of events) {
    const pipeline = route(event);
    const key = keyOfEvent(event);
    const lane = laneOf(ordering, key, pipeline);
    if (pipeline.kind === "event" && ordering === "none") {
      units.push({ pipeline, events: [event], key });
      // An event unit ends any run in its lane: a later batch event must not overtake it.
      if (open.size > 0) open.delete(lane);
      continue;
    }
    // One pipeline per open run: an event of another pipeline ends the run in its lane.
    const current = open.get(lane);
    if (current !== undefined && current.pipeline === pipeline) {
      current.events.push(event);
      continue;
    }
    const unitKey = ordering === "key" ? key : undefined;
    const unit: WorkUnit =
      pipeline.kind === "event"
        ? { pipeline, events: [event], key: unitKey, each: true }
        : { pipeline, events: [event], key: unitKey };
    units.push(unit);
    open.set(lane, unit);
  }
  return units;
}

/** The lane of the events without a key, and of every event under partition ordering. */
const ONE_LANE: unique symbol = Symbol("one lane");

/** An event's grouping lane; built per event, so no string is concatenated for it. */
function laneOf(ordering: OrderingMode, key: string | undefined, pipeline: Pipeline): unknown {
  if (ordering === "partition") return ONE_LANE;
  if (ordering === "key") return key ?? ONE_LANE;
  return pipeline;
}
