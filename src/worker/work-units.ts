/**
 * Pure grouping of one SDK batch into units of work: one unit per event routed to an event
 * pipeline; events routed to a batch pipeline are grouped into runs that keep the ordering mode's
 * promise (consecutive in the partition under `partition`, consecutive per key under `key`, all of
 * the batch's events of that pipeline under `none`).
 */
import type { ReceivedEventData } from "@azure/event-hubs";
import type { Pipeline } from "../handlers/pipeline.js";
import type { OrderingMode } from "./scheduler.js";

/** A unit of work: the events one pipeline run takes, in sequence order. */
export interface WorkUnit {
  /** The pipeline that runs the unit. */
  readonly pipeline: Pipeline;
  /** Events, in sequence order; exactly one for an event pipeline. */
  readonly events: ReceivedEventData[];
  /** Ordering key (the partition key shared by every event), undefined when none. */
  readonly key: string | undefined;
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
  // The open batch unit per grouping lane: the whole partition, a key, or a pipeline.
  const open = new Map<string, WorkUnit>();
  for (const event of events) {
    const pipeline = route(event);
    const key = keyOfEvent(event);
    const lane = laneOf(ordering, key, pipeline.name);
    if (pipeline.kind === "event") {
      units.push({ pipeline, events: [event], key });
      // An event unit ends any run in its lane: a later batch event must not overtake it.
      open.delete(lane);
      continue;
    }
    const current = open.get(lane);
    if (current !== undefined && current.pipeline === pipeline) {
      current.events.push(event);
      continue;
    }
    const unit: WorkUnit = { pipeline, events: [event], key: ordering === "key" ? key : undefined };
    units.push(unit);
    open.set(lane, unit);
  }
  return units;
}

function laneOf(ordering: OrderingMode, key: string | undefined, pipeline: string): string {
  if (ordering === "partition") return "partition";
  if (ordering === "key") return key === undefined ? "nokey" : `key:${key}`;
  return `pipeline:${pipeline}`;
}
