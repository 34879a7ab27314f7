/**
 * The cooperative hand-over metrics of one worker: a counter per step (requested, completed, fell
 * back to a steal, handed over) and a histogram per partition of the processing pause of a
 * hand-over, as the worker reports them through `WorkerObserver.handover`.
 */
import type { HandoverObservation } from "../observability/observer.js";
import { DurationHistogram, histogramSamples, type MetricType, type Sample } from "./metric-samples.js";

/** Upper bounds of the hand-over pause buckets, seconds: from a quick drain to a fallback steal. */
export const HANDOVER_PAUSE_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60] as const;

/** Counter labels, in the order they are reported. */
const OUTCOMES = {
  requested: "requested",
  completed: "completed",
  fellBack: "fell_back",
  handedOver: "handed_over",
} as const satisfies Record<HandoverObservation["kind"], string>;

/** A metric by its name without prefix, help text, type, and samples (given the full name). */
export type HandoverMetricDefinition = readonly [string, string, MetricType, (fullName: string) => Sample[]];

/** See the module comment. */
export class HandoverMetrics {
  /** Steps by kind. */
  readonly counts: Record<HandoverObservation["kind"], number> = {
    requested: 0,
    completed: 0,
    fellBack: 0,
    handedOver: 0,
  };
  /** Pause of completed hand-overs (asker's view: owner's stop of new events to the claim), by partition. */
  readonly pauses = new Map<string, DurationHistogram>();

  record(observation: HandoverObservation): void {
    this.counts[observation.kind] += 1;
    if (observation.kind !== "completed" || observation.pauseSeconds === undefined) return;
    let histogram = this.pauses.get(observation.partitionId);
    if (histogram === undefined) {
      histogram = new DurationHistogram(HANDOVER_PAUSE_BUCKETS_S);
      this.pauses.set(observation.partitionId, histogram);
    }
    histogram.observe(observation.pauseSeconds);
  }

  definitions(): HandoverMetricDefinition[] {
    return [
      [
        "handovers_total",
        "Cooperative hand-over steps: requested (asked a live owner), completed (claimed after the owner released it), fell_back (not answered in time: stolen), handed_over (released on request).",
        "counter",
        () =>
          (Object.keys(OUTCOMES) as Array<keyof typeof OUTCOMES>).map((kind) => ({
            labels: { outcome: OUTCOMES[kind] },
            value: this.counts[kind],
          })),
      ],
      [
        "handover_pause_seconds",
        "Processing pause of a partition during a cooperative hand-over, from the owner's stop of new events to this worker's claim.",
        "histogram",
        (name) => [...this.pauses].flatMap(([partition, h]) => histogramSamples(name, h, { partition })),
      ],
    ];
  }
}
