/**
 * The plain-number counters of one partition (the observer its processor reports to), read by
 * WorkerMetrics when `/metrics` is scraped.
 */
import type { CheckpointWriteOutcome, PartitionObserver, UnitOutcome } from "../observability/observer.js";
import type { DurationHistogram } from "./metric-samples.js";
import type { KnownPartitionProperties } from "./partition-lag.js";

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
export function receivedLag(
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
  /** The partition's properties as last read in this ownership. */
  properties: KnownPartitionProperties | undefined;
  /** Sequence number of the checkpoint this ownership started from, if any. */
  claimCheckpointSequenceNumber: number | undefined;
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

  partitionProperties(properties: KnownPartitionProperties): void {
    this.properties = properties;
    this.lastEnqueuedSequenceNumber = properties.lastEnqueuedSequenceNumber;
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
    return receivedLag(this.lastEnqueuedSequenceNumber, this.lastReceivedSequenceNumber);
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
