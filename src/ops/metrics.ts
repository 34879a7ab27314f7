/**
 * Per-worker Prometheus metrics. A WorkerMetrics owns its own prom-client Registry (never the global
 * one, so tests and several workers in one process do not collide) and is the runtime's
 * WorkerObserver: the runtime only adds to plain numbers held here (one PartitionStats per partition,
 * one DurationHistogram per pipeline), and every worker metric is computed from those numbers, and
 * from `worker.status()`, when `/metrics` is scraped. So a scrape costs the scraper, not the event
 * path: no label hashing or registry lookup per event.
 */
import { collectDefaultMetrics, type Metric, Registry } from "prom-client";
import type {
  CheckpointWriteOutcome,
  HandoverObservation,
  PartitionObserver,
  WorkerObserver,
} from "../observability/observer.js";
import type { WorkerStatus } from "../worker/lifecycle.js";
import { HandoverMetrics } from "./handover-metrics.js";
import {
  CHECKPOINT_DURATION_BUCKETS_S,
  CollectedMetric,
  DurationHistogram,
  HANDLER_DURATION_BUCKETS_S,
  histogramSamples,
  type MetricType,
  type Sample,
} from "./metric-samples.js";
import { type OwnedPartitionLag, ownedPartitionLag } from "./partition-lag.js";
import { PartitionStats, type PipelineCounts } from "./partition-stats.js";

export {
  CHECKPOINT_DURATION_BUCKETS_S,
  DurationHistogram,
  HANDLER_DURATION_BUCKETS_S,
  histogramSamples,
} from "./metric-samples.js";
export { PartitionStats, type PipelineCounts, receivedLag } from "./partition-stats.js";

/** A metric by its name without prefix, help text, type, and samples (given the full name). */
type MetricDefinition = readonly [string, string, MetricType, (fullName: string) => Sample[]];

/** Options of {@link WorkerMetrics}. */
export interface WorkerMetricsOptions {
  /** Prefix of every worker metric name; default "ehw_". */
  readonly prefix?: string;
  /** Also collect prom-client's default process metrics (CPU, memory, event loop, GC); default true. */
  readonly defaultMetrics?: boolean;
  /** Labels added to every sample (e.g. `{ worker: "w1" }`); default none. */
  readonly labels?: Record<string, string>;
  /**
   * The hub's message retention, ms; when set, `partition_retention_left_seconds` is exported.
   * Default: unknown (the Event Hubs data plane does not report it).
   */
  readonly retentionMs?: number;
  /** Epoch milliseconds for the age gauges; default Date.now. */
  readonly clock?: () => number;
}

/** Where in-flight and queued counts come from at scrape time. */
export interface WorkerStatusSource {
  status(): Pick<WorkerStatus, "partitions">;
}

/** The metrics of one worker; see the module comment. */
export class WorkerMetrics implements WorkerObserver {
  /** This worker's own registry. */
  readonly registry = new Registry();
  private readonly partitions = new Map<string, PartitionStats>();
  private readonly handlerDurations = new Map<string, DurationHistogram>();
  private readonly checkpointDurations = new DurationHistogram(CHECKPOINT_DURATION_BUCKETS_S);
  private readonly ownershipChanges = new Map<string, number>();
  /** Cooperative hand-over steps and pauses. */
  readonly handovers = new HandoverMetrics();
  private statusSource: WorkerStatusSource | undefined;
  private readonly durationsOf = (pipeline: string): DurationHistogram => {
    let histogram = this.handlerDurations.get(pipeline);
    if (histogram === undefined) {
      histogram = new DurationHistogram(HANDLER_DURATION_BUCKETS_S);
      this.handlerDurations.set(pipeline, histogram);
    }
    return histogram;
  };

  private readonly retentionMs: number | undefined;
  private readonly clock: () => number;

  constructor(options: WorkerMetricsOptions = {}) {
    this.retentionMs = options.retentionMs;
    this.clock = options.clock ?? Date.now;
    if (options.labels !== undefined) this.registry.setDefaultLabels(options.labels);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    for (const metric of this.define(options.prefix ?? "ehw_")) {
      // The registry's typings list only prom-client's own classes; it formats any `{ name, get }`.
      this.registry.registerMetric(metric as unknown as Metric);
    }
  }

