/**
 * The seam an event passes through once its last attempt failed ("resolved" and "skipped" = the
 * event counts as complete and the checkpoint may pass it). The worker's default applies each pipeline's policy
 * (src/deadletter/failure-handler.ts, wired by src/app); `reportingFailureHandler` reports and stops.
 * It lives with the handler contract so that the worker and src/deadletter both see it and neither
 * imports the other.
 */
import type { ReceivedEventData } from "@azure/event-hubs";
import type { Logger } from "../observability/logger.js";

/** What to do with a partition whose event exhausted its attempts. */
export type FailureDecision = "stop" | "resolved" | "skipped";

/** An event (or a batch unit) whose last attempt failed. */
export interface ExhaustedEvent {
  /** The event; for a batch unit, its first event. */
  readonly event: ReceivedEventData;
  /** Every event of the unit, in sequence order (just `[event]` for an event pipeline). */
  readonly events: readonly ReceivedEventData[];
  /** The error of the last attempt (a HandlerFailedError from the pipeline, or a timeout). */
  readonly error: Error;
  /** Attempts made, first try included. */
  readonly attempts: number;
  /** Partition id. */
  readonly partitionId: string;
  /** Pipeline name. */
  readonly pipeline: string;
  /**
   * Fired on ownership loss or at the drain deadline; work the handler does for the event (a
   * dead-letter write being retried) gives up then, and the event is not counted as complete.
   */
  readonly signal?: AbortSignal;
  /**
   * Tells the worker where the unit was stored (dead-letter blob names), before the handler
   * answers "resolved"; the worker records them on the last attempt's span. Optional to call.
   */
  readonly onStored?: (references: readonly string[]) => void;
}

/**
 * Decides the fate of an exhausted event. `"stop"`: the partition stops scheduling, keeps its
 * ownership and never checkpoints past the event. `"resolved"`: the event was taken care of (e.g.
 * dead-lettered) and counts as complete. `"skipped"`: it was dropped on purpose, kept nowhere, and
 * counts as complete too (metrics tell the two apart). A rejection counts as `"stop"`.
 */
export interface FailureHandler {
  onExhausted(failure: ExhaustedEvent): Promise<FailureDecision>;
}

/** The default failure handler: one error log line naming the event, then `"stop"`. */
export function reportingFailureHandler(logger: Logger): FailureHandler {
  return {
    async onExhausted(failure) {
      const { event, events, error, attempts, partitionId, pipeline } = failure;
      logger.error(
        {
          partitionId,
          sequenceNumber: event.sequenceNumber,
          offset: event.offset,
          eventCount: events.length,
          pipeline,
          attempts,
          err: error,
        },
        "event failed after its last attempt; partition stopped (no checkpoint past this event)",
      );
      return "stop";
    },
  };
}
