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
  PartitionObserver,
  UnitOutcome,
  WorkerObserver,
} from "../observability/observer.js";
import type { WorkerStatus } from "../worker/lifecycle.js";
import {
  CHECKPOINT_DURATION_BUCKETS_S,
  CollectedMetric,
  DurationHistogram,
  HANDLER_DURATION_BUCKETS_S,
  histogramSamples,
  type MetricType,
  type Sample,
} from "./metric-samples.js";

export {
  CHECKPOINT_DURATION_BUCKETS_S,
  DurationHistogram,
  HANDLER_DURATION_BUCKETS_S,
  histogramSamples,
} from "./metric-samples.js";

/** Per-pipeline counters of one partition. */
export interface PipelineCounts {
  /** Events whose pipeline succeeded. */
  processed: number;
  /** Events whose last attempt failed (dead-lettered ones included). */
  failed: number;
  /** Attempts after the first, counted per event of the unit. */
  retried: number;
  /** Failed events the failure handler resolved. */
  deadLettered: number;
  /** Events abandoned by ownership loss or the drain deadline. */
  aborted: number;
}

/**
 * Lag of a partition in events: the partition's last enqueued sequence number minus the last one
 * received. Undefined while either is unknown; never negative (the SDK's last-enqueued properties
 * may be older than the newest event of the batch they came with).
 */
export function partitionLag(
  lastEnqueuedSequenceNumber: number | undefined,
  lastReceivedSequenceNumber: number | undefined,
): number | undefined {
  if (lastEnqueuedSequenceNumber === undefined || lastReceivedSequenceNumber === undefined) return undefined;
  return Math.max(0, lastEnqueuedSequenceNumber - lastReceivedSequenceNumber);
}

/** The plain-number counters of one partition; the observer its processor reports to. */
export class PartitionStats implements PartitionObserver {
  /**
   * Claims not closed yet. Usually 0 or 1, but the SDK may open a new pump for a partition before
   * the old pump's close arrives, so the close of the old one must not unown the new one.
   */
  openClaims = 0;
  /** Events received since the worker started (all ownerships). */
  receivedCount = 0;
  /** Sequence number of the last event received in this ownership (the checkpoint until the first). */
  lastReceivedSequenceNumber: number | undefined;
  /** The partition's last enqueued sequence number as the SDK last reported it. */
  lastEnqueuedSequenceNumber: number | undefined;
  /** Unit outcomes by pipeline name. */
  readonly pipelines = new Map<string, PipelineCounts>();
  /** Checkpoint writes by outcome. */
  readonly checkpointWrites: Record<CheckpointWriteOutcome, number> = { ok: 0, failed: 0, refused: 0 };

  constructor(
    readonly partitionId: string,
    private readonly durations: (pipeline: string) => DurationHistogram,
    private readonly checkpointDurations: DurationHistogram,
  ) {}

  received(count: number, lastReceived: number | undefined, lastEnqueued: number | undefined): void {
    this.receivedCount += count;
    if (lastReceived !== undefined) this.lastReceivedSequenceNumber = lastReceived;
    if (lastEnqueued !== undefined) this.lastEnqueuedSequenceNumber = lastEnqueued;
  }

  handlerAttempt(pipeline: string, seconds: number): void {
    this.durations(pipeline).observe(seconds);
  }

  unitEnded(pipeline: string, eventCount: number, outcome: UnitOutcome, attempts: number): void {
    const counts = this.pipeline(pipeline);
    if (attempts > 1) counts.retried += (attempts - 1) * eventCount;
    if (outcome === "processed") counts.processed += eventCount;
    else if (outcome === "aborted") counts.aborted += eventCount;
    else {
      // A dead-lettered event failed its last attempt too; both counters move.
      counts.failed += eventCount;
      if (outcome === "deadLettered") counts.deadLettered += eventCount;
    }
  }

  checkpointWritten(outcome: CheckpointWriteOutcome, seconds: number): void {
    this.checkpointWrites[outcome] += 1;
    this.checkpointDurations.observe(seconds);
  }

  /** Whether this worker owns the partition now. */
  get owned(): boolean {
    return this.openClaims > 0;
  }

  /** Current lag in events, when known. */
  get lag(): number | undefined {
    return partitionLag(this.lastEnqueuedSequenceNumber, this.lastReceivedSequenceNumber);
  }

  private pipeline(name: string): PipelineCounts {
    let counts = this.pipelines.get(name);
    if (counts === undefined) {
      counts = { processed: 0, failed: 0, retried: 0, deadLettered: 0, aborted: 0 };
      this.pipelines.set(name, counts);
    }
    return counts;
  }
}

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
  private statusSource: WorkerStatusSource | undefined;
  private readonly durationsOf = (pipeline: string): DurationHistogram => {
    let histogram = this.handlerDurations.get(pipeline);
    if (histogram === undefined) {
      histogram = new DurationHistogram(HANDLER_DURATION_BUCKETS_S);
      this.handlerDurations.set(pipeline, histogram);
    }
    return histogram;
  };

  constructor(options: WorkerMetricsOptions = {}) {
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
    this.countOwnershipChange("claimed");
    return stats;
  }

  partitionClosed(partitionId: string, reason: string): void {
    const stats = this.partitions.get(partitionId);
    if (stats !== undefined && stats.openClaims > 0) stats.openClaims -= 1;
    this.countOwnershipChange(reason);
  }

  /** Partitions this worker owns now. */
  ownedPartitions(): PartitionStats[] {
    return [...this.partitions.values()].filter((p) => p.owned);
  }

  private countOwnershipChange(reason: string): void {
    this.ownershipChanges.set(reason, (this.ownershipChanges.get(reason) ?? 0) + 1);
  }

  private define(prefix: string): CollectedMetric[] {
    const defs = [...this.eventMetrics(), ...this.checkpointMetrics(), ...this.ownershipMetrics()];
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
        "Partition ownership changes by reason (claimed, OwnershipLost, Shutdown).",
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

  private all(): PartitionStats[] {
    return [...this.partitions.values()];
  }
}