  /** Reads in-flight and queued counts from `source.status()` at scrape time (usually the Worker). */
  watch(source: WorkerStatusSource): void {
    this.statusSource = source;
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The counters of one partition (created on first use), e.g. for tests and status tools. */
  partition(partitionId: string): PartitionStats {
    let stats = this.partitions.get(partitionId);
    if (stats === undefined) {
      stats = new PartitionStats(partitionId, this.durationsOf, this.checkpointDurations);
      this.partitions.set(partitionId, stats);
    }
    return stats;
  }

  partitionClaimed(partitionId: string, checkpointSequenceNumber?: number): PartitionObserver {
    const stats = this.partition(partitionId);
    stats.openClaims += 1;
    // Until the first batch, the checkpoint is where reading resumes; the last owner's
    // last-enqueued value says nothing about this ownership.
    stats.lastReceivedSequenceNumber = checkpointSequenceNumber;
    stats.lastEnqueuedSequenceNumber = undefined;
    stats.properties = undefined;
    stats.claimCheckpointSequenceNumber = checkpointSequenceNumber;
    this.countOwnershipChange("claimed");
    return stats;
  }

  partitionClosed(partitionId: string, reason: string): void {
    const stats = this.partitions.get(partitionId);
    if (stats !== undefined && stats.openClaims > 0) stats.openClaims -= 1;
    this.countOwnershipChange(reason);
  }

  handover(observation: HandoverObservation): void {
    this.handovers.record(observation);
  }

  /** Partitions this worker owns now. */
  ownedPartitions(): PartitionStats[] {
    return [...this.partitions.values()].filter((p) => p.owned);
  }

  private countOwnershipChange(reason: string): void {
    this.ownershipChanges.set(reason, (this.ownershipChanges.get(reason) ?? 0) + 1);
  }

  private define(prefix: string): CollectedMetric[] {
    const defs = [
      ...this.eventMetrics(),
      ...this.checkpointMetrics(),
      ...this.ownershipMetrics(),
      ...this.lagMetrics(),
      ...this.handovers.definitions(),
    ];
    return defs.map(([name, help, type, samples]) => {
      // Histogram samples carry their own names (`_bucket`, `_sum`, `_count`) built from the full name.
      const full = `${prefix}${name}`;
      return new CollectedMetric(full, help, type, () => samples(full));
    });
  }

  private eventMetrics(): MetricDefinition[] {
    const perPipeline = (field: keyof PipelineCounts) => (): Sample[] =>
      this.all().flatMap((p) =>
        [...p.pipelines].map(([pipeline, counts]) => ({
          labels: { partition: p.partitionId, pipeline },
          value: counts[field],
        })),
      );
    const perStatus = (field: "inFlight" | "queued") => (): Sample[] =>
      (this.statusSource?.status().partitions ?? []).map((p) => ({
        labels: { partition: p.partitionId },
        value: p[field],
      }));
    return [
      [
        "events_received_total",
        "Events received from Event Hubs.",
        "counter",
        () => this.all().map((p) => ({ labels: { partition: p.partitionId }, value: p.receivedCount })),
      ],
      [
        "events_processed_total",
        "Events whose handler pipeline succeeded.",
        "counter",
        perPipeline("processed"),
      ],
      [
        "events_failed_total",
        "Events whose last handler attempt failed (dead-lettered ones included).",
        "counter",
        perPipeline("failed"),
      ],
      [
        "events_retried_total",
        "Handler attempts after the first, per event.",
        "counter",
        perPipeline("retried"),
      ],
      [
        "events_dead_lettered_total",
        "Failed events the failure handler resolved (dead-lettered).",
        "counter",
        perPipeline("deadLettered"),
      ],
      [
        "events_aborted_total",
        "Events abandoned by ownership loss or the drain deadline (delivered again later).",
        "counter",
        perPipeline("aborted"),
      ],
      [
        "handler_duration_seconds",
        "Duration of one handler pipeline attempt.",
        "histogram",
        (name) =>
          [...this.handlerDurations].flatMap(([pipeline, h]) => histogramSamples(name, h, { pipeline })),
      ],
      ["events_in_flight", "Events whose handler is running or backing off.", "gauge", perStatus("inFlight")],
      ["events_queued", "Events accepted and waiting for their turn.", "gauge", perStatus("queued")],
    ];
  }

  private checkpointMetrics(): MetricDefinition[] {
    return [
      [
        "checkpoint_writes_total",
        "Checkpoint writes by outcome (ok, failed, refused).",
        "counter",
        () =>
          this.all().flatMap((p) =>
            (Object.keys(p.checkpointWrites) as CheckpointWriteOutcome[]).map((outcome) => ({
              labels: { partition: p.partitionId, outcome },
              value: p.checkpointWrites[outcome],
            })),
          ),
      ],
      [
        "checkpoint_write_failures_total",
        "Checkpoint writes that failed or were refused.",
        "counter",
        () =>
          this.all().map((p) => ({
            labels: { partition: p.partitionId },
            value: p.checkpointWrites.failed + p.checkpointWrites.refused,
          })),
      ],
      [
        "checkpoint_write_duration_seconds",
        "Duration of one checkpoint write.",
        "histogram",
        (name) => histogramSamples(name, this.checkpointDurations),
      ],
    ];
  }

  private ownershipMetrics(): MetricDefinition[] {
    return [
      [
        "owned_partitions",
        "Partitions this worker owns.",
        "gauge",
        () => [{ labels: {}, value: this.ownedPartitions().length }],
      ],
      [
        "ownership_changes_total",
        "Partition ownership changes by reason (claimed, OwnershipLost, Shutdown, HandOver).",
        "counter",
        () => [...this.ownershipChanges].map(([reason, value]) => ({ labels: { reason }, value })),
      ],
      [
        "partition_lag_events",
        "Last enqueued sequence number (read every 5 s) minus the last received one, per owned partition.",
        "gauge",
        () =>
          this.ownedPartitions().flatMap((p) => {
            const lag = p.lag;
            return lag === undefined ? [] : [{ labels: { partition: p.partitionId }, value: lag }];
          }),
      ],
    ];
  }

  private lagMetrics(): MetricDefinition[] {
    const gauge = (field: keyof OwnedPartitionLag) => (): Sample[] => {
      const statuses = new Map(
        (this.statusSource?.status().partitions ?? []).map((p) => [p.partitionId, p] as const),
      );
      const nowMs = this.clock();
      return this.ownedPartitions().flatMap((p) => {
        const value = ownedPartitionLag({
          properties: p.properties,
          claimCheckpointSequenceNumber: p.claimCheckpointSequenceNumber,
          lastReceivedSequenceNumber: p.lastReceivedSequenceNumber,
          status: statuses.get(p.partitionId),
          nowMs,
          retentionMs: this.retentionMs,
        })[field];
        return value === undefined ? [] : [{ labels: { partition: p.partitionId }, value }];
      });
    };
    const defs: MetricDefinition[] = [
      [
        "partition_checkpoint_lag_events",
        "Last enqueued sequence number (read every 5 s) minus the checkpoint's, per owned partition; KEDA's blobMetadata figure.",
        "gauge",
        gauge("checkpointLagEvents"),
      ],
      [
        "partition_oldest_unprocessed_age_seconds",
        "Seconds since the oldest event not yet completed was enqueued, per owned partition; 0 when caught up.",
        "gauge",
        gauge("oldestUnprocessedAgeSeconds"),
      ],
    ];
    if (this.retentionMs !== undefined) {
      defs.push([
        "partition_retention_left_seconds",
        "Seconds before the hub's retention may drop the oldest unprocessed event, per owned partition.",
        "gauge",
        gauge("retentionLeftSeconds"),
      ]);
    }
    return defs;
  }

  private all(): PartitionStats[] {
    return [...this.partitions.values()];
  }
}
